"""Where things are: every default path is computed here, from the project root.

Importing this module does no I/O; the functions look at the disk when called.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "default_data_dir", "default_params_dir", "default_out_dir",
           "notebooks_dir", "templates_dir", "node_modules_dir"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The repository root (the folder holding ``pyproject.toml``).

    ``ESANTE_REPORT_ROOT`` overrides it, for installs outside a checkout.
    """
    env = os.environ.get("ESANTE_REPORT_ROOT")
    if env:
        return Path(env).resolve()
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
    return _PACKAGE_DIR / "templates"


def node_modules_dir() -> Path:
    """Where ``npm ci`` (run by ``make setup``) put reveal.js."""
    env = os.environ.get("ESANTE_REPORT_NODE_MODULES")
    return Path(env) if env else project_root() / "node_modules"
