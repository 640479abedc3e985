"""Running claims in a child process, one after another, each with a hard time limit.

``run_isolated(load, limit_of, on_result)`` forks a worker that calls ``load()`` (import a
proof file, or return claims already in memory) and then decides the claims in order, sending
each row back over a pipe. The parent waits for each row at most the claim's limit; a claim
that overruns is killed with its worker, reported, and a new worker resumes at the next claim.
Whatever a claim does (raise, call ``sys.exit``, end its process) stays in the worker and
comes back as a failed row naming what happened; a file that cannot be loaded is one failed
row. Without ``fork`` (Windows) the claims run in this process, still caught, without limits.
"""

import multiprocessing
import os
import signal
import sys
import time

__all__ = ["run_isolated", "describe", "LOAD_SECONDS"]

LOAD_SECONDS = 300.0     # importing one proof file (it may derive its formulas as it loads)


def _context():
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


def describe(exc, who="the claim"):
    """One line for what a claim (or a file, ``who``) raised; SystemExit says so."""
    if isinstance(exc, SystemExit):
        return "%s called sys.exit(%r)" % (who, exc.code)
    return "%s: %s" % (type(exc).__name__, " ".join(str(exc).split()) or "(no message)")


def _worker(load, head, decide, start, conn):
    """Child: load, say how many claims there are, then for each claim its head and its row.

    The worker leads its own process group, so stopping it also stops the processes its
    claims started (verify forks one per proof attempt)."""
    os.setpgid(0, 0)
    try:
        title, claims = load()
        conn.send(("loaded", title, len(claims)))
    except BaseException as exc:       # noqa: B036 - SystemExit included: it is reported
        conn.send(("load-failed", describe(exc, "the file")))
        conn.close()
        os._exit(0)
    for i in range(start, len(claims)):
        conn.send(("begin", i, head(claims[i])))
        conn.send(("row", i, decide(claims[i])))
    conn.close()
    sys.stdout.flush()
    os._exit(0)


def _receive(conn, limit):
    """The next message, "timeout" after ``limit`` seconds, or "died" if the worker ended."""
    try:
        if not conn.poll(limit):
            return ("timeout",)
        return conn.recv()
    except (EOFError, OSError):
        return ("died",)


class _Worker:
    def __init__(self, ctx, load, head, decide, start):
        reader, writer = ctx.Pipe(duplex=False)
        # not daemonic: a daemonic process may not fork, and verify forks its proof attempts
        self.process = ctx.Process(target=_worker, args=(load, head, decide, start, writer))
        self.process.start()
        writer.close()
        self.conn = reader

    def stop(self):
        """End the worker and everything it started; return its exit code."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass                                  # not yet its own group: kill it alone
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        return self.process.exitcode


def run_isolated(load, head, decide, fail, limit_of, on_title, on_row):
    """Decide every claim ``load()`` returns in a forked worker; call ``on_row(i, row)`` in order.

    ``head(claim)`` and ``decide(claim) -> row`` run in the worker (``decide`` must catch
    what the claim raises); ``fail(head, message, seconds) -> row`` makes the row of a claim
    that overran or ended its process (``head`` None: the file could not be loaded);
    ``limit_of(head)`` is a claim's limit in seconds; ``on_title(title)`` is called once
    the file is loaded (title None: it was not).
    """
    ctx = _context()
    if ctx is None:
        return _run_here(load, decide, fail, on_title, on_row)
    for stream in (sys.stdout, sys.stderr):       # nothing buffered is written twice
        stream.flush()
    start, count = 0, None
    while count is None or start < count:
        worker = _Worker(ctx, load, head, decide, start)
        try:
            message = _receive(worker.conn, LOAD_SECONDS)
            if message[0] != "loaded":
                why = (message[1] if message[0] == "load-failed" else
                       "loading took over %g s" % LOAD_SECONDS if message[0] == "timeout" else
                       "loading ended its process (exit code %s)" % worker.stop())
                on_title(None)
                on_row(None, fail(None, why, 0.0))
                return
            if count is None:
                on_title(message[1])
            count = message[2]
            start = _rows(worker, count, start, fail, limit_of, on_row)
        finally:
            worker.stop()


def _rows(worker, count, start, fail, limit_of, on_row):
    """Collect the worker's rows from claim ``start``; return where a new worker must resume."""
    for i in range(start, count):
        began = time.perf_counter()
        message = _receive(worker.conn, LOAD_SECONDS)
        if message[0] == "begin":
            head = message[2]
            limit = limit_of(head)
            message = _receive(worker.conn, max(0.0, limit - (time.perf_counter() - began)))
            if message[0] == "row":
                on_row(i, message[2])
                continue
        else:
            head, limit = None, LOAD_SECONDS
        seconds = time.perf_counter() - began
        if message[0] == "timeout":
            why = "timed out: no verdict after %g s (the claim's limit), stopped" % limit
        else:
            why = "the claim ended its process (exit code %s)" % worker.stop()
        on_row(i, fail(head, why, seconds))
        return i + 1
    return count


def _run_here(load, decide, fail, on_title, on_row):
    try:
        title, claims = load()
    except Exception as exc:
        on_title(None)
        on_row(None, fail(None, describe(exc, "the file"), 0.0))
        return
    on_title(title)
    for i, claim in enumerate(claims):
        on_row(i, decide(claim))
