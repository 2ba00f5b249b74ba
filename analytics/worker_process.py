"""An analytics worker process: a ``Shard`` served over a pipe, which never outlives its parent.

The parent sends pickled requests ``(op, units, home, payload)``: ``step`` (payload: the step's message
lists, each pickled once for every worker that takes it), ``flush`` (payload: the order key's ``seq``) or
``close``; the worker first hosts the new ``units`` (and reports the tracker rows of the ``home`` groups),
then answers ``("ok", result)``, or ``("error", traceback)`` if the shard itself failed (a detector's
failure on a message is counted, not raised).

No orphans: the worker closes its inherited copies of the parents' ends of every worker pipe (a forked
child gets them, and while any process held the parent's end the worker never saw end-of-file); on Linux the
parent's death sends it SIGTERM (``prctl(PR_SET_PDEATHSIG)``, asked only from the parent's main thread,
since the signal comes when the forking *thread* ends); and while it waits for a request it checks every
``PARENT_CHECK_S`` that its parent is still the same process. Whichever comes first, it exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing as mp
import os
import pickle
import resource
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

__all__ = ["PARENT_CHECK_S", "AnalyticsWorkerError", "WorkerProcess", "worker_main"]

#: Seconds a worker waits on the pipe before it checks again that its parent lives.
PARENT_CHECK_S = 1.0
#: ``prctl`` option: the signal the kernel sends when the thread that forked us ends (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


class AnalyticsWorkerError(RuntimeError):
    """An analytics worker failed or died (its traceback or exit code is in the message)."""


class _ParentGone(BaseException):
    """In the worker: the parent died or asked it to stop (SIGTERM)."""


def _watch_parent(parent_pid: int, death_signal: bool) -> None:
    """SIGTERM raises ``_ParentGone``; with ``death_signal`` on Linux the parent's death sends SIGTERM."""
    def stop(signum: int, frame: Any) -> None:
        raise _ParentGone

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it then closes us
    if death_signal and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent_pid:  # it died before the signal was set
        raise _ParentGone


def worker_main(conn: Any, parent_ends: Sequence[Any], parent_pid: int, death_signal: bool,
                shard_kw: dict[str, Any]) -> None:
    """The worker process: serve requests on ``conn`` until ``close``, end-of-file or the parent's death."""
    for end in parent_ends:
        end.close()  # inherited copies: only the parent may keep its ends of the pipes open
    try:
        _watch_parent(parent_pid, death_signal)
        # A forked child shares the parent's heap page by page until it writes to them: keep the collector
        # off those objects (a full collection writes to every one and would copy the whole heap).
        gc.freeze()
        from analytics.shard import Shard

        shard = Shard(**shard_kw)
        _serve(conn, parent_pid, shard)
    except (EOFError, BrokenPipeError, _ParentGone):
        pass


def _serve(conn: Any, parent_pid: int, shard: Any) -> None:
    while True:
        while not conn.poll(PARENT_CHECK_S):
            if os.getppid() != parent_pid:
                raise _ParentGone
        op, units, home, payload = pickle.loads(conn.recv_bytes())
        if op == "close":
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
            conn.send(("ok", {"cpu_s": time.process_time(), "peak_rss_mb": rss_mb}))
            return
        try:
            if units or home:
                shard.add(units, home=home)
            if op == "step":
                result = shard.step([(g, pickle.loads(b)) for g, b in payload])
            else:
                result = shard.flush(int(payload))
            reply = pickle.dumps(("ok", result), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - reported to the parent, which raises it
            reply = pickle.dumps(("error", traceback.format_exc()), protocol=pickle.HIGHEST_PROTOCOL)
        conn.send_bytes(reply)


class WorkerProcess:
    """Parent side of one worker (forked: the worker needs no import of the user's ``__main__``).

    Parameters
    ----------
    index
        The worker's number (for messages).
    shard_kw
        ``analytics.shard.Shard``'s arguments.
    others
        The parent's ends of the workers started before this one (the new worker closes its copies).
    """

    def __init__(self, index: int, shard_kw: dict[str, Any], others: Sequence[Any] = ()) -> None:
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        self.index = index
        self.conn, child = ctx.Pipe()
        main = threading.current_thread() is threading.main_thread()
        self.proc = ctx.Process(target=worker_main,
                                args=(child, [self.conn, *others], os.getpid(), main, shard_kw),
                                daemon=True, name=f"twin-analytics-{index}")
        self.proc.start()
        child.close()
        #: CPU seconds and peak resident memory (MB) of the worker, once closed
        self.cpu_s: float | None = None
        self.peak_rss_mb: float | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid

    def send(self, op: str, units: Sequence[Any], home: Sequence[int], payload: Any) -> None:
        """Send one request (it is not answered until ``recv``)."""
        data = pickle.dumps((op, list(units), list(home), payload), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.conn.send_bytes(data)
        except (BrokenPipeError, ConnectionResetError, OSError) as exc:
            raise self._died() from exc

    def recv(self) -> Any:
        """The answer to the last request; ``AnalyticsWorkerError`` if the worker failed or died."""
        try:
            status, result = pickle.loads(self.conn.recv_bytes())
        except (EOFError, ConnectionResetError, OSError) as exc:
            raise self._died() from exc
        if status != "ok":
            raise AnalyticsWorkerError(f"analytics worker {self.index} failed:\n{result}")
        return result

    def _died(self) -> AnalyticsWorkerError:
        self.proc.join(timeout=1.0)
        return AnalyticsWorkerError(f"analytics worker {self.index} died (exit code {self.proc.exitcode})")

    def close(self, timeout: float = 30.0) -> None:
        """Ask the worker to stop and wait for it (its CPU seconds and peak memory go to ``cpu_s``,
        ``peak_rss_mb``); kill it if it hangs."""
        if self.proc.is_alive():
            try:
                self.send("close", (), (), None)
                done = self.recv()
                self.cpu_s, self.peak_rss_mb = float(done["cpu_s"]), float(done["peak_rss_mb"])
            except AnalyticsWorkerError:
                pass
        self.proc.join(timeout=timeout)
        self.kill()

    def kill(self) -> None:
        """Stop the worker now (nothing of it is kept)."""
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5.0)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join()
        with contextlib.suppress(OSError):
            self.conn.close()
