"""Warm kernels for batches: the next deck's kernel starts while the current deck runs.

When a worker has more decks queued than there are workers, :func:`take` hands the deck about to run a
kernel started (and warmed: interpreter, the notebooks' set-up imports) in the background while the previous
deck ran, and starts warming the next one. Each kernel runs exactly one deck and is shut down after it
(:func:`release`): no variable, figure or rcParam of one deck can reach the next. The warm-up runs with
``store_history=False``, so the deck's cells are numbered from ``In [1]`` as in a cold kernel, and it only
imports modules (``sys.modules``), binding no name in the user namespace.

papermill passes ``km=`` through its nbclient engine to ``NotebookClient``: a kernel manager that already
has a kernel is used as is, and not shut down by nbclient (``owns_km`` is false); :func:`release` does it.

Each worker also keeps a kernel fork server (:mod:`esante_report.pipeline.fork_server`): one process
that imported ipykernel, pandas, matplotlib and the toolkit once, and forks each kernel of the worker
from that state, so a deck's kernel no longer pays the interpreter start and its imports. The fork
server never runs a deck's code; ``ESANTE_REPORT_FORK_KERNELS=0`` turns it off (kernels are then started
as jupyter_client starts them), and anything it cannot do falls back to that.

Data files and geometry read by several decks of one date are parsed once per worker: the worker gives its
kernels a folder (``ESANTE_REPORT_PARSE_CACHE``) where :func:`cached_parse` keeps each parsed file keyed on
the SHA-256 of its bytes; outside a batch (JupyterLab, bare papermill) nothing is cached.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from esante_report.pipeline.fork_server import child_alive

__all__ = ["enable", "take", "release", "kill_now", "cached_parse", "import_kernel_modules", "WARM_UP_CODE",
           "CACHE_ENV"]

#: the kernel papermill starts: the Python of the environment esante-report runs in
KERNEL_NAME = "python3"

#: the notebooks' set-up imports, which every deck kernel makes before its first cell
SETUP_MODULES = ("pandas", "matplotlib.pyplot", "IPython.display", "esante_report.authoring",
                 "esante_report.contracts.params", "esante_report.authoring.plots")


def import_kernel_modules(*, inline_backend: bool) -> None:
    """Import what a deck's kernel imports (:data:`SETUP_MODULES`, then the modules each deck's code lists in
    ``KERNEL_IMPORTS``) and make the house fonts known to matplotlib: modules and a font list only, no
    rcParam changed. ``inline_backend`` imports matplotlib's inline backend too, which may only be done
    where the IPython shell exists (a kernel), not in the fork server."""
    import importlib

    for name in (*SETUP_MODULES, *(("matplotlib_inline.backend_inline",) if inline_backend else ())):
        importlib.import_module(name)
    for name in importlib.import_module("esante_report.decks.registry").kernel_imports():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the deck's own cells report it
            pass
    importlib.import_module("esante_report.fonts").register_matplotlib_fonts()


#: what a warm kernel runs before its deck (binding no name in the user namespace)
WARM_UP_CODE = "__import__('esante_report.pipeline.kernels', fromlist=['_']).import_kernel_modules(inline_backend=True)\n"

#: environment variable naming the folder of parsed data files (set for the kernels of a batch worker)
CACHE_ENV = "ESANTE_REPORT_PARSE_CACHE"

#: environment variable: ``0`` starts every kernel from a fresh interpreter, without the fork server
FORK_ENV = "ESANTE_REPORT_FORK_KERNELS"

#: how long a warm kernel may take to start and warm up before the deck gives up on it (seconds)
_WARM_TIMEOUT = 60

_state: dict[str, Any] = {"remaining": None, "next": None, "fork_server": None}
#: the kernels of this process not yet released (pid: the process that started it), for :func:`kill_now`
_kernels: dict[int, int] = {}


def enable(remaining) -> None:
    """Called once per worker process of a batch, from its main thread (the fork server it starts dies with
    that thread). ``remaining``: a counter shared by the workers (``multiprocessing.Value``) of the decks not
    yet started."""
    import atexit
    from multiprocessing import util

    _state["remaining"] = remaining
    if not os.environ.get(CACHE_ENV):
        import shutil

        os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="esr-parsed-")  # the kernels inherit it
        atexit.register(shutil.rmtree, os.environ[CACHE_ENV], True)
        util.Finalize(None, shutil.rmtree, (os.environ[CACHE_ENV], True), exitpriority=1)
    if os.environ.get(FORK_ENV, "1") != "0" and _state["fork_server"] is None:
        _state["fork_server"] = _ForkServer.start()  # imports while the worker sets up its first deck
    # a pool worker ends without atexit handlers: multiprocessing's finalizers run, atexit's do not
    atexit.register(shutdown)
    util.Finalize(None, shutdown, exitpriority=10)


def worker_init(messages, remaining) -> None:
    """Pool worker initialiser: progress messages to ``messages`` (when not None), warm kernels."""
    if messages is not None:
        from esante_report.pipeline.progress import to_queue

        to_queue(messages)
    if remaining is not None:
        enable(remaining)


@contextlib.contextmanager
def in_process(decks: int):
    """A batch run in this process (``--jobs 1``): warm kernels for its ``decks`` decks, then none."""
    if decks < 2:
        yield
        return
    counter = _Local()
    counter.value = decks
    saved = os.environ.get(CACHE_ENV)
    enable(counter)
    try:
        yield
    finally:
        shutdown()
        _state["remaining"] = None
        if saved is None:
            folder = os.environ.pop(CACHE_ENV, None)
            if folder:
                import shutil

                shutil.rmtree(folder, ignore_errors=True)


class _Local:
    def __init__(self) -> None:
        self.value = 0

    def get_lock(self):
        return contextlib.nullcontext()


class _Warm:
    """A kernel being started and warmed in a background thread."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.km = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._start, name="esante-report-warm-kernel", daemon=True)
        self.thread.start()

    def _start(self) -> None:
        try:
            # a synchronous manager (started here, in this thread) whose client is asynchronous, as nbclient wants
            km = _manager_class()(kernel_name=KERNEL_NAME,
                                  client_class="jupyter_client.asynchronous.AsyncKernelClient")
            folder = Path(os.environ.get(CACHE_ENV) or tempfile.gettempdir())
            with open(folder / f"kernel-{os.getpid()}-{id(self)}.log", "ab") as log:  # its start-up chatter
                km.start_kernel(cwd=str(self.cwd), stdout=log, stderr=log)
            self.km = km
            _run_silently(km, WARM_UP_CODE, wait_ready=True)
        except BaseException as exc:  # the deck then starts a kernel of its own
            self.error = exc

    def get(self):
        self.thread.join(_WARM_TIMEOUT)
        if self.thread.is_alive() or self.error is not None or self.km is None or not self.km.is_alive():
            release(self.km)
            return None
        return self.km


def _manager_class():
    from jupyter_client.manager import KernelManager

    class OneDeckKernelManager(KernelManager):
        """Remembers the clients nbclient makes: their channels are closed with the kernel (nbclient leaves
        them open for a kernel it does not own)."""

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            self.__dict__.setdefault("_esr_clients", []).append(kc)
            return kc

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            """Forked from the worker's fork server when it can, else launched as jupyter_client does."""
            fork_server = _state["fork_server"]
            process = fork_server.fork(kernel_cmd, kw) if fork_server is not None else None
            if process is None:
                info = await super()._async_launch_kernel(kernel_cmd, **kw)
                if self.provisioner is not None and self.provisioner.pid:
                    _kernels[self.provisioner.pid] = os.getpid()
                return info
            _kernels[process.pid] = process.parent
            provisioner = self.provisioner
            provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, process.pid
            provisioner.cwd = kw.get("cwd") or os.getcwd()
            self._reconcile_connection_info(provisioner.connection_info)

    return OneDeckKernelManager


class _ForkServer:
    """The worker's side of its kernel fork server (:mod:`esante_report.pipeline.fork_server`)."""

    def __init__(self, process):
        self.process = process
        self.lock = threading.Lock()
        self.ready = False
        self.broken = False

    @classmethod
    def start(cls) -> _ForkServer | None:
        import subprocess
        import sys

        folder = Path(os.environ.get(CACHE_ENV) or tempfile.gettempdir())
        log = folder / f"fork-server-{os.getpid()}.log"
        try:
            with open(log, "ab") as stderr:
                # its one argument: the pid it must die with (see lifeline: started from the main thread)
                process = subprocess.Popen([sys.executable, "-m", "esante_report.pipeline.fork_server",
                                            str(os.getpid())],
                                           cwd=str(folder), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=stderr)
        except OSError:
            return None
        return cls(process)

    def fork(self, cmd: list, kw: dict) -> _Forked | None:
        """A kernel forked for ``cmd`` (jupyter_client's ``python -m ipykernel_launcher -f <file>``) with the
        environment and folder of ``kw``; None when this server cannot (the caller launches it itself)."""
        import json
        import sys

        launcher = _launcher_args(cmd, sys.executable)
        if launcher is None:
            return None
        stdout = kw.get("stdout")
        request = {"argv": launcher, "env": dict(kw.get("env") or os.environ), "cwd": str(kw.get("cwd") or os.getcwd()),
                   "log": getattr(stdout, "name", None) if isinstance(getattr(stdout, "name", None), str) else None}
        with self.lock:
            if self.broken:
                return None
            try:
                if not self.ready:
                    hello = json.loads(self.process.stdout.readline() or "{}")
                    if "ready" not in hello:
                        raise OSError(hello.get("error", "the fork server ended before it was ready"))
                    self.ready = True
                self.process.stdin.write(json.dumps(request).encode() + b"\n")
                self.process.stdin.flush()
                answer = json.loads(self.process.stdout.readline() or "{}")
                return _Forked(int(answer["pid"]), self.process.pid)
            except (OSError, ValueError, KeyError, TypeError):
                self.broken = True  # from now on this worker starts its kernels itself
                return None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except Exception:  # noqa: BLE001
            with contextlib.suppress(Exception):
                self.process.kill()
                self.process.wait(5)
        with contextlib.suppress(Exception):
            self.process.stdout.close()


def _launcher_args(cmd: list, python: str) -> list | None:
    """The arguments of ``ipykernel_launcher`` in ``cmd`` when ``cmd`` runs it with ``python`` and no
    interpreter option (which a forked interpreter could not honour), else None."""
    if len(cmd) < 3 or list(cmd[1:3]) != ["-m", "ipykernel_launcher"]:
        return None
    try:
        if not os.path.samefile(cmd[0], python) and os.path.realpath(cmd[0]) != os.path.realpath(python):
            return None
    except OSError:
        return None
    return [str(arg) for arg in cmd[3:]]


class _Forked:
    """A kernel forked by the fork server, as jupyter_client's provisioner uses a ``Popen``: it is the
    server's child, so it is watched through ``/proc`` (or signal 0) rather than waited for."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, parent: int):
        self.pid = pid
        self.parent = parent
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not child_alive(self.pid, self.parent):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode or 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        import signal

        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)


def enable_on_dask_worker() -> None:
    """Run on each worker of a local Dask cluster (``client.run``): warm kernels when it holds a next deck."""
    enable(_DaskQueue())


class _DaskQueue:
    """A Dask worker knows the tasks it was given: another one ready or waiting is the next deck."""

    @staticmethod
    def more() -> bool:
        try:
            from distributed import get_worker

            worker = get_worker()
            current = worker.get_current_task()
            return any(ts.state in ("ready", "constrained", "waiting")
                       for key, ts in worker.state.tasks.items() if key != current)
        except Exception:  # not in a task, or another Dask: no warm kernel, the deck starts cold
            return False


def _more_queued() -> bool:
    """Is another deck queued for this worker (or any worker)? Counts this deck as started."""
    remaining = _state["remaining"]
    if remaining is None:
        return False
    if isinstance(remaining, _DaskQueue):
        return remaining.more()
    with remaining.get_lock():
        remaining.value -= 1
        return remaining.value > 0


def take(cwd: Path):
    """The kernel manager (with a started, warmed kernel) for the deck about to run, or None (cold start).

    Starts warming the next deck's kernel when more decks are queued. Outside a batch: None, nothing started.
    """
    if _state["remaining"] is None:
        return None
    warm, _state["next"] = _state["next"], None
    if warm is None and _state["fork_server"] is not None:
        warm = _Warm(cwd)  # the worker's first deck: forked as soon as the fork server is ready
    km = warm.get() if warm is not None else None
    if km is not None and not _chdir(km, cwd):
        km = release(km)
    if _more_queued():
        # warmed in a neutral folder: the deck's own build folder does not exist yet
        _state["next"] = _Warm(Path(tempfile.gettempdir()))
    return km


def _run_silently(km, code: str, wait_ready: bool = False) -> bool:
    """Run ``code`` in the kernel of ``km`` without a trace (silent: no history, no execution count) and wait
    for its reply; True when it ran without error."""
    kc = km.blocking_client()
    # no heartbeat thread: the reply is waited for with a timeout, and a heartbeat thread stopped right
    # after its first ping can print a traceback of its own
    kc.start_channels(hb=False)
    try:
        if wait_ready:
            kc.wait_for_ready(timeout=_WARM_TIMEOUT)
        msg_id = kc.execute(code, silent=True, store_history=False)
        while True:
            reply = kc.get_shell_msg(timeout=_WARM_TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"].get("status") == "ok"
    finally:
        kc.stop_channels()


def _chdir(km, cwd: Path) -> bool:
    """Move a warmed kernel into the deck's working folder (silently: no name bound, no history)."""
    try:
        return _run_silently(km, f"__import__('os').chdir({os.fsencode(cwd)!r})")
    except Exception:
        return False


def release(km) -> None:
    """Shut down the kernel of ``km`` (one deck per kernel); None is fine."""
    if km is None:
        return None
    with contextlib.suppress(Exception):
        _kernels.pop(km.provisioner.pid, None)
    for kc in km.__dict__.pop("_esr_clients", []):
        with contextlib.suppress(Exception):
            kc.stop_channels()
    with contextlib.suppress(Exception):
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    with contextlib.suppress(Exception):
        km.cleanup_resources()
    return None


def shutdown() -> None:
    """The worker is done: a kernel warmed for nothing is shut down."""
    warm, _state["next"] = _state["next"], None
    if warm is not None:
        warm.thread.join(_WARM_TIMEOUT)
        release(warm.km)
    fork_server, _state["fork_server"] = _state["fork_server"], None
    if fork_server is not None:
        fork_server.close()


def kill_now() -> None:
    """The process is going away without unwinding (its parent is gone): kill its kernels and its fork
    server at once, from any thread, waiting for nothing."""
    import signal

    for pid, parent in list(_kernels.items()):
        if child_alive(pid, parent):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # a kernel is the leader of its own process group
    fork_server = _state["fork_server"]
    if fork_server is not None:
        with contextlib.suppress(Exception):
            fork_server.process.terminate()  # it kills the kernels it forked, then ends


def cached_parse(paths: Iterable[Path], parse: Callable[[], Any], kind: str) -> Any:
    """``parse()``, or its result for the same file contents parsed earlier by a kernel of this worker.

    Keyed on ``kind`` and the SHA-256 of every file of ``paths`` (contents, not dates): a changed file is
    parsed again. A missing file, or no cache folder, parses (and its errors are parse()'s own).
    """
    folder = os.environ.get(CACHE_ENV)
    if not folder or not Path(folder).is_dir():
        return parse()
    digest = hashlib.sha256(kind.encode())
    try:
        for path in paths:
            digest.update(str(Path(path).resolve()).encode() + b"\0" + hashlib.sha256(Path(path).read_bytes()).digest())
    except OSError:
        return parse()
    target = Path(folder) / f"{kind}-{digest.hexdigest()}.pickle"
    if target.is_file():
        with contextlib.suppress(Exception):
            return pickle.loads(target.read_bytes())
    value = parse()
    with contextlib.suppress(Exception):
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, target)
    return value
