"""verify(), step 4d: matrix identities with inverses, by a canonical form for noncommutative
rational expressions.

A matrix expression becomes a noncommutative polynomial: a sum of words (products of
atoms) with commutative coefficients. Atoms are MatrixSymbols, their transposes, their
inverses, and one new atom W = M^-1 for the inverse of each sum M (transposes pushed to
the atoms, (XY)^-1 = Y^-1 X^-1 for square factors). Words are reduced by rewriting:
a a^-1 -> I and a^-1 a -> I, and for W = M^-1 with M = c m + (the rest), m its largest word
and c a nonzero number, W m -> (I - W (rest)) / c and m W -> (I - (rest) W) / c (from
W M = M W = I). Every rule replaces a word by smaller ones, so reduction ends. Each rule
holds wherever the claim's inverses exist, which is the claim's domain.

lhs - rhs reducing to 0 proves the identity. Otherwise it is multiplied, on the left or
on the right, by an M whose inverse occurs (or by an invertible atom), once or twice, and
reduced again: M D = 0 means D = 0 when M is invertible. That proves push-through
(I + PQ)^-1 P = P (I + QP)^-1, Woodbury and (A^-1 + B^-1)^-1 = A (A + B)^-1 B. Scalar claims
with determinants use the determinant lemma det(A + u v^T) = det(A) (1 + v^T A^-1 u) when
A^-1 occurs, and compare 1 x 1 words (v^T A^-1 u = u^T A^-T v) as commutative atoms.
"""

from __future__ import annotations

import itertools

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr

from ..graph.ir import dims_equal

MAX_STEPS = 400            # rewriting steps per reduction
MAX_WORDS = 400            # a polynomial this large is given up on


class Algebra:
    """The atoms met so far, and the reduction rules they bring."""

    def __init__(self):
        self.shapes = {}          # atom -> (rows, cols)
        self.inverse_of = {}      # W atom -> polynomial M
        self.invertible = set()   # square atoms whose inverse occurs
        self._w = {}

    # --- atoms ---

    def atom(self, key, shape):
        self.shapes.setdefault(key, tuple(shape))
        return key

    def transpose_atom(self, a):
        kind, body = a
        if kind == "sym":
            return self.atom(("symT", body), self.shapes[a][::-1])
        if kind == "symT":
            return self.atom(("sym", body), self.shapes[a][::-1])
        if kind == "inv":
            return self.inverse_atom(self.transpose_atom(body))
        if kind == "W":
            return self.w_atom(self.transpose(self.inverse_of[a]))
        return self.atom(("opaque", body.T), self.shapes[a][::-1])

    def inverse_atom(self, a):
        if a[0] == "inv":
            return a[1]
        self.invertible.add(a)
        return self.atom(("inv", a), self.shapes[a])

    def w_atom(self, M):
        key = tuple(sorted(M.items(), key=lambda kv: [str(a) for a in kv[0]]))
        if key not in self._w:
            w = ("W", len(self._w))
            self._w[key] = w
            self.inverse_of[w] = M
            self.atom(w, self.shape(M))
        return self._w[key]

    def shape(self, poly):
        for word in poly:
            if word:
                return (self.shapes[word[0]][0], self.shapes[word[-1]][1])
        return None

    # --- polynomials ---

    def transpose(self, poly):
        return _clean({tuple(self.transpose_atom(a) for a in reversed(w)): c for w, c in poly.items()})

    def convert(self, e):
        """The polynomial of a matrix expression (a dict word -> coefficient)."""
        if isinstance(e, sp.MatrixSymbol):
            return {(self.atom(("sym", e), e.shape),): sp.S.One}
        if isinstance(e, sp.Identity):
            return {(): sp.S.One}
        if isinstance(e, sp.ZeroMatrix):
            return {}
        if isinstance(e, sp.MatAdd):
            out = {}
            for a in e.args:
                _add(out, self.convert(a))
            return out
        if isinstance(e, sp.MatMul):
            out = {(): sp.S.One}
            for a in e.args:
                out = _mul(out, self.convert(a)) if getattr(a, "is_Matrix", False) else \
                    {w: c * a for w, c in out.items()}
            return _clean(out)
        if isinstance(e, sp.Transpose):
            return self.transpose(self.convert(e.arg))
        if isinstance(e, sp.Inverse):
            return self.invert(self.convert(e.arg))
        if isinstance(e, sp.MatPow) and e.exp.is_Integer:
            base = self.convert(e.base)
            base = base if e.exp > 0 else self.invert(base)
            out = {(): sp.S.One}
            for _ in range(abs(int(e.exp))):
                out = _mul(out, base)
            return out
        return {(self.atom(("opaque", e), e.shape),): sp.S.One}

    def invert(self, poly):
        if len(poly) == 1:
            (word, c), = poly.items()
            if c != 0 and all(dims_equal(*self.shapes[a]) for a in word):
                return {tuple(self.inverse_atom(a) for a in reversed(word)): 1 / c}
        return {(self.w_atom(poly),): sp.S.One}

    def rules(self):
        """(pattern, replacement) pairs: a word equal to pattern may become the polynomial."""
        out = []
        for a in self.invertible:
            inv = ("inv", a)
            out += [((a, inv), {(): sp.S.One}), ((inv, a), {(): sp.S.One})]
        for w, M in self.inverse_of.items():
            top = max(M, key=_order)
            c = M[top]
            if not (c.is_number and c != 0) or not top:
                continue
            rest = {word: coeff for word, coeff in M.items() if word != top}
            left = _clean({(w,) + word: -coeff / c for word, coeff in rest.items()})
            _add(left, {(): 1 / c})
            right = _clean({word + (w,): -coeff / c for word, coeff in rest.items()})
            _add(right, {(): 1 / c})
            out += [((w,) + top, left), (top + (w,), right)]
        return out

    def reduce(self, poly):
        """The polynomial with every rule applied until none applies (None: too large)."""
        rules = self.rules()
        poly = _clean(dict(poly))
        for _ in range(MAX_STEPS):
            if len(poly) > MAX_WORDS:
                return None
            step = _rewrite_once(poly, rules)
            if step is None:
                return poly
            poly = step
        return None


def _order(word):
    return (len(word), [str(a) for a in word])


def _add(out, poly):
    for w, c in poly.items():
        out[w] = out.get(w, sp.S.Zero) + c
    return out


def _clean(poly):
    out = {}
    for w, c in poly.items():
        c = sp.expand(c)
        if c != 0:
            out[w] = c
    return out


def _mul(p, q):
    out = {}
    for (w1, c1), (w2, c2) in itertools.product(p.items(), q.items()):
        _add(out, {w1 + w2: c1 * c2})
    return _clean(out)


def _rewrite_once(poly, rules):
    for word, coeff in poly.items():
        for pattern, replacement in rules:
            k = len(pattern)
            for i in range(len(word) - k + 1):
                if word[i:i + k] == pattern:
                    out = {w: c for w, c in poly.items() if w != word}
                    _add(out, {word[:i] + r + word[i + k:]: coeff * c for r, c in replacement.items()})
                    return _clean(out)
    return None


# --- scalars: determinants, traces and 1 x 1 words --------------------------------------------

class _Scalars:
    """Canonical commutative symbols for det(X), tr(word) and 1 x 1 words."""

    def __init__(self, algebra):
        self.alg, self.names = algebra, {}

    def symbol(self, key):
        if key not in self.names:
            self.names[key] = sp.Dummy("nc%d" % len(self.names))
        return self.names[key]

    def word(self, w):
        """A 1 x 1 word: equal to its transpose read backwards."""
        t = tuple(self.alg.transpose_atom(a) for a in reversed(w))
        return self.symbol(("word", min(w, t, key=_order)))

    def trace(self, w):
        variants = []
        for seq in (w, tuple(self.alg.transpose_atom(a) for a in reversed(w))):
            variants += [seq[i:] + seq[:i] for i in range(max(1, len(seq)))]
        return self.symbol(("trace", min(variants, key=_order)))

    def of_trace(self, X):
        return sp.Add(*[c * (self.trace(w) if w else sp.Trace(sp.Identity(X.shape[0])).doit())
                        for w, c in self.alg.convert(X).items()])

    def of_entry(self, X):
        return sp.Add(*[c * (self.word(w) if w else 1) for w, c in self.alg.convert(X).items()])

    def of_det(self, X):
        poly = self.alg.convert(X)
        lemma = self._lemma(poly)
        if lemma is not None:
            return lemma
        return self._det(poly)

    def _det(self, poly):
        return self.symbol(("det", tuple(sorted((tuple(map(str, w)), str(c)) for w, c in poly.items()))))

    def _lemma(self, poly):
        """det(A + c u v) = det(A) (1 + c v A^-1 u) for an atom A whose inverse occurs and a
        column u, a row v."""
        if len(poly) != 2 or not all(len(w) in (1, 2) for w in poly):
            return None
        (one,) = [w for w in poly if len(w) == 1]
        (two,) = [w for w in poly if len(w) == 2]
        a, (u, v) = one[0], two
        if poly[one] != 1 or a not in self.alg.invertible or self.alg.shapes[u][1] != 1:
            return None
        inverse = self.alg.inverse_atom(a)
        det = self._det({(a,): sp.S.One})
        return det * (1 + poly[two] * self.word((v, inverse, u)))

    def of_contraction(self, e):
        """Sum(v[i, 0] A[i, j] u[j, 0], i, j) -- SymPy's writing of (v^T A u)[0, 0] -- as the 1 x 1
        word v^T A u; None when the sum is not such a chain."""
        coeff, factors = sp.S.One, []
        for f in sp.Mul.make_args(e.function):
            if isinstance(f, MatrixElement):
                factors.append(f)
            elif not (f.free_symbols & set(e.variables)):
                coeff *= f
            else:
                return None
        bound = set(e.variables)
        counts = {}
        for f in factors:
            for ix in (f.i, f.j):
                counts[ix] = counts.get(ix, 0) + 1
        if any(counts.get(v, 0) != 2 for v in bound) or \
                any(ix not in bound and ix != 0 for ix in counts):
            return None
        at = sp.S.Zero
        out, left = {(): sp.S.One}, list(factors)
        for _ in range(len(factors)):
            step = next((f for f in left if at in (f.i, f.j) and (at != 0 or out == {(): sp.S.One})),
                        None)
            if step is None:
                return None
            left.remove(step)
            forward = step.i == at
            poly = self.alg.convert(step.parent)
            out = _mul(out, poly if forward else self.alg.transpose(poly))
            at = step.j if forward else step.i
        if at != 0 or left:
            return None
        return coeff * sp.Add(*[c * (self.word(w) if w else 1) for w, c in out.items()])

    def canonical(self, e):
        e = e.replace(lambda t: isinstance(t, sp.Sum) and self.of_contraction(t) is not None,
                      lambda t: self.of_contraction(t))
        e = e.replace(lambda t: isinstance(t, MatrixElement) and tuple(t.parent.shape) == (1, 1),
                      lambda t: self.of_entry(t.parent))
        e = e.replace(lambda t: isinstance(t, sp.Trace), lambda t: self.of_trace(t.arg))
        return e.replace(lambda t: isinstance(t, sp.Determinant), lambda t: self.of_det(t.arg))


def _register_inverses(alg, e):
    """Convert every matrix subexpression once, so each inverse in the claim is known."""
    for node in sp.preorder_traversal(e):
        if isinstance(node, sp.Inverse):
            alg.convert(node)


def nc_route(D):
    """The route name when the canonical form proves the matrix (or scalar) difference D is 0."""
    alg = Algebra()
    if isinstance(D, MatrixExpr) and not isinstance(D, sp.MatrixBase):
        _register_inverses(alg, D)
        poly = alg.convert(D)
        return _matrix_zero(alg, poly)
    if isinstance(D, sp.Expr) and D.has(sp.Determinant, sp.Trace, MatrixElement):
        _register_inverses(alg, D)
        scalars = _Scalars(alg)
        if sp.expand(scalars.canonical(D)) == 0:
            return "noncommutative canonical form (determinant lemma, traces)"
    return None


def _matrix_zero(alg, poly):
    reduced = alg.reduce(poly)
    if reduced == {}:
        return "noncommutative canonical form"
    if reduced is None:
        return None
    factors = [M for M in alg.inverse_of.values()] + [{(a,): sp.S.One} for a in alg.invertible]
    shape = alg.shape(poly)
    for depth in (1, 2):
        for picks in itertools.product(factors, repeat=depth):
            for sides in itertools.product(("left", "right"), repeat=depth):
                out = poly
                for M, side in zip(picks, sides):
                    out = _mul(M, out) if side == "left" else _mul(out, M)
                if alg.reduce(out) == {}:
                    return "noncommutative canonical form (times invertible factors)"
    return None if shape is None else None
