"""Where things are: every default path is computed here, from the project root.

A project is a folder holding ``notebooks/``, ``data/``, ``params/`` and ``outputs/``.
It is found as git or Quarto find theirs: ``--project DIR`` (:func:`use_project`),
else ``ESANTE_REPORT_ROOT``, else the nearest folder from the current one upwards
whose ``pyproject.toml`` has a ``[tool.esante-report]`` table, else (a checkout of the
toolkit itself) the folder holding the package. The toolkit's own files (templates,
CSS) come with the package, so a wheel install works on any project folder.

Importing this module does no I/O; the functions look at the disk when called.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["project_root", "find_project", "use_project", "default_data_dir", "default_params_dir",
           "default_out_dir", "notebooks_dir", "templates_dir", "node_modules_dir", "is_report_date", "DATE_PATTERN",
           "ROOT_ENV", "MARKER"]

#: a reporting date as params files and output folders are named: ``YYYY-MM-DD`` in ASCII digits
#: (``[0-9]``, not ``\d``, which takes any script's digits)
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE = re.compile(DATE_PATTERN)


def is_report_date(text: object) -> bool:
    """True when ``text`` is written as a reporting date (``YYYY-MM-DD``; whether the day exists is not checked)."""
    return isinstance(text, str) and _DATE.fullmatch(text) is not None

_PACKAGE_DIR = Path(__file__).resolve().parent
ROOT_ENV = "ESANTE_REPORT_ROOT"
#: the table of pyproject.toml that marks a project folder
MARKER = "[tool.esante-report]"
_MARKER_RE = re.compile(r"^\s*\[tool\.esante-report\]\s*(#.*)?$", re.M)


def _is_project(folder: Path) -> bool:
    try:
        return bool(_MARKER_RE.search((folder / "pyproject.toml").read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def find_project(start: Path | None = None) -> Path | None:
    """The nearest folder from ``start`` (default: the current folder) upwards marked as a project."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _is_project(folder):
            return folder
    return None


def use_project(folder: Path | str) -> Path:
    """Make ``folder`` the project (``--project``); kernels started afterwards inherit it (environment)."""
    root = Path(folder).resolve()
    os.environ[ROOT_ENV] = str(root)
    return root


def project_root() -> Path:
    """The project folder: ``ESANTE_REPORT_ROOT``, else found from the current folder, else the checkout."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).resolve()
    found = find_project()
    if found is not None:
        return found
    return _PACKAGE_DIR.parent


def default_data_dir() -> Path:
    return project_root() / "data"


def default_params_dir() -> Path:
    return project_root() / "params"


def default_out_dir() -> Path:
    return project_root() / "outputs"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def templates_dir() -> Path:
    """The house templates and CSS: shipped inside the package (wheel or checkout alike)."""
    return _PACKAGE_DIR / "templates"


def node_modules_dir() -> Path:
    """Where reveal.js is: ``ESANTE_REPORT_NODE_MODULES``, else the project's ``node_modules`` (``npm ci``),
    else the toolkit checkout's (an editable install)."""
    env = os.environ.get("ESANTE_REPORT_NODE_MODULES")
    if env:
        return Path(env)
    own = project_root() / "node_modules"
    if (own / "reveal.js").is_dir():
        return own
    checkout = _PACKAGE_DIR.parent / "node_modules"
    return checkout if (checkout / "reveal.js").is_dir() else own
