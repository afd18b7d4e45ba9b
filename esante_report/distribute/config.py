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
itself (``username``/``password`` keys, or a password in a target URL) only when no one but its
owner can read it: otherwise it is refused. No credential is ever printed: :func:`redact` is
applied to every URL a message shows.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from esante_report.errors import ConfigError

__all__ = ["ConfigError", "Config", "Target", "Smtp", "load_config", "redact", "CONFIG_NAME", "CONFIG_ENV"]

CONFIG_NAME = "esante-report.toml"
CONFIG_ENV = "ESANTE_REPORT_CONFIG"
_SECRET_KEYS = ("password", "secret", "key", "token")


def redact(text: str) -> str:
    """``text`` with the user information of every URL in it replaced by ``***``."""
    return re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@", r"\1***@", str(text))


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
        return Target(name=redact(name_or_url), url=name_or_url, username=_env("ESANTE_PUBLISH_USER"),
                      password=_env("ESANTE_PUBLISH_PASSWORD"))


def _env(name: str | None) -> str | None:
    return os.environ.get(name) or None if name else None


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
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    private = not (mode & (stat.S_IRWXG | stat.S_IRWXO))
    if _holds_secret(data) and not private:
        raise ConfigError(f"{path}: holds a credential but can be read by others (mode {stat.S_IMODE(mode):o}); "
                          f"run chmod 600 {path}, or move the credential to an environment variable")
    targets = {}
    for name, entry in _table(data, "targets", path).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or not entry["url"].strip():
            raise ConfigError(f"{path}: [targets.{name}]: expected a 'url' (a folder or an fsspec URL)")
        targets[name] = Target(
            name=name, url=entry["url"].strip(), public_url=str(entry.get("public_url", "")),
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


def _holds_secret(data: Any) -> bool:
    if isinstance(data, dict):
        for key, value in data.items():
            if not key.endswith("_env") and any(key == s or key.endswith("_" + s) for s in _SECRET_KEYS):
                return True
            if key == "url" and isinstance(value, str) and urlsplit(value).password:
                return True
            if _holds_secret(value):
                return True
    return False


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
        return value
    value = entry.get(key)
    return str(value) if value is not None else None


def _smtp(entry: dict, path: Path) -> Smtp:
    def number(key: str, default: float, kind=float) -> Any:
        value = entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{path}: [smtp] {key}: expected a number ≥ 0, got {value!r}")
        return kind(value)

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
    port = number("port", {"starttls": 587, "ssl": 465, "none": 25}[security], int)
    username = _credential(entry, "username", path, "smtp")
    password = _credential(entry, "password", path, "smtp")
    if password and not username:
        raise ConfigError(f"{path}: [smtp]: a password without a username (expected both, or neither)")
    cafile = entry.get("cafile")
    if cafile is not None and (not isinstance(cafile, str) or not Path(cafile).is_file()):
        raise ConfigError(f"{path}: [smtp] cafile: expected a PEM file of CA certificates, got {cafile!r}")
    per_minute = number("per_minute", 30)
    if per_minute == 0:
        raise ConfigError(f"{path}: [smtp] per_minute: expected a number > 0")
    return Smtp(host=host, port=port, security=security, sender=sender, username=username, password=password,
                per_minute=per_minute, max_attachment_mb=number("max_attachment_mb", 10),
                timeout=number("timeout", 30), retries=number("retries", 3, int), backoff=number("backoff", 5),
                cafile=cafile)
