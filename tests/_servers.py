"""Real servers on 127.0.0.1 for the distribution tests: WebDAV (wsgidav on cheroot), SMTP (aiosmtpd),
and a TCP relay that can drop a connection in the middle of an upload."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from pathlib import Path
from typing import Iterator

USER = "partage-decks"
PASSWORD = "S3cr3t-n0t-to-leak-7Q"
SMTP_USER = "relais-esante"
SMTP_PASSWORD = "Smtp-P4ss-never-printed-9X"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDav:
    """A WebDAV share rooted at ``root``, with basic auth; ``requests`` records (method, path) of each request."""

    def __init__(self, root: Path, password: str = PASSWORD):
        from cheroot import wsgi
        from wsgidav.wsgidav_app import WsgiDAVApp

        self.root = root
        self.port = free_port()
        self.requests: list[tuple[str, str]] = []
        app = WsgiDAVApp({
            "host": "127.0.0.1", "port": self.port,
            "provider_mapping": {"/": str(root)},
            "simple_dc": {"user_mapping": {"*": {USER: {"password": password}}}},
            "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
            "verbose": 0, "logging": {"enable": False, "enable_loggers": []},
            "property_manager": True, "lock_storage": True,
        })
        logging.getLogger("wsgidav").setLevel(logging.ERROR)

        def recorder(environ, start_response):
            self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
            return app(environ, start_response)

        self.server = wsgi.Server(("127.0.0.1", self.port), recorder, numthreads=4)
        self.server.prepare()
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()

    def puts(self) -> list[str]:
        return [path for method, path in self.requests if method == "PUT"]

    def stop(self) -> None:
        self.server.stop()


class DroppingRelay:
    """Forwards 127.0.0.1:port to ``upstream``; when ``drop_on`` (bytes) is seen in what a client sends, forwards
    a little more of it and then closes both sides: a connection dropped in the middle of an upload."""

    def __init__(self, upstream: int):
        self.upstream = upstream
        self.drop_on: bytes | None = None
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, upload: bool) -> None:
        seen = b""
        try:
            while chunk := src.recv(65536):
                if upload and self.drop_on is not None:
                    seen = (seen + chunk)[-4096:]
                    if self.drop_on in seen:
                        dst.sendall(chunk[:len(chunk) // 2])
                        self.dropped += 1
                        raise OSError("dropped on purpose")
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()

    def stop(self) -> None:
        self.listener.close()


class Mailboxes:
    """aiosmtpd handler: every accepted message is stored under each envelope recipient (lower case).

    ``refuse`` maps an address to the reply its RCPT TO gets (e.g. ``"550 5.1.1 Unknown mailbox"``);
    ``refuse_once`` answers once, then accepts (a temporary refusal). ``on_data`` is called once a
    message is stored, before the relay answers; ``drop_after_data`` stores that many messages and
    then closes the connection instead of answering (a relay that stored the message, then failed).
    """

    def __init__(self):
        self.boxes: dict[str, list[bytes]] = {}
        self.refuse: dict[str, str] = {}
        self.refuse_once: dict[str, str] = {}
        self.logins: list[tuple[bytes, bytes]] = []
        self.on_data = None
        self.drop_after_data = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        key = address.lower()
        if key in self.refuse:
            return self.refuse[key]
        if key in self.refuse_once:
            return self.refuse_once.pop(key)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            self.boxes.setdefault(rcpt.lower(), []).append(envelope.original_content)
        if self.on_data is not None:
            self.on_data()
        if self.drop_after_data:
            self.drop_after_data -= 1
            server.transport.abort()
        return "250 Message accepted for delivery"

    def count(self) -> int:
        return sum(len(v) for v in self.boxes.values())


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert.pem, key.pem)."""
    import subprocess

    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def smtp_server(tls: str = "none", cert: tuple[Path, Path] | None = None) -> Iterator[tuple[Mailboxes, int]]:
    """An SMTP server on 127.0.0.1 that asks for a login (SMTP_USER / SMTP_PASSWORD): without TLS
    (``tls="none"``), after STARTTLS (``"starttls"``, required) or on TLS from the start (``"ssl"``)."""
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    boxes = Mailboxes()

    def authenticator(server, session, envelope, mechanism, auth_data):
        boxes.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok)

    port = free_port()
    kwargs: dict = {"auth_require_tls": False}
    if tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        kwargs = ({"tls_context": context, "require_starttls": True, "auth_require_tls": True} if tls == "starttls"
                  else {"ssl_context": context, "auth_require_tls": False})
    controller = Controller(boxes, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, **kwargs)
    controller.start()
    try:
        yield boxes, port
    finally:
        controller.stop()
