"""`make lab`: a notebook saved from JupyterLab writes its jupytext twin too.

JupyterLab is started headless on 127.0.0.1 with a token and the flags of the Makefile's
``LAB_FLAGS`` (what ``make lab`` passes), in a copy of the project, and a notebook is saved
through the Jupyter contents REST API, as Lab's editor saves it. The test reads the files
on disk afterwards.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from .conftest import ROOT

MAKEFILE = ROOT / "Makefile"


def _lab_flags() -> list[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    match = re.search(r"^LAB_FLAGS\s*:=\s*(.*)$", text, re.M)
    assert match, "the Makefile defines LAB_FLAGS"
    # the lab target passes them (and nothing that would change the served folder)
    recipe = re.search(r"^lab:.*\n((?:\t.*\n?)+)", text, re.M)  # every line of the recipe
    assert recipe and "$(LAB_FLAGS)" in recipe.group(1) and "notebooks/" not in recipe.group(1)
    return shlex.split(match.group(1))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Lab:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=20) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab as `make lab` starts it, in a copy of the project: (client, project copy)."""
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    shutil.copy(ROOT / "jupytext.toml", project / "jupytext.toml")
    jupyter = tmp_path_factory.mktemp("jupyter")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"), "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
           "JUPYTER_DATA_DIR": str(jupyter / "data")}
    token, port = secrets.token_hex(16), _free_port()
    command = [sys.executable, "-m", "jupyterlab", *_lab_flags(), "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        command.append("--allow-root")   # as the Makefile adds it
    log = open(jupyter / "lab.log", "wb")
    server = subprocess.Popen(command, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    client = _Lab(f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (jupyter / "lab.log").read_text(errors="replace")
            try:
                if client.request("GET", "/api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not start within 60 s"
            time.sleep(0.3)
        yield client, project
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_lab_opens_on_the_notebooks_folder(lab):
    client, _ = lab
    status, page = client.request("GET", "/lab")
    assert status == 200
    assert re.search(rb'"preferredPath":\s*"/?notebooks/?"', page), "Lab's file browser opens on notebooks/"


def test_saving_a_notebook_from_lab_rewrites_its_twin(lab):
    import jupytext
    import nbformat

    client, project = lab
    path = "notebooks/post_covid.ipynb"
    status, body = client.request("GET", f"/api/contents/{path}?content=1")
    assert status == 200, body[:300]
    model = json.loads(body)
    notebook = model["content"]
    marker = f"Note de relecture {secrets.token_hex(4)} : chiffres vérifiés"
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "markdown")
    cell["source"] = (cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])) + "\n\n" + marker
    twin = project / "notebooks" / "post_covid.py"
    before = twin.read_text(encoding="utf-8")
    assert marker not in before

    status, body = client.request("PUT", f"/api/contents/{path}",
                                  {"type": "notebook", "format": "json", "content": notebook})
    assert status == 200, body[:300]

    after = twin.read_text(encoding="utf-8")
    assert after != before and f"# {marker}" in after   # the Markdown cell, as a percent-format comment
    saved = nbformat.read(project / path, as_version=4)
    assert any(marker in c.source for c in saved.cells)
    paired = jupytext.read(twin)
    assert [(c.cell_type, c.source) for c in paired.cells] == [(c.cell_type, c.source) for c in saved.cells]
    # opening it again from this Lab works (a stale twin gives HTTP 400 "… is more recent than …")
    status, body = client.request("GET", f"/api/contents/{path}?content=1")
    assert status == 200, body[:300]
    assert marker in json.dumps(json.loads(body)["content"], ensure_ascii=False)
