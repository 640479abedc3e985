"""verify(): what a sample point costs, and which matrix sizes fit the time left.

One point of an MLP-gradient claim at 8 x 8 matrices can take far longer than at 2 x 2
(its closed form grows with the sizes), so sizes are chosen by cost before they are
drawn: the first points keep every size at most FIRST_CAP; each judged point records
its seconds at its size (the worst seen), and a larger size k is drawn only where the
largest measured size s <= k, scaled by (k/s)^p with p the growth measured across sizes
(POWER until two sizes are known), takes at most 1/SHARE of the time left, so sizes
ramp up step by step from measured ones. No matrix of more than MAX_ENTRIES
entries is ever written out: such a point is refused before any matrix is built
(``oversized``), so a 100000 x 100000 MatrixSymbol costs nothing.
"""

import math
import time

import sympy as sp

__all__ = ["FIRST_CAP", "MAX_ENTRIES", "size_cap", "affordable", "record_cost", "oversized"]

FIRST_CAP = 2               # sizes before any point's cost is known (the first point's
                            # own cost is not counted: it pays for warming caches)
POWER = 3                   # a point's cost grows like size^POWER (products of k x k matrices;
                            # 2 for claims in index notation, whose sums run over the sizes)
SHARE = 2                   # a point may take at most 1/SHARE of the time left
MAX_ENTRIES = 4096          # no matrix with more entries is written out (none is drawn)


def size_cap(problem):
    """The largest matrix size whose estimated cost fits (FIRST_CAP before any is known)."""
    return problem.memo.get("size_cap", FIRST_CAP)


def affordable(problem, k, left):
    """Whether a point at matrix size k is expected to take at most 1/SHARE of ``left``
    seconds: the slowest point at the largest size s <= k judged so far, times (k/s)^p,
    p the growth measured between the smallest and largest sizes judged (1 <= p <= 4;
    POWER before two sizes are known, FIRST_CAP before any)."""
    times = problem.memo.get("seconds at size", {})
    below = [s for s in times if s <= k]
    if not below:
        return k <= FIRST_CAP
    s = max(below)
    return times[s] * (k / s) ** _growth(times, problem) <= left / SHARE


def _growth(times, problem):
    lo, hi = min(times), max(times)
    if hi == lo or times[lo] <= 0 or times[hi] <= 0:
        return POWER if problem.has_matrices else 2
    return min(4.0, max(1.0, math.log(times[hi] / times[lo]) / math.log(hi / lo)))


def record_cost(problem, point, seconds, deadline):
    """Learn from one judged point how large the next ones' matrices may be."""
    if not problem.dims or point is None:
        return
    problem.memo["judged"] = problem.memo.get("judged", 0) + 1
    if problem.memo["judged"] == 1:
        return
    size = max([int(point[d]) for d in problem.dims if d in point] or [1])
    times = problem.memo.setdefault("seconds at size", {})
    times[size] = max(times.get(size, 0.0), seconds)
    left = deadline - time.monotonic() if deadline is not None else float("inf")
    problem.memo["size_cap"] = max([k for k in range(1, 9) if affordable(problem, k, left)] or [1])


def _shapes(problem):
    """(name, rows, cols) of every matrix node of the sides, one per distinct shape."""
    if "shapes" not in problem.memo:
        found = {}
        for side in (problem.lhs, problem.rhs):
            for node in sp.preorder_traversal(side):
                if not (getattr(node, "is_Matrix", False) and hasattr(node, "shape")):
                    continue
                shape = tuple(node.shape)
                if shape not in found or (isinstance(node, sp.MatrixSymbol) and
                                          not isinstance(found[shape], sp.MatrixSymbol)):
                    found[shape] = node if isinstance(node, sp.MatrixSymbol) else type(node)
        problem.memo["shapes"] = [(_name(node), *shape) for shape, node in found.items()]
    return problem.memo["shapes"]


def _name(node):
    if isinstance(node, sp.MatrixSymbol):
        return str(node)
    return "a matrix (%s)" % node.__name__


def oversized(problem, values):
    """A message when a matrix of the sides would have more than MAX_ENTRIES entries at
    these sizes (it is never written out), else ''."""
    for name, rows, cols in _shapes(problem):
        r, c = (sp.sympify(v).xreplace(values) for v in (rows, cols))
        if r.is_Integer and c.is_Integer and r * c > MAX_ENTRIES:
            return "%s is %s x %s (more than %d entries)" % (name, r, c, MAX_ENTRIES)
    return ""
