"""One BLAS thread for small products, as XLA does: ``few_blas_threads(work)``.

A Hessian's heart is one product Xᵀ(s ⊙ X). With NumPy's OpenBLAS on two threads and a
busy machine, that product waits for a second thread the scheduler does not run: measured
here at n = 1000, d = 100 (load 14 on 2 cores), 147 ms on 2 threads against 4.9 ms on one
(``benchmarks/bench_hessian.py``). Below ``SMALL`` multiply-adds a compiled Hessian runs its
call on one BLAS thread and then restores the count; above it (or when the BLAS library
exposes no thread control: MKL, Accelerate, a BLAS not found) nothing changes.
"""

from __future__ import annotations

import ctypes
import functools
from contextlib import contextmanager

__all__ = ["few_blas_threads", "SMALL"]

SMALL = 10**8          # multiply-adds: d = 200, n = 1000 is 4e7; d = 1000 is 1e9

_NAMES = [("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
          ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
          ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
          ("openblas_set_num_threads", "openblas_get_num_threads")]


@functools.lru_cache(maxsize=1)
def _controls():
    """(set, get) of the loaded OpenBLAS, or None (looked up once: a library handle)."""
    import numpy  # noqa: F401  (loads the BLAS library)
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps
                     if "blas" in line.split()[-1].lower() and line.split()[-1].startswith("/")}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _NAMES:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                return getattr(lib, set_name), getattr(lib, get_name)
    return None


@contextmanager
def few_blas_threads(work: float):
    """Run the block on one BLAS thread when ``work`` (multiply-adds) is below SMALL.

    >>> with few_blas_threads(10**6):
    ...     pass
    """
    controls = _controls() if work < SMALL else None
    if controls is None:
        yield
        return
    set_threads, get_threads = controls
    before = int(get_threads())
    if before > 1:
        set_threads(1)
    try:
        yield
    finally:
        if before > 1:
            set_threads(before)
