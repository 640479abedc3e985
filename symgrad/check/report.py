"""The pieces both gradient checks share: tolerances and the report.

``check_grad`` (first order, grad.py) and ``check_hessian`` (second order,
hessian.py) both fill a ``GradCheckReport`` with one ``Row`` per parameter, at
points drawn by the sampler. The report prints as a table in a terminal and as a
Markdown or HTML table in a notebook; each says which side of a pair is which:
"symbolic" is the reference (the derived gradient in certified Arb balls), "fd" central
differences with Richardson steps of the generated loss, "generated" the generated code,
"complex" the complex step through the loss as written.
"""

from dataclasses import dataclass, field
from html import escape

import numpy as np

__all__ = ["GradCheckReport", "Row", "PAIRS", "Tolerances", "tolerances", "SIDES"]

RTOL_GENERATED = 1e-7     # generated float64 code against exact values
RTOL_FD = 1e-5            # finite differences, on top of their own error estimate
NEAR_KINK = 1e-3          # closer than this to a kink, differences straddle it
UNRELIABLE_FD = 1e-5      # a Richardson error estimate this large (relative) means no derivative
MAX_FD_ENTRIES = 24       # finite differences of a large matrix: this many entries


PAIRS = ("symbolic~generated", "symbolic~fd", "fd~generated", "symbolic~complex")
SIDES = {"symbolic": "the derived gradient, in certified Arb balls (the reference)",
         "fd": "central differences with Richardson steps of the generated loss",
         "generated": "the generated code's gradient",
         "complex": "the complex step Im L(w + ih)/h through the loss as written"}


@dataclass(frozen=True)
class Tolerances:
    """Relative tolerances for code computing in one floating-point type."""

    generated: float
    fd: float
    unreliable: float
    floor: float          # entries below floor * scale are compared in absolute terms


def tolerances(dtype) -> Tolerances:
    """The float64 tolerances above, or ones scaled to a lower precision's eps.

    >>> tolerances(np.float64).generated, tolerances(np.float32).generated > 1e-5
    (1e-07, True)
    """
    eps = float(np.finfo(dtype).eps)
    if eps <= 2.0 ** -52:
        return Tolerances(RTOL_GENERATED, RTOL_FD, UNRELIABLE_FD, 1e-6)
    return Tolerances(2.0 ** 8 * eps, 2.0 ** 6 * eps, 2.0 ** 10 * eps, 2.0 ** 4 * eps)


@dataclass
class Row:
    """Largest disagreement of each pair for one parameter; ``how`` says what was compared."""

    parameter: str
    errors: dict = field(default_factory=lambda: {p: [0.0, 0.0] for p in PAIRS})
    ok: bool = True
    compared: set = field(default_factory=set)
    relative: set = field(default_factory=set)
    how: str = ""
    count: dict = field(default_factory=lambda: {p: 0 for p in PAIRS})

    def record(self, pair, a, b, tol):
        self.record_many(pair, np.asarray(float(a)), np.asarray(float(b)), np.asarray(float(tol)))

    def record_many(self, pair, a, b, tol):
        """Compare arrays of values ``a`` and ``b`` entry by entry, within ``tol``."""
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.size == 0:
            return
        self.compared.add(pair)
        self.count[pair] += int(a.size)
        err = np.abs(a - b)
        scale = np.abs(b)
        e = self.errors[pair]
        worst = float(np.max(err)) if not np.any(np.isnan(err)) else float("nan")
        e[0] = worst if (worst != worst or worst > e[0]) else e[0]   # NaN counts as worst
        with np.errstate(all="ignore"):
            rel = np.where(scale > 0, err / np.where(scale > 0, scale, 1), np.nan)
        rel = rel[(scale > 0) | np.isnan(err)]
        if rel.size:                         # no relative error against an exact zero
            r = float(np.max(rel)) if not np.any(np.isnan(rel)) else float("nan")
            e[1] = r if (r != r or r > e[1]) else e[1]
            self.relative.add(pair)
        if not np.all(err <= np.broadcast_to(tol, err.shape)):
            self.ok = False

    def verdict(self) -> str:
        return "MISMATCH" if not self.ok else "ok" if self.compared else "not compared"

    def cells(self):
        return [("%.1e / %s" % (self.errors[p][0], "%.1e" % self.errors[p][1]
                                if p in self.relative else "n/a")) if p in self.compared else "n/a"
                for p in PAIRS]


@dataclass
class GradCheckReport:
    """Result of check_grad: ``ok``, a row per parameter, kinks, notes, and ``blame`` (where
    the derivation goes wrong, when it does)."""

    ok: bool
    rows: list
    points: int
    kinks: list
    notes: list
    blame: list = field(default_factory=list)
    reference: str = "symbolic (exact, 50 digits)"
    dtype: str = "float64"
    vacuous: bool = False

    def __post_init__(self):
        if self.compared == 0:           # a report that compared nothing is never OK
            self.ok = False

    def __bool__(self):
        return self.ok

    @property
    def compared(self) -> int:
        """How many comparisons were made (entries and directions, all pairs)."""
        return sum(sum(r.count.values()) for r in self.rows)

    def _verdict(self):
        if self.vacuous:
            return "NOT CHECKED (nothing compared: every point is on a kink)"
        if self.compared == 0:
            return "NOT CHECKED (nothing compared)"
        return "OK" if self.ok else "MISMATCH"

    def __str__(self):
        head = "check_grad: %s at %d point(s): %s vs central+Richardson differences (fd) vs " \
               "generated %s code vs complex step" % (self._verdict(), self.points,
                                                      self.reference, self.dtype)
        row = "%-14s" + " %-19s" * len(PAIRS) + " %s"
        lines = [head, "max abs / rel error of each pair (first side compared with the second):",
                 row % ("parameter", *PAIRS, "verdict")]
        for r in self.rows:
            lines.append(row % (r.parameter[:14], *r.cells(), r.verdict()))
        lines += ["checked: %s: %s" % (r.parameter, r.how) for r in self.rows if r.how]
        lines += ["blame: " + b for b in self.blame]
        lines += ["not differentiable: " + k for k in self.kinks]
        lines += ["note: " + n for n in self.notes]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        """The notebook table: one row per parameter, the sides named under it."""
        out = ["**check_grad: %s** at %d point(s), generated %s code" % (
            self._verdict(), self.points, self.dtype), "",
            "| parameter | " + " | ".join(PAIRS) + " | verdict |",
            "|---" * (len(PAIRS) + 2) + "|"]
        for r in self.rows:
            out.append("| `%s` | %s | %s |" % (r.parameter, " | ".join(r.cells()),
                                               "**MISMATCH**" if not r.ok else r.verdict()))
        out += ["", "Cells: max abs / rel error. " + "; ".join(
            "*%s*: %s" % (k, v) for k, v in SIDES.items()) + "."]
        out += ["", *["- checked `%s`: %s" % (r.parameter, r.how) for r in self.rows if r.how]]
        out += ["- **blame**: " + b for b in self.blame]
        out += ["- not differentiable: " + k for k in self.kinks]
        out += ["- note: " + n for n in self.notes]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        cells = lambda xs, tag="td": "".join("<%s>%s</%s>" % (tag, escape(x), tag) for x in xs)  # noqa: E731
        rows = ["<tr>%s</tr>" % cells(["parameter", *PAIRS, "verdict"], "th")]
        rows += ["<tr>%s</tr>" % cells([r.parameter, *r.cells(), r.verdict()])
                 for r in self.rows]
        items = ["<li><i>%s</i>: %s</li>" % (k, escape(v, quote=False)) for k, v in SIDES.items()]
        items += ["<li>checked %s: %s</li>" % (escape(r.parameter), escape(r.how))
                  for r in self.rows if r.how]
        items += ["<li><b>blame</b>: %s</li>" % escape(b) for b in self.blame]
        items += ["<li>not differentiable: %s</li>" % escape(k) for k in self.kinks]
        items += ["<li>note: %s</li>" % escape(n) for n in self.notes]
        return ("<p><b>check_grad: %s</b> at %d point(s), generated %s code (cells: max abs / rel "
                "error)</p><table>%s</table><ul>%s</ul>"
                % (escape(self._verdict()), self.points, self.dtype, "".join(rows), "".join(items)))
