"""Shared helpers for symgrad's benchmarks: interleaved timing, medians, Markdown tables.

The machine these run on is small and shared, so a single timing means little.
Every benchmark here times its cases *interleaved*: one round calls each case
in turn (in a rotating order), many rounds are run, and the figures reported
are medians over rounds. A ratio of two cases is the median of the per-round
ratios, so a slow spell that hits one round hits both sides of its ratio.
"""

import ctypes
import gc
import importlib
import os
import platform
import random
import shlex
import statistics
import sys
import time

__all__ = [
    "interleaved", "median", "paired_ratio", "spread", "calls_per_round",
    "markdown_table", "command_line", "optional", "blas_threads", "environment",
    "page_faults", "keep_freed_memory", "CLOCKS",
]


CLOCKS = {
    "wall": time.perf_counter,      # elapsed time: what a user waits for
    "cpu": time.process_time,       # CPU time of all the process's threads, user + system
}


def calls_per_round(fn, min_seconds=0.02, max_calls=1000, clock=time.perf_counter):
    """How many calls of ``fn`` fill at least ``min_seconds`` (one call, timed, to decide)."""
    start = clock()
    fn()
    once = clock() - start
    if once <= 0:
        return max_calls
    return max(1, min(max_calls, int(min_seconds / once) + 1))


def interleaved(cases, rounds, warmup=3, min_seconds=0.02, seed=0, clock="wall"):
    """Time zero-argument callables in interleaved rounds.

    ``cases`` maps a name to a callable. Each case is first called ``warmup``
    times; then, in each of ``rounds`` rounds, every case runs ``number`` calls
    back to back (``number`` chosen per case so a block lasts ``min_seconds``)
    and the mean seconds per call of that block is recorded. Each round runs
    the cases in a fresh random order (seeded), so no case always follows the
    same neighbour (a library whose worker threads keep spinning after a call
    would otherwise slow down one case systematically). The garbage collector
    is off inside a block, as in ``timeit``.

    ``clock="wall"`` times with ``time.perf_counter``. ``clock="cpu"`` uses
    ``time.process_time``: on a loaded machine, time spent waiting for a core
    is not counted, so single-threaded cases compare cleanly (with several
    threads it would count their spin-waiting too). Returns
    ``{name: [seconds per call, one per round]}``.
    """
    timer = CLOCKS[clock]
    names = list(cases)
    for name in names:
        for _ in range(warmup):
            cases[name]()
    number = {name: calls_per_round(cases[name], min_seconds, clock=timer) for name in names}
    times = {name: [] for name in names}
    rng = random.Random(seed)
    for _ in range(rounds):
        order = rng.sample(names, len(names))
        for name in order:
            fn, k = cases[name], number[name]
            gc_was_on = gc.isenabled()
            gc.disable()
            try:
                start = timer()
                for _ in range(k):
                    fn()
                elapsed = timer() - start
            finally:
                if gc_was_on:
                    gc.enable()
            times[name].append(elapsed / k)
    return times


def page_faults(fn, calls=3):
    """Minor page faults per call of ``fn`` (after one warm-up call), process-wide; None off Unix.

    A fault is the kernel handing the process a fresh page: memory that the
    allocator returned to the system at the end of one call and takes back in
    the next. Many faults per call mean time spent in the kernel, not in NumPy.
    """
    try:
        import resource
    except ImportError:
        return None
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def keep_freed_memory():
    """Tell glibc's malloc to keep freed memory in the process; True if it took effect.

    By default glibc serves blocks over ~128 KB with mmap and trims the heap
    when much of its top is free, so a function whose temporaries are large
    gets fresh pages from the kernel (page faults) on every call, depending on
    the order in which it allocates and frees. Raising M_TRIM_THRESHOLD and
    M_MMAP_THRESHOLD (as the MALLOC_TRIM_THRESHOLD_ and MALLOC_MMAP_THRESHOLD_
    environment variables would) takes the allocator out of the comparison.
    """
    import ctypes.util
    path = ctypes.util.find_library("c")
    if not path or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(path)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_TRIM_THRESHOLD, 1 << 30)) and bool(mallopt(M_MMAP_THRESHOLD, 1 << 25))


def median(samples):
    return statistics.median(samples)


def paired_ratio(numerator, denominator):
    """Median over rounds of numerator[r] / denominator[r] (both from one ``interleaved`` run)."""
    return statistics.median(a / b for a, b in zip(numerator, denominator))


def spread(samples):
    """The interquartile range relative to the median, as text ("12%"): how noisy a case was."""
    if len(samples) < 4:
        return "n/a"
    q = statistics.quantiles(samples, n=4)
    return "%.0f%%" % (100 * (q[2] - q[0]) / statistics.median(samples))


def markdown_table(headers, rows):
    """A GitHub Markdown table; numbers are expected already formatted as strings."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line([str(h) for h in headers]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def command_line():
    """The command that ran this script, as a person would type it."""
    return " ".join(["python"] + [shlex.quote(a) for a in sys.argv])


def optional(module):
    """Import an optional comparator; return (module, None) or (None, reason)."""
    try:
        return importlib.import_module(module), None
    except ImportError as e:
        return None, "not installed (%s)" % e.__class__.__name__


def blas_threads():
    """Threads NumPy's BLAS uses, read from the loaded OpenBLAS/MKL library, or None."""
    try:
        import threadpoolctl
        infos = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
        if infos:
            return infos[0]["num_threads"]
    except ImportError:
        pass
    import numpy  # noqa: F401  (loads the BLAS library)
    paths = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if "blas" in os.path.basename(path).lower() and path.startswith("/"):
                    paths.add(path)
    except OSError:
        return None
    names = ["scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
             "openblas_get_num_threads64_", "openblas_get_num_threads", "MKL_Get_Max_Threads"]
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            fn = getattr(lib, name, None)
            if fn is not None:
                return int(fn())
    return None


def environment(extra=()):
    """Lines describing the machine and library versions (a Markdown bullet list)."""
    import numpy
    import scipy
    import sympy
    lines = [
        "- Python %s, NumPy %s, SciPy %s, SymPy %s"
        % (platform.python_version(), numpy.__version__, scipy.__version__, sympy.__version__),
        "- CPU cores visible: %s (%s)" % (len(os.sched_getaffinity(0))
                                          if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                                          platform.machine()),
        "- NumPy BLAS threads: %s" % (blas_threads() or "unknown"),
    ]
    if hasattr(os, "getloadavg"):
        lines.append("- load average when started: %s (a shared machine: other work competes)"
                     % ", ".join("%.1f" % x for x in os.getloadavg()))
    return "\n".join(lines + ["- " + e for e in extra])
