"""The distribution config file (``esante-report.toml``): publish targets and the SMTP relay.

Found at ``--config PATH``, else ``$ESANTE_REPORT_CONFIG``, else ``esante-report.toml`` at the
project root. Example::

    [targets.intranet]
    url = "webdav+https://partage.example.fr/remote.php/dav/files/esante/decks"
    public_url = "https://partage.example.fr/decks/"     # readers' address of the same folder
    username_env = "ESANTE_SHARE_USER"                   # credentials: names of environment variables
    password_env = "ESANTE_SHARE_PASSWORD"

    [smtp]
    host = "smtp.ars.sante.fr"
    port = 587
    security = "starttls"        # starttls, ssl (SMTPS) or none
    from = "ars-oc-esante@ars.sante.fr"
    username_env = "ESANTE_SMTP_USER"
    password_env = "ESANTE_SMTP_PASSWORD"
    per_minute = 30              # rate limit of the relay
    max_attachment_mb = 10
    # cafile = "/etc/ssl/ca-interne.pem"   # an internal CA to trust besides the system's

    [mail]
    target = "intranet"          # the published HTML deck is linked from the mails

Credentials come from the environment (the variables named above). A config file may hold them
itself (a key that names a secret, such as ``password``, ``passphrase`` or ``token``, or a password
in any URL) only when no one but its owner can read it: otherwise it is refused. ``public_url`` is
mailed to readers, so it never carries a user name or password. No credential is ever printed:
:func:`redact` is applied to every message, progress line and traceback the commands show, and to
what they store.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from esante_report.errors import ConfigError

__all__ = ["ConfigError", "Config", "Target", "Smtp", "load_config", "redact", "remember_secret", "url_password",
           "CONFIG_NAME", "CONFIG_ENV"]

CONFIG_NAME = "esante-report.toml"
CONFIG_ENV = "ESANTE_REPORT_CONFIG"
#: a key whose name holds one of these words holds a secret (``smtp_password``, ``passphrase``, ``api_key``)
_SECRET_WORDS = re.compile(r"pass|secret|token|key|credential|auth|cookie|private", re.I)
#: the bounds of the [smtp] numbers: (lowest, highest, integer only)
_SMTP_NUMBERS = {"port": (1, 65535, True), "per_minute": (1 / 60, 100_000, False),
                 "max_attachment_mb": (0, 1024, False), "timeout": (0.1, 3600, False),
                 "retries": (0, 100, True), "backoff": (0, 3600, False)}
#: secret values this process knows (from the config file and the environment); :func:`redact` hides them
_SECRETS: set[str] = set()
#: a secret this short would hide ordinary words; URLs still hide it through their user information
_MIN_SECRET = 4
#: scheme, then everything up to the last '@' of the URL: a password may hold '@', ':', '/' and '%'
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s\"'<>`]*@")


def remember_secret(value: object) -> None:
    """Have :func:`redact` hide ``value`` (as it is, percent-encoded and percent-decoded) from now on."""
    if isinstance(value, str) and len(value) >= _MIN_SECRET:
        _SECRETS.update(v for v in (value, quote(value, safe=""), unquote(value)) if len(v) >= _MIN_SECRET)


def redact(text: object) -> str:
    """``text`` with every known secret, and the user information of every URL, replaced by ``***``.

    The user information of a URL ends at its last '@' (a password may hold '@' or '/'): a '@' in a
    path hides a little more than needed, never less.
    """
    text = str(text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _USERINFO.sub(r"\1***@", text)


def url_password(url: str) -> str | None:
    """The password in the user information of ``url`` (percent-decoded), or None.

    The user information ends at the last '@' before the first '/'. When that part holds no '@' and
    is no ``host:port``, the password holds a raw '/' and the user information ends at the last '@'.
    """
    if "://" not in url:
        return None
    rest = url.partition("://")[2]
    head = rest.partition("/")[0]
    if "@" in head:
        userinfo = head.rpartition("@")[0]
    elif "@" in rest and not re.fullmatch(r"[^:]*(?::[0-9]*)?", head):
        userinfo = rest.rpartition("@")[0]
    else:
        return None
    return unquote(userinfo.partition(":")[2]) or None if ":" in userinfo else None


def _remember_url(url: str) -> str | None:
    """Have :func:`redact` hide the password of ``url``, read as a URL and as text up to its last '@'; returns it."""
    password = url_password(url)
    if password and "@" in url.partition("://")[2]:
        userinfo = url.partition("://")[2].rpartition("@")[0]
        remember_secret(userinfo.partition(":")[2])
    remember_secret(password)
    return password


@dataclass(frozen=True)
class Target:
    """A publish target: an fsspec URL, where readers find it, and how to log in."""

    name: str
    url: str
    public_url: str = ""
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    options: dict = field(default_factory=dict, repr=False)

    @property
    def shown(self) -> str:
        """The target as messages show it: its name and its URL without credentials."""
        url = redact(self.url)
        return f"{self.name} ({url})" if self.name != url else url


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str
    sender: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    per_minute: float = 30.0
    max_attachment_mb: float = 10.0
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 5.0
    #: certificates to trust besides the system's (an internal CA), PEM
    cafile: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path | None
    targets: dict[str, Target]
    smtp: Smtp | None
    mail_target: str | None = None

    def target(self, name_or_url: str | None) -> Target:
        """The target named in the config, or an fsspec URL / folder given as it is."""
        if not name_or_url:
            if len(self.targets) == 1:
                return next(iter(self.targets.values()))
            where = f" in {self.path}" if self.path else f" (no {CONFIG_NAME} found)"
            raise ConfigError(f"publish: no --to given and no single target defined{where} "
                              f"(expected --to NAME, a folder or a URL such as webdav+https://host/path)")
        if name_or_url in self.targets:
            return self.targets[name_or_url]
        if "://" not in name_or_url and "/" not in name_or_url and not name_or_url.startswith((".", "~")):
            known = ", ".join(self.targets) or "none"
            raise ConfigError(f"unknown target {name_or_url!r} (targets of the config: {known}; "
                              "or give a folder or a URL such as webdav+https://host/path)")
        _remember_url(name_or_url)
        return Target(name=redact(name_or_url), url=name_or_url, username=_env("ESANTE_PUBLISH_USER"),
                      password=_env("ESANTE_PUBLISH_PASSWORD", secret=True))


def _env(name: str | None, secret: bool = False) -> str | None:
    value = os.environ.get(name) or None if name else None
    if secret:
        remember_secret(value)
    return value


def _find(path: Path | None) -> Path | None:
    if path is not None:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    from esante_report.paths import project_root

    candidate = project_root() / CONFIG_NAME
    return candidate if candidate.is_file() else None


def load_config(path: Path | None = None) -> Config:
    """Read the config file (see the module docstring); no file at all gives an empty config."""
    path = _find(path)
    if path is None:
        return Config(None, {}, None)
    try:
        raw = path.read_bytes()
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or type(exc).__name__} "
                          f"(expected the config file, see README)") from None
    data = _parse(raw, path)
    secrets = _secrets(data)
    for value in secrets.values():
        remember_secret(value)
    private = not (mode & (stat.S_IRWXG | stat.S_IRWXO))
    if secrets and not private:
        raise ConfigError(f"{path}: holds a credential but can be read by others (mode {stat.S_IMODE(mode):o}): "
                          f"{next(iter(secrets))}; run chmod 600 {path}, or move the credential to an environment "
                          "variable")
    targets = {}
    for name, entry in _table(data, "targets", path).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or not entry["url"].strip():
            raise ConfigError(f"{path}: [targets.{name}]: expected a 'url' (a folder or an fsspec URL)")
        public_url = str(entry.get("public_url", "")).strip()
        if "@" in public_url.partition("://")[2].partition("/")[0] or url_password(public_url):
            raise ConfigError(f"{path}: [targets.{name}] public_url: {redact(public_url)!r} carries a user name or "
                              "password, and it is mailed to readers (expected the readers' address alone, "
                              "e.g. 'https://partage.example.fr/decks/')")
        targets[name] = Target(
            name=name, url=entry["url"].strip(), public_url=public_url,
            username=_credential(entry, "username", path, f"targets.{name}"),
            password=_credential(entry, "password", path, f"targets.{name}"),
            options=dict(entry.get("options", {})) if isinstance(entry.get("options", {}), dict) else {})
    smtp = _smtp(_table(data, "smtp", path), path) if "smtp" in data else None
    mail = _table(data, "mail", path)
    mail_target = mail.get("target")
    if mail_target is not None and mail_target not in targets:
        raise ConfigError(f"{path}: [mail] target = {mail_target!r}: no such target (expected one of "
                          f"{', '.join(targets) or 'none: define [targets.NAME]'})")
    return Config(path, targets, smtp, mail_target)


def _parse(raw: bytes, path: Path) -> dict:
    """The TOML document of ``raw``; one-line :class:`ConfigError` when it is not UTF-8 TOML or nests absurdly deep."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: not UTF-8 (byte {exc.start + 1})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML for a config: arrays or tables nested too deeply (expected "
                          "the few levels of the documented layout, see README)") from None


def _secrets(data: Any) -> dict[str, str]:
    """Where the config holds a credential (``[smtp] password``, ``[targets.x] url``) → the secret itself.

    A secret is the value of a key whose name says so (``password``, ``passphrase``, ``api_key`` …; not
    ``*_env``, which names an environment variable) and the password of any URL, whatever its key.
    """
    found: dict[str, str] = {}
    todo: list[tuple[str, Any, bool]] = [("", data, False)]
    while todo:
        where, value, secret = todo.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                named = not str(key).endswith("_env") and _SECRET_WORDS.search(str(key)) is not None
                todo.append((name, item, secret or named))
        elif isinstance(value, list):
            todo.extend((f"{where}[{i}]", item, secret) for i, item in enumerate(value))
        elif secret and isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
            found[where] = str(value)
        elif isinstance(value, str) and (password := _remember_url(value)):
            found[where] = password
    return found


def _table(data: dict, key: str, path: Path) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{key}]: expected a table")
    return value


def _credential(entry: dict, key: str, path: Path, where: str) -> str | None:
    """``key`` from the environment variable ``<key>_env`` names, else from the (private) file itself."""
    env = entry.get(f"{key}_env")
    if env is not None:
        value = os.environ.get(str(env))
        if not value:
            raise ConfigError(f"{path}: [{where}] {key}_env = {env!r}: that environment variable is not set "
                              f"(expected the {key} in it)")
        if key == "password":
            remember_secret(value)
        return value
    value = entry.get(key)
    return str(value) if value is not None else None


def _smtp(entry: dict, path: Path) -> Smtp:
    def number(key: str, default: float) -> Any:
        value = entry.get(key, default)
        low, high, integer = _SMTP_NUMBERS[key]
        ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
              and low <= value <= high and (not integer or value == int(value)))
        if not ok:
            what = "an integer" if integer else "a number"
            raise ConfigError(f"{path}: [smtp] {key}: expected {what} from {low:g} to {high:g}, got {value!r}")
        return int(value) if integer else float(value)

    host = entry.get("host")
    sender = entry.get("from")
    if not isinstance(host, str) or not host:
        raise ConfigError(f"{path}: [smtp] host: expected the relay's host name, e.g. 'smtp.ars.sante.fr'")
    from esante_report.distribute.recipients import valid_address

    if not isinstance(sender, str) or not valid_address(sender):
        raise ConfigError(f"{path}: [smtp] from: expected a functional mailbox such as "
                          f"'ars-oc-esante@ars.sante.fr', got {sender!r}")
    security = entry.get("security", "starttls")
    if security not in ("starttls", "ssl", "none"):
        raise ConfigError(f"{path}: [smtp] security: expected 'starttls', 'ssl' or 'none', got {security!r}")
    port = number("port", {"starttls": 587, "ssl": 465, "none": 25}[security])
    username = _credential(entry, "username", path, "smtp")
    password = _credential(entry, "password", path, "smtp")
    if password and not username:
        raise ConfigError(f"{path}: [smtp]: a password without a username (expected both, or neither)")
    cafile = entry.get("cafile")
    if cafile is not None and (not isinstance(cafile, str) or not Path(cafile).is_file()):
        raise ConfigError(f"{path}: [smtp] cafile: expected a PEM file of CA certificates, got {cafile!r}")
    return Smtp(host=host, port=port, security=security, sender=sender, username=username, password=password,
                per_minute=number("per_minute", 30), max_attachment_mb=number("max_attachment_mb", 10),
                timeout=number("timeout", 30), retries=number("retries", 3), backoff=number("backoff", 5),
                cafile=cafile)
