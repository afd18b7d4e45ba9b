"""The UNO side of :mod:`esante_report.formats.soffice`: one LibreOffice kept running, PPTX files converted to ODP.

Run by a Python that can ``import uno`` (Debian's python3-uno, or LibreOffice's own ``program/python``),
not by the toolkit's interpreter: standard library and ``uno`` only, nothing from the package.

    <python> _uno_worker.py SOFFICE PROFILE_DIR PIPE_NAME START_TIMEOUT

It starts ``SOFFICE`` headless with the private profile ``PROFILE_DIR/profile`` (``HOME`` is
``PROFILE_DIR`` too), accepting UNO connections on the named pipe ``PIPE_NAME`` only, and connects to it.
Then, one JSON object per line:

- first line written: ``{"ready": true, "pgid": …, "pid": …}`` (LibreOffice's process group, and the
  pid of ``soffice.bin`` when found) or ``{"ready": false, "error": "…"}``;
- each line read ``{"in": PPTX, "out": ODP}`` gets one line back, ``{"ok": true, "pid": …}`` or
  ``{"ok": false, "error": "…"}``.

At the end of its input, on SIGTERM/SIGINT, or when the process that started it is gone, it stops
LibreOffice (its whole process group) and removes ``PROFILE_DIR``. The parent is watched with
``os.getppid()`` rather than a parent-death signal: the toolkit starts this process from a helper thread,
which ends long before the process (and the signal follows the thread); and a parent-death signal given to
LibreOffice would not help either, as soffice.bin outlives its launcher (oosplash).
"""

import os
import sys

# the script's folder (the package) must not shadow the standard library for this interpreter
if __name__ == "__main__" and sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

_office = {"proc": None, "profile_dir": None, "pipe": None}
_stopping = threading.Lock()
_stopper = {"thread": None}


def _say(obj) -> None:
    try:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):  # the toolkit's process is gone (its end of the pipe with it)
        _stop(1)


def _bin_pid(pgid: int):
    """The pid of soffice.bin in LibreOffice's process group (Linux /proc), or None."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2:].split()
        except (OSError, ValueError):
            continue
        if int(fields[2]) == pgid and comm.startswith("soffice.bin"):
            return int(name)
    return None


def processes_with(token: str) -> list:
    """The pids whose command line holds ``token`` (Linux /proc; empty elsewhere), this process aside.

    Standard library only: :mod:`esante_report.formats.soffice` uses it too."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if token.encode() in f.read():
                        found.append(int(name))
            except OSError:
                continue
    return found


def _stop(code: int = 0) -> None:
    """Stop LibreOffice (its process group), remove the profile folder, and exit with ``code``.

    Called from any thread, and from signal handlers: the first call does it and ends the process; a later call
    from another thread waits for that end, and one from a signal handler interrupting the first returns to it.
    """
    if not _stopping.acquire(blocking=False):
        if _stopper["thread"] is threading.current_thread():
            return
        while True:  # the first call ends the process: nothing else may end it sooner (LibreOffice left running)
            time.sleep(60)
    _stopper["thread"] = threading.current_thread()
    proc = _office["proc"]
    if proc is not None and proc.poll() is None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except OSError:
                break
            try:
                proc.wait(timeout=3)
                break
            except subprocess.TimeoutExpired:
                continue
    if proc is not None:
        try:  # what is left of the group (soffice.bin may outlive oosplash by a moment)
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    # one started while a signal came, before it was recorded: its command line names the pipe
    for pid in processes_with(f"--accept=pipe,name={_office['pipe']};") if _office["pipe"] else ():
        try:
            if os.getpgid(pid) != os.getpgrp():
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if _office["profile_dir"]:
        shutil.rmtree(_office["profile_dir"], ignore_errors=True)
    os._exit(code)


def _watch_parent(parent: int) -> None:
    """The toolkit's process may be killed without a word: then stop LibreOffice too."""
    while True:
        time.sleep(0.25)
        if os.getppid() != parent:
            _stop(1)


def _start(soffice: str, profile_dir: str, pipe: str, timeout: float):
    import uno
    from com.sun.star.connection import NoConnectException

    _office["profile_dir"], _office["pipe"] = profile_dir, pipe
    profile = os.path.join(profile_dir, "profile")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAL_", "OOO_", "PYTHON"))}
    env["HOME"] = profile_dir
    _office["proc"] = proc = subprocess.Popen(
        [soffice, "-env:UserInstallation=" + uno.systemPathToFileUrl(profile), "--headless", "--invisible",
         "--norestore", "--nolockcheck", "--nologo", "--nodefault", f"--accept=pipe,name={pipe};urp;"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        start_new_session=True)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if proc.poll() is not None and proc.returncode != 81:  # 81: LibreOffice restarts itself
                raise RuntimeError(f"LibreOffice exited with status {proc.returncode} before accepting") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"LibreOffice did not accept a connection within {timeout:g} s") from None
            time.sleep(0.1)
    return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def _props(**values):
    from com.sun.star.beans import PropertyValue

    return tuple(PropertyValue(k, 0, v, 0) for k, v in values.items())


def _convert(desktop, source: str, target: str) -> None:
    import uno
    from com.sun.star.document.MacroExecMode import NEVER_EXECUTE
    from com.sun.star.document.UpdateDocMode import NO_UPDATE

    # never run a macro, never update a link (nothing fetched), never show anything, never write the source
    load = _props(Hidden=True, ReadOnly=True, MacroExecutionMode=NEVER_EXECUTE, UpdateDocMode=NO_UPDATE)
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(source)), "_blank", 0, load)
    if doc is None:
        raise RuntimeError("LibreOffice could not open the file")
    try:
        doc.storeToURL(uno.systemPathToFileUrl(os.path.abspath(target)), _props(FilterName="impress8", Overwrite=True))
    finally:
        doc.close(True)


def main(argv) -> int:
    soffice, profile_dir, pipe, timeout = argv[1], argv[2], argv[3], float(argv[4])
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: _stop(1))
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    code = 1
    try:
        try:
            desktop = _start(soffice, profile_dir, pipe, timeout)
        except Exception as exc:  # no uno, no LibreOffice, no connection: said in one line
            _say({"ready": False, "error": f"{type(exc).__name__}: {exc}"[:300]})
            _stop(1)
        pgid = _office["proc"].pid
        _say({"ready": True, "pgid": pgid, "pid": _bin_pid(pgid)})
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                _convert(desktop, request["in"], request["out"])
                reply = {"ok": True, "pid": _bin_pid(pgid)}
            except Exception as exc:  # UNO raises its own types; the toolkit gets one line and falls back
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
            _say(reply)
        code = 0
    finally:  # whatever ends this process (the end of its input, an error) ends LibreOffice first
        _stop(code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
