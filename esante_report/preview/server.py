"""The preview's local server: the deck and its reload channel, on 127.0.0.1 only, behind a per-run token.

A local server is an attack surface, so this one:

- listens on the loopback address only;
- answers only requests carrying the run's token (``?token=…``), the reload channel included, compared in
  constant time;
- refuses a ``Host`` header other than ``127.0.0.1``, ``localhost`` or ``[::1]`` with its own port (DNS
  rebinding);
- serves three things and nothing else: the preview page (``/``), the current deck (``/deck``) and the
  reload channel (``/events``, server-sent events); no file is read from a request's path.

The deck is served as ``render`` writes it, with its own Content-Security-Policy. The preview page holds it
in a frame, keeps the reader on the same slide and fragment when a new version arrives, and draws each
problem over the slide it concerns. It has a policy of its own: its one script by hash, connections to
itself only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
from html import escape
from pathlib import Path

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

from esante_report.preview.session import Session

__all__ = ["PreviewServer"]

_PAGE = Path(__file__).with_name("page.html")
_SCRIPT = Path(__file__).with_name("page.js")


def _sha(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode() + "'"


class _Base(tornado.web.RequestHandler):
    def prepare(self) -> None:
        server: PreviewServer = self.settings["preview"]
        if self.request.host not in server.hosts:
            raise tornado.web.HTTPError(403, reason="Host not allowed")
        token = self.get_query_argument("token", "")
        if not hmac.compare_digest(token.encode(), server.token.encode()):
            raise tornado.web.HTTPError(403, reason="Token required")

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.clear_header("Server")

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code} {self._reason}\n")


class _Page(_Base):
    def get(self) -> None:
        server: PreviewServer = self.settings["preview"]
        script = _SCRIPT.read_text(encoding="utf-8")
        csp = ("default-src 'none'; " f"script-src {_sha(script)}; style-src 'unsafe-inline'; "
               "connect-src 'self'; frame-src 'self'; img-src data:; base-uri 'none'; form-action 'none'")
        page = _PAGE.read_text(encoding="utf-8")
        page = page.replace("{{csp}}", escape(csp)).replace("{{title}}", escape(server.title))
        page = page.replace("{{script}}", script)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("X-Frame-Options", "DENY")
        self.finish(page)


class _Deck(_Base):
    def get(self) -> None:
        server: PreviewServer = self.settings["preview"]
        html = server.session.state.html
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("X-Frame-Options", "SAMEORIGIN")
        if not html:
            self.finish("<!doctype html><html lang=fr><meta charset=utf-8><title>Aperçu</title>"
                        "<p>Construction du diaporama…</p></html>")
            return
        self.finish(html)


class _Events(_Base):
    async def get(self) -> None:
        server: PreviewServer = self.settings["preview"]
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        seen = -1
        try:
            while not server.stopping:
                state = server.session.state
                if state.version != seen:
                    seen = state.version
                    self.write(f"data: {json.dumps(state.public())}\n\n")
                    await self.flush()
                await server.wait_change(seen)
        except tornado.iostream.StreamClosedError:
            return


class PreviewServer:
    """The server of one :class:`~esante_report.preview.session.Session`."""

    def __init__(self, session: Session, *, port: int = 0, title: str = "") -> None:
        import logging

        logging.getLogger("tornado.access").setLevel(logging.CRITICAL)  # its lines would print the token
        self.session = session
        self.token = secrets.token_urlsafe(24)
        self.title = title or session.deck
        self.stopping = False
        self._changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        app = tornado.web.Application([(r"/", _Page), (r"/deck", _Deck), (r"/events", _Events)], preview=self,
                                      default_handler_class=_NotFound, compress_response=False)
        self.http = tornado.httpserver.HTTPServer(app, xheaders=False)
        sockets = tornado.netutil.bind_sockets(port, address="127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.http.add_sockets(sockets)
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Called from any thread when the session's state changed."""
        if self._loop is not None and self._changed is not None and not self.stopping:
            try:
                self._loop.call_soon_threadsafe(self._changed.set)
            except RuntimeError:  # the loop closed meanwhile: the preview is stopping
                pass

    async def wait_change(self, seen: int) -> None:
        while self.session.state.version == seen and not self.stopping:
            assert self._changed is not None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=15)
            except asyncio.TimeoutError:
                return  # a comment line keeps proxies and the browser from closing the stream

    def stop(self) -> None:
        self.stopping = True
        self.http.stop()
        self.notify()


class _NotFound(tornado.web.RequestHandler):
    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code}\n")

