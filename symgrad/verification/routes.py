"""verify(), step 4a: symbolic proof routes.

Each route either reaches an exact symbolic certificate (the difference is the
integer 0, SymPy's assumption system says a form of the difference is
nonnegative, an exact rational LDL^T test passes, ...) and returns its name, or
returns None. No route uses ``force=True`` or a numeric tolerance. Routes run in
a child process with a time budget (see ``prove.py``), so a slow
``simplify`` costs time, never a hang.
"""

import itertools

import sympy as sp
from sympy.functions.elementary.hyperbolic import HyperbolicFunction
from sympy.functions.elementary.trigonometric import TrigonometricFunction
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr

from ..graph.index_normal import index_zero
from ..numeric.certify import rational_psd
from ..numeric.kinks import has_kinks
from .assumptions import Interval, relation_bound
from .noncommutative import nc_route


# --- changes of variable --------------------------------------------------------------

def bound_substitution(s, box, integer=False):
    """An expression in a fresh symbol covering exactly ``box``, or None if unbounded."""
    if box.is_point():
        return box.lo
    if box.lo is None and box.hi is None:
        return None
    end, strict = (box.lo, box.lo_strict) if box.lo is not None else (box.hi, box.hi_strict)
    integer = bool(integer and end.is_Integer)
    u = sp.Dummy(s.name, positive=True, integer=integer) if strict else \
        sp.Dummy(s.name, nonnegative=True, integer=integer)
    return end + u if box.lo is not None else end - u


def _conjunct_substitution(conjuncts):
    boxes = {}
    for c in conjuncts:
        bound = relation_bound(c) if isinstance(c, sp.core.relational.Relational) else None
        if bound is not None:
            s, box = bound
            boxes[s] = boxes.get(s, Interval()).meet(box)
    if any(box.is_empty() for box in boxes.values()):
        return None
    sub = {s: bound_substitution(s, box, s.is_integer) for s, box in boxes.items()}
    return {s: v for s, v in sub.items() if v is not None}


def condition_substitutions(cond):
    """Substitutions that together cover the points where ``cond`` holds.

    ``cond`` is put in disjunctive normal form; each satisfiable disjunct gives
    one substitution built from its single-symbol bounds. Other conjuncts are
    ignored, which widens the region (still sound: we then prove more).
    """
    cond = sp.to_dnf(cond)
    if cond is sp.false:
        return []
    disjuncts = cond.args if isinstance(cond, sp.Or) else (cond,)
    subs = [_conjunct_substitution(d.args if isinstance(d, sp.And) else (d,)) for d in disjuncts]
    return [sub for sub in subs if sub is not None]


# --- scalar equality --------------------------------------------------------------------

def _cancel(d):
    return sp.cancel(sp.together(d))


def _exp_log(d):
    r = sp.expand(d.rewrite(sp.exp))
    for step in (lambda e: sp.expand_log(e, deep=True), sp.logcombine, sp.powsimp):
        r = _cancel(sp.expand(step(r)))
        if r == 0:
            return r
        r = r.replace(lambda e: isinstance(e, sp.log), lambda e: sp.log(_cancel(e.args[0])))
        r = sp.expand_log(sp.expand(r), deep=True)
        if _cancel(r) == 0:
            return sp.S.Zero
    return r


def _trigsimp(d):
    return sp.expand(sp.trigsimp(d)) if d.has(TrigonometricFunction, HyperbolicFunction) else d


def _quick_zero(d):
    for f in (lambda e: e, sp.expand, _cancel, _exp_log):
        if f(d) == 0:
            return True
    return False


def _piecewise(d):
    if not has_kinks(d):
        return d
    e = sp.piecewise_fold(d.rewrite(sp.Piecewise))
    if not isinstance(e, sp.Piecewise):
        return sp.S.Zero if _quick_zero(e) else d
    previous = []
    for expr, cond in e.args:
        here = sp.And(cond, *[sp.Not(c) for c in previous])
        previous.append(cond)
        if not all(_quick_zero(expr.xreplace(sub)) for sub in condition_substitutions(here)):
            return d
    return sp.S.Zero


EQUALITY_ROUTES = (
    ("structural", lambda d: d),
    ("index sums", lambda d: sp.S.Zero if index_zero(d, _quick_zero) else d),  # index_normal.py
    ("expand", sp.expand),
    ("cancel/together", _cancel),
    ("trigsimp", _trigsimp),
    ("exp/log rewrite", _exp_log),
    ("Piecewise folding", _piecewise),
    ("simplify", sp.simplify),
)
CHEAP = 4          # routes usable without a child process (fork unavailable)


def zero_route(d, cheap=False):
    """Name of the first route that turns the scalar d into exactly 0, or None."""
    for name, f in EQUALITY_ROUTES[:CHEAP] if cheap else EQUALITY_ROUTES:
        try:
            if f(d) == 0:
                return name
        except Exception:                      # a route that fails is just not a proof
            continue
    return None


def entries_route(entries, route):
    """Apply a per-entry route; name the slowest route needed, or None."""
    names = []
    for e in entries:
        name = route(e)
        if name is None:
            return None
        names.append(name)
    order = [n for n, _ in EQUALITY_ROUTES] + ["sign analysis", "sum of squares",
                                              "quadratic form", "real root isolation"]
    return max(names, key=order.index) if names else "structural"


# --- matrix expressions --------------------------------------------------------------------

def _canonical_trace(tr):
    arg = sp.expand(tr.arg).doit()
    if isinstance(arg, sp.MatAdd):
        return sp.Add(*[_canonical_trace(sp.Trace(a)) for a in arg.args])
    coeff, mats = arg.as_coeff_matrices() if isinstance(arg, sp.MatMul) else (sp.S.One, [arg])
    variants = []
    for seq in (list(mats), [m.T for m in reversed(mats)]):
        variants += [seq[i:] + seq[:i] for i in range(len(seq))]
    best = min(variants, key=lambda seq: [sp.default_sort_key(m) for m in seq])
    return coeff * sp.Trace(sp.MatMul(*best) if len(best) > 1 else best[0])


def _alpha(e):
    """Rename every Lambda's variables canonically, so equal maps compare equal."""
    def rename(lam):
        names = [sp.Dummy("v%d" % i, dummy_index=5120000 + i, **v.assumptions0)
                 for i, v in enumerate(lam.variables)]
        return sp.Lambda(tuple(names), lam.expr.xreplace(dict(zip(lam.variables, names))))
    return e.replace(lambda x: isinstance(x, sp.Lambda), rename)


def matrix_canonical(D):
    """doit, distribute, 1x1 entries as traces, traces in a cyclic canonical form, Lambdas
    with canonical variables."""
    C = sp.expand(_alpha(D).doit())
    C = C.replace(lambda e: isinstance(e, MatrixElement) and e.parent.shape == (1, 1),
                  lambda e: sp.Trace(e.parent))
    C = C.replace(lambda e: isinstance(e, sp.Trace), _canonical_trace)
    return sp.expand(C)


def _is_zero_matrix(C):
    return C == 0 or isinstance(C, sp.ZeroMatrix) or (
        isinstance(C, sp.MatrixBase) and all(e == 0 for e in C))


def matrix_zero_route(D, cheap=False):
    """Routes for a matrix-valued difference, or a scalar one made of matrix atoms; with
    inverses or determinants, the noncommutative canonical form after the others."""
    name = _canonical_route(D, cheap)
    if name is None and not cheap and D.has(sp.Inverse, sp.Determinant):
        try:
            name = nc_route(D)
        except Exception:                      # a form the algebra cannot read: no proof
            name = None
    return name


def _canonical_route(D, cheap):
    C = matrix_canonical(D)
    if _is_zero_matrix(C):
        return "matrix canonical form"
    if not isinstance(C, MatrixExpr):
        name = zero_route(C, cheap)
        return None if name is None else "matrix canonical form + " + name
    if isinstance(C, sp.MatrixBase):
        return entries_route(list(C), lambda e: zero_route(e, cheap))
    if all(k.is_Integer for k in C.shape) and all(
            all(k.is_Integer for k in m.shape) for m in C.atoms(sp.MatrixSymbol)):
        name = entries_route(list(C.as_explicit()), lambda e: zero_route(e, cheap))
        return None if name is None else "explicit entries + " + name
    return None


# --- scalar inequalities ---------------------------------------------------------------------

def _quadratic_form(d, strict):
    """d = [x; 1]^T G [x; 1] with G PSD (PD when strict), checked exactly."""
    xs = sorted(d.free_symbols, key=sp.default_sort_key)
    p = sp.Poly(d, *xs)
    if p.total_degree() > 2 or not p.domain.is_QQ and not p.domain.is_ZZ:
        return False
    n = len(xs)
    G = sp.zeros(n + 1, n + 1)
    for monom, c in p.terms():
        idx = [i for i, k in enumerate(monom) for _ in range(k)] + [n, n]
        i, j = idx[0], idx[1]
        G[i, j] += c / (1 if i == j else 2)
        if i != j:
            G[j, i] += c / 2
    return rational_psd(sp.ImmutableMatrix(G), strict)


def _real_roots(d, strict):
    """A univariate polynomial keeps its sign on the symbol's domain (exact root counting)."""
    (s,) = d.free_symbols
    p = sp.Poly(d, s)
    if not (p.domain.is_QQ or p.domain.is_ZZ):
        return False
    box = Interval(sp.S.Zero, bool(s.is_positive)) if s.is_nonnegative else Interval()
    lo = box.lo

    def roots_inside(f):
        inside = f.count_roots(lo, None)
        return inside - (1 if lo is not None and box.lo_strict and f.eval(lo) == 0 else 0)

    if any(k % 2 and roots_inside(f) for f, k in p.sqf_list()[1]):
        return False
    if strict and roots_inside(p):
        return False
    for t in range(0, 2 * p.degree() + 3):
        t = sp.Integer(t) + (lo if lo is not None else -p.degree() - 1) + 1
        if p.eval(t) != 0:
            return bool(p.eval(t) > 0)
    return False


def sign_route(d, strict, cheap=False):
    """Name of a route showing d >= 0 (d > 0 when strict) everywhere, or None."""
    test = (lambda e: e.is_positive) if strict else (lambda e: e.is_nonnegative)
    forms = [("sign analysis", lambda e: e), ("sign analysis", sp.expand),
             ("sum of squares", sp.factor), ("sign analysis", _cancel)]
    polys = [("quadratic form", _quadratic_form), ("real root isolation", _real_roots)]
    slow = [("sign analysis", sp.simplify)]
    for name, f in forms + ([] if cheap else slow):
        try:
            if test(f(d)) is True:
                return name
        except Exception:
            continue
    e = sp.expand(d)
    for name, f in polys:
        try:
            if e.is_polynomial() and (name != "real root isolation" or len(e.free_symbols) == 1) \
                    and f(e, strict):
                return name
        except Exception:
            continue
    return None


# --- matrix inequalities ------------------------------------------------------------------------

def _psd_factor_list(mats, kinds, strict):
    k = len(mats)
    if k == 1:
        m = mats[0]
        if isinstance(m, sp.Identity):
            return True
        return "positive_definite" in kinds.get(m, ()) or (not strict and isinstance(m, sp.ZeroMatrix))
    if strict:
        return False
    if any(mats[k - 1 - i] != mats[i].T for i in range(k // 2)):
        return False
    return k % 2 == 0 or _psd_factor_list([mats[k // 2]], kinds, False)


def psd_structure(D, kinds, strict):
    """D is a sum of c * X^T P X terms (c >= 0, P PSD); strict needs one c * I, c > 0."""
    D = sp.expand(D.doit())
    terms = D.args if isinstance(D, sp.MatAdd) else (D,)
    definite = False
    for t in terms:
        coeff, mats = t.as_coeff_matrices() if isinstance(t, sp.MatMul) else (sp.S.One, [t])
        if not coeff.is_nonnegative or not _psd_factor_list(list(mats), kinds, False):
            return False
        definite = definite or (coeff.is_positive and _psd_factor_list(list(mats), kinds, True))
    return definite or not strict


def loewner_route(D, kinds, strict, cheap=False):
    """Routes showing the symmetric part of D is PSD (PD when strict)."""
    if not isinstance(D, sp.MatrixBase):
        return "PSD structure" if psd_structure(D, kinds, strict) else None
    S = ((D + D.T) / 2).applyfunc(_cancel)
    if all(v.is_Rational for v in S):
        return "exact PSD test (LDL^T)" if rational_psd(S, strict) else None
    n = S.rows
    if n > 5:
        return None
    if strict:
        minors = [S[:k, :k].det() for k in range(1, n + 1)]
    else:
        minors = [S.extract(list(idx), list(idx)).det()
                  for k in range(1, n + 1) for idx in itertools.combinations(range(n), k)]
    name = entries_route(minors, lambda m: sign_route(m, strict, cheap))
    return None if name is None else "principal minors (%s)" % name
