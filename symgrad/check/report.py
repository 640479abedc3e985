"""The pieces both gradient checks share: tolerances and the report.

``check_grad`` (first order, grad.py) and ``check_hessian`` (second order,
hessian.py) both fill a ``GradCheckReport`` with one ``Row`` per parameter, at
points drawn by ``sampler.admissible_point``.
"""

from dataclasses import dataclass, field

__all__ = ["GradCheckReport", "Row", "PAIRS"]

RTOL_GENERATED = 1e-7     # generated float64 code against exact values
RTOL_FD = 1e-5            # finite differences, on top of their own error estimate
NEAR_KINK = 1e-3          # closer than this to a kink, differences straddle it
UNRELIABLE_FD = 1e-5      # a Richardson error estimate this large (relative) means no derivative
MAX_FD_ENTRIES = 24       # finite differences of a large matrix: this many entries


PAIRS = ("symbolic~generated", "symbolic~fd", "fd~generated", "symbolic~complex")

@dataclass
class Row:
    """Largest disagreement of each pair for one parameter."""

    parameter: str
    errors: dict = field(default_factory=lambda: {p: [0.0, 0.0] for p in PAIRS})
    ok: bool = True
    compared: set = field(default_factory=set)
    relative: set = field(default_factory=set)

    def record(self, pair, a, b, tol):
        self.compared.add(pair)
        err = float(abs(a - b))
        scale = float(abs(b))
        rel = err / scale if scale > 0 else (0.0 if err == 0 else None)
        e = self.errors[pair]
        worse = lambda new, old: new if (new != new or new > old) else old   # NaN counts as worst
        e[0] = worse(err, e[0])
        if rel is not None:                  # no relative error against an exact zero
            e[1] = worse(rel, e[1])
            self.relative.add(pair)
        if not err <= tol:
            self.ok = False


@dataclass
class GradCheckReport:
    """Result of check_grad: ``ok``, a row per parameter, kinks, and notes."""

    ok: bool
    rows: list
    points: int
    kinks: list
    notes: list

    def __bool__(self):
        return self.ok

    def __str__(self):
        head = "check_grad: %s at %d point(s): symbolic (exact, 50 digits) vs central+Richardson " \
               "differences (fd) vs generated NumPy vs complex step" % (
                   "OK" if self.ok else "MISMATCH", self.points)
        row = "%-14s" + " %-19s" * len(PAIRS) + " %s"
        lines = [head, "max abs / rel error of each pair:",
                 row % ("parameter", *PAIRS, "verdict")]
        for r in self.rows:
            cells = [("%.1e / %s" % (r.errors[p][0], "%.1e" % r.errors[p][1] if p in r.relative
                                     else "n/a")) if p in r.compared else "n/a" for p in PAIRS]
            lines.append(row % (r.parameter[:14], *cells, "ok" if r.ok else "MISMATCH"))
        lines += ["not differentiable: " + k for k in self.kinks]
        lines += ["note: " + n for n in self.notes]
        return "\n".join(lines)
