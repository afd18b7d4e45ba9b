"""The kernel fork server of a batch worker: imports once, forks one fresh kernel per deck.

Run as ``python -m esante_report.pipeline.fork_server`` by :mod:`esante_report.pipeline.kernels`, never imported by a
kernel. It imports what every deck's kernel imports (ipykernel, pandas, matplotlib, the toolkit and the
modules the decks list in ``KERNEL_IMPORTS``), prints ``{"ready": ...}`` and then answers, one JSON line
each, the requests it reads on its standard input: ``{"argv": [...], "env": {...}, "cwd": ..., "log":
...}`` forks a child that becomes an IPython kernel (``ipykernel_launcher`` with ``argv``) and the answer
is ``{"pid": N}``. The server itself never runs a deck's code: each child starts from the same state as
a kernel that has only imported modules, so nothing of one deck reaches the next.

What is left out on purpose: ``matplotlib_inline.backend_inline`` and anything that picks matplotlib's
backend, because the inline backend hooks itself into the IPython shell when it is imported, and the
shell only exists in the child.

The server ignores Ctrl-C (its worker decides), and ends on SIGTERM or when its standard input closes (its
worker is gone), killing the kernels it forked that still run; it reaps each kernel as it ends
(so no zombie is left, and the kernels' CPU time is counted in its own, as a waited child's is). Its
worker, whose pid is its one argument, sends it SIGTERM by dying, even killed (the parent-death signal of
:mod:`esante_report.pipeline.lifeline`), so the server ends with it also while it is still importing.
Its kernels get SIGKILL when it dies, and also watch it as their parent (``IPKernelApp.parent_handle``).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from esante_report.pipeline.lifeline import die_with_parent

#: what a kernel imports before the notebook's set-up cell (ipykernel's own modules, numpy)
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "numpy")


def _preload() -> None:
    import importlib

    # ipykernel sets this before the shell exists; matplotlib reads it when imported
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in PRELOAD:
        importlib.import_module(name)
    importlib.import_module("esante_report.pipeline.kernels").import_kernel_modules(inline_backend=False)
    if "matplotlib_inline.backend_inline" in sys.modules:  # pulled in by a deck module: cannot fork safely
        raise RuntimeError("matplotlib_inline.backend_inline was imported before the shell existed")


def _child(request: dict, replies, server: int) -> None:
    """In the forked child of ``server``: become the kernel ``request`` asks for; never returns."""
    code = 1
    try:
        die_with_parent(server, signal.SIGKILL)  # the server is single-threaded: its death is its thread's
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the kernel's interrupt
        os.setsid()  # its own process group, as jupyter_client starts kernels
        replies.close()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        log = os.open(request.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())  # the kernel ends when this server ends
        if "numpy" in sys.modules:  # a fresh kernel draws fresh random numbers
            sys.modules["numpy"].random.seed()
        import ipykernel_launcher
        from ipykernel import kernelapp

        # ipykernel read JPY_PARENT_PID when imported, here in the server: tell it again
        sys.argv = [ipykernel_launcher.__file__, *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - said in the kernel's log, then the kernel is gone
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def main() -> None:
    if sys.path and sys.path[0] in ("", os.getcwd()):  # as ipykernel_launcher does
        del sys.path[0]
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints of imported modules go to the log, not into the answers
    children: list[int] = []

    def end(*_) -> None:
        """The worker is gone or stops us: its kernels (and what they started) go too."""
        for pid in children:
            if not child_alive(pid, os.getpid()):
                continue
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGCHLD, _reap)
    if len(sys.argv) > 1 and sys.argv[1].isdigit():  # the worker, started from its main thread
        die_with_parent(int(sys.argv[1]), signal.SIGTERM)
    try:
        _preload()
    except BaseException as exc:  # noqa: BLE001 - the worker then starts its kernels as usual
        replies.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
        replies.flush()
        return
    replies.write(json.dumps({"ready": os.getpid()}) + "\n")
    replies.flush()
    server = os.getpid()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            pid = os.fork()
        except Exception as exc:  # noqa: BLE001
            replies.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
            replies.flush()
            continue
        if pid == 0:
            _child(request, replies, server)
        children[:] = [c for c in children if child_alive(c, server)] + [pid]
        replies.write(json.dumps({"pid": pid}) + "\n")
        replies.flush()
    end()


def _reap(*_) -> None:
    """Wait for every kernel that ended: no zombie, and its resource usage added to this server's children
    (ignoring SIGCHLD would reap them too, but drop their CPU time from every account)."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def child_alive(pid: int, parent: int) -> bool:
    """Is ``pid`` a live (not a zombie) child of ``parent``, and not a process that reused the number?
    Read from /proc; without it, whether any process ``pid`` exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[0] not in (b"Z", b"X") and int(fields[1]) == parent
    except FileNotFoundError:
        return False
    except (OSError, IndexError, ValueError):  # no /proc: ask the system
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


if __name__ == "__main__":
    main()
