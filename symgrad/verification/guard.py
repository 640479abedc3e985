"""verify()'s hard time limit: the whole decision is interrupted, or its process killed,
when its time is up.

The evaluators check a deadline inside each evaluation (``numeric/deadline.py``), but
one SymPy call (a ``cancel`` of a degree-10^4 polynomial, a product of two 8 x 8
matrices of large closed forms) cannot be interrupted from inside. So ``run_guarded``
arms SIGALRM on the main thread (its handler raises ``HardLimit`` between two bytecodes
of the SymPy call); elsewhere (another thread, someone else's alarm) it forks: the child runs the function and writes its pickled outcome (a value, or the
exception it raised) to a pipe; the parent waits at most ``seconds`` and then kills the
child's whole process group (the child's own children, such as the proof routes'
forked process, go with it). Without ``os.fork`` (or when forking fails) the caller runs
the function in process, under the cooperative deadline only.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import threading
import time

__all__ = ["run_guarded", "HardLimit"]


class HardLimit(BaseException):
    """The hard time limit of ``run_guarded`` passed (raised by its SIGALRM handler; no
    handler in verify catches it)."""


def _alarm_free():
    """Whether SIGALRM can bound this call: the main thread, a POSIX timer, and no one
    else's alarm handler or running timer."""
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None)
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))


def _on_alarm(signum, frame):
    raise HardLimit("the hard time limit passed")


def _run_alarmed(fn, args, seconds):
    """fn(*args) in process, interrupted by SIGALRM after ``seconds`` (SymPy is Python code,
    so the signal handler runs between two of its bytecodes)."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
        try:
            return "done", fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except HardLimit:
        return "timeout", None
    except Exception as exc:                         # re-raised by the caller, as from a child
        return "raised", exc
    finally:
        signal.signal(signal.SIGALRM, previous)


def _child(fn, args, write_end):
    try:
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
        try:
            outcome = ("done", fn(*args))
        except BaseException as exc:                 # reported to the parent, which re-raises
            outcome = ("raised", exc)
        try:
            data = pickle.dumps(outcome)
        except Exception:                            # a value pickle cannot carry
            text = "%s: %s" % (type(outcome[1]).__name__, outcome[1]) if outcome[0] == "raised" \
                else ""
            data = pickle.dumps(("unpicklable", text))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(0)


def _read(fd, deadline):
    """The bytes written to fd until EOF, or None when the deadline comes first."""
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _kill(pid):
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except OSError:
            continue


def run_guarded(fn, args, seconds: float):
    """(state, value) of ``fn(*args)`` run in a forked child for at most ``seconds``.

    state is "done" (value: the result), "raised" (value: the exception, to re-raise),
    "timeout", "unpicklable" (value: the exception's text, or "" for a result pickle
    cannot carry) or "unavailable" (no fork: run it in process). On the main thread with
    SIGALRM free, it runs in process, bounded by the alarm (no fork, no pickling).
    """
    if _alarm_free():
        return _run_alarmed(fn, args, seconds)
    if not hasattr(os, "fork"):
        return "unavailable", None
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return "unavailable", None
    if pid == 0:                                     # pragma: no cover - the child
        os.close(read_end)
        _child(fn, args, write_end)
    os.close(write_end)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    try:
        data = _read(read_end, time.monotonic() + max(seconds, 0.0))
    finally:
        os.close(read_end)
        if data is None:
            _kill(pid)
        os.waitpid(pid, 0)
    if not data:
        return ("timeout", None) if data is None else ("raised", RuntimeError(
            "verify's worker process ended without an answer"))
    try:
        return pickle.loads(data)
    except Exception as exc:                         # an exception class that cannot be rebuilt
        return "unpicklable", "%s: %s" % (type(exc).__name__, exc)
