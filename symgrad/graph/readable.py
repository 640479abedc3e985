"""Rewrites that make a raised result read as a person writes it; each is an exact identity.

    exp(u)/(exp(u) + 1), 1/(1 + exp(-u))   ->  σ(u)           (``with_sigmoids``)
    sinh(u)/cosh(u)                         ->  tanh(u)
    (A ⊙ B)ᵀ, tanh(Z)ᵀ stay so; (AB)ᵀ = BᵀAᵀ, (A + B)ᵀ = Aᵀ + Bᵀ  (``transpose``)
    exp(Z - logsumexp(Z)𝟏ᵀ) entry by entry   ->  softmax(Z)     (``softmax_of``)
    -Y/n + σ(Z)/n                           ->  (σ(Z) - Y)/n   (``factored_sum``)
    (c f(x)) entry by entry over M          ->  c f(M)         (``split_constant``)

None of them makes a value less accurate: σ and softmax are the stable forms the generated
code computes anyway, so ``GradFunction.stable_form`` (which raises the rewritten graph) still
shows what the code computes.
"""

from collections import Counter

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixExpr

from ..ops.display import shown
from ..ops.nodes import ElementwiseMap, RowLogSumExp, RowSoftmax, Sigmoid

__all__ = ["present", "readable_scalar", "with_sigmoids", "softmax_of", "factored_sum",
           "coefficient", "transpose"]

SIGMOID_OPS = 80          # larger expressions are left as they are (cancel() grows quickly)
SIGMOID_TRIES = 4         # at most this many distinct exp arguments are tried


def _exp_arguments(expr):
    """Distinct arguments u of exp(u) or exp(-u), each with a leading plus sign."""
    out = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.exp):
            u = node.args[0]
            u = -u if u.could_extract_minus_sign() else u
            if u not in out:
                out.append(u)
    return out


def _cost(expr):
    return sp.count_ops(expr)


def with_sigmoids(expr):
    """``expr`` with exp(u) written through σ(u) where that makes it shorter.

    exp(u) = s/(1 - s) and exp(-u) = (1 - s)/s for s = σ(u), exactly; the rational function
    in s is cancelled and kept when it has fewer operations than ``expr``.

    >>> z, y = sp.symbols("z y", real=True)
    >>> with_sigmoids(sp.exp(z)/(sp.exp(z) + 1) - y)
    -y + Sigmoid(z)
    """
    if not isinstance(expr, sp.Expr) or not expr.has(sp.exp) or expr.has(sp.Piecewise) or \
            getattr(expr, "is_Matrix", False) or _cost(expr) > SIGMOID_OPS:
        return expr
    best, best_cost = expr, _cost(expr)
    for u in _exp_arguments(expr)[:SIGMOID_TRIES]:
        s = sp.Dummy("s", positive=True)
        trial = best.replace(
            lambda e: isinstance(e, sp.exp) and e.args[0] in (u, -u),
            lambda e: s / (1 - s) if e.args[0] == u else (1 - s) / s)
        if trial.has(s):
            trial = sp.factor_terms(sp.cancel(trial)).xreplace({s: Sigmoid(u)})
            if _cost(trial) < best_cost and not _divides_by_sigmoid(trial):
                best, best_cost = trial, _cost(trial)
    return best


def _divides_by_sigmoid(expr):
    """Whether a σ sits in a denominator: σ(2w)/(σ(2w) - 1) is e^{2w} made unreadable, and it
    divides by 0 in floating point once σ rounds to 1."""
    return any(p.exp.is_negative and p.base.has(Sigmoid) for p in expr.atoms(sp.Pow))


def with_tanh(expr):
    """sinh(u)/cosh(u) -> tanh(u), in any product."""
    def tanh_of(m):
        factors = list(m.args)
        for f in factors:
            if isinstance(f, sp.sinh):
                inverse = sp.cosh(f.args[0])**-1
                if inverse in factors:
                    factors.remove(f)
                    factors.remove(inverse)
                    return sp.Mul(sp.tanh(f.args[0]), *factors)
        return m
    return expr.replace(lambda e: isinstance(e, sp.Mul) and e.has(sp.sinh), tanh_of) \
        if isinstance(expr, sp.Expr) and expr.has(sp.sinh) else expr


def readable_scalar(expr):
    """The scalar rewrites above, in order (nested Piecewise folded first)."""
    if isinstance(expr, sp.Expr) and any(isinstance(p, sp.Piecewise) and
                                         any(a.has(sp.Piecewise) for a in p.args)
                                         for p in expr.atoms(sp.Piecewise)):
        expr = sp.piecewise_fold(expr)
    return with_sigmoids(with_tanh(expr))


def softmax_of(matrix):
    """Z when ``matrix`` is Z - logsumexp(Z)𝟏ᵀ (so exp of it, entry by entry, is softmax(Z))."""
    if not isinstance(matrix, sp.MatAdd):
        return None
    for i, term in enumerate(matrix.args):
        coeff, factors = coefficient(term)
        if coeff == -1 and len(factors) == 2 and isinstance(factors[0], RowLogSumExp) and \
                isinstance(factors[1], sp.OneMatrix):
            Z = factors[0].arg
            rest = matrix.args[:i] + matrix.args[i + 1:]
            if Counter(rest) == Counter(Z.args if isinstance(Z, sp.MatAdd) else (Z,)):
                return Z
    return None


def softmax(matrix):
    """RowSoftmax(Z) for exp(Z - logsumexp(Z)𝟏ᵀ), else None."""
    Z = softmax_of(matrix)
    return RowSoftmax(Z) if Z is not None else None


def coefficient(term):
    """(scalar coefficient, [matrix factors]) of a matrix term."""
    if isinstance(term, sp.MatMul):
        scalars = [a for a in term.args if not getattr(a, "is_Matrix", False)]
        return sp.Mul(*scalars), [a for a in term.args if getattr(a, "is_Matrix", False)]
    return sp.S.One, [term]


def _product(coeff, factors):
    if len(factors) == 1:
        return factors[0] if coeff == 1 else sp.MatMul(coeff, factors[0])
    return sp.MatMul(*([coeff] if coeff != 1 else []), *factors)


def transpose(M):
    """Mᵀ as people write it: through products ((AB)ᵀ = BᵀAᵀ), sums, inverses and the
    all-ones matrix; a Hadamard product or a function of a matrix stays (M)ᵀ."""
    if isinstance(M, sp.Transpose):
        return M.arg
    if isinstance(M, (sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix, sp.Identity, sp.Inverse)):
        return M.T
    if isinstance(M, sp.MatMul):
        coeff, factors = coefficient(M)
        return _product(coeff, [transpose(f) for f in reversed(factors)])
    if isinstance(M, sp.MatAdd):
        return factored_sum([transpose(t) for t in M.args])
    return sp.Transpose(M)


def factored_sum(terms):
    """The MatAdd of ``terms`` with their common scalar factor outside: -Y/n + σ(Z)/n is
    (σ(Z) - Y)/n."""
    total = sp.MatAdd(*terms).doit(deep=False)
    if not isinstance(total, sp.MatAdd):
        return total
    parts = [coefficient(t) for t in total.args]
    marks = [sp.Dummy() for _ in parts]
    common, inner = sp.factor_terms(sp.Add(*[c * u for (c, _), u in zip(parts, marks)])) \
        .as_independent(*marks, as_Add=False)
    if common == 1:
        return total
    ratios = [sp.expand(inner).coeff(u) for u in marks]
    if any(r == 0 for r in ratios):
        return total
    return sp.MatMul(common, sp.MatAdd(*[_product(r, f) for r, (_, f) in zip(ratios, parts)]))


def _is_matrix(e):
    return getattr(e, "is_Matrix", False)


def _scaled(coeff, matrix):
    return matrix if coeff == 1 else sp.MatMul(coeff, matrix)


def flat_product(args):
    """A MatMul of ``args`` with nested products merged and one coefficient in front."""
    coeff, matrices = sp.S.One, []
    for a in args:
        c, factors = coefficient(a) if _is_matrix(a) else (a, [])
        coeff, matrices = coeff * c, matrices + factors
    if len(matrices) == 1:
        return _scaled(coeff, matrices[0])
    return sp.MatMul(*([coeff] if coeff != 1 else []), *matrices)


def _all_ones(M):
    return isinstance(M, sp.OneMatrix) or isinstance(M, sp.Identity) and M.shape == (1, 1)


def hadamard(args):
    """A HadamardProduct of ``args`` with nested ones merged and coefficients in front."""
    coeff, factors = sp.S.One, []
    for a in args:
        for part in (a.args if isinstance(a, sp.HadamardProduct) else (a,)):
            c, fs = coefficient(part)
            coeff, factors = coeff * c, factors + [_product(1, fs)]
    ones = [f for f in factors if _all_ones(f)]           # 𝟏 ⊙ M = M (I is 𝟏 when 1 x 1)
    factors = [f for f in factors if not _all_ones(f)] or ones[:1]
    if len(factors) > 1 and all(f == factors[0] for f in factors):
        return _scaled(coeff, sp.HadamardPower(factors[0], len(factors)))     # Z ⊙ Z = Z**2
    return _scaled(coeff, factors[0] if len(factors) == 1 else sp.HadamardProduct(*factors))


def entrywise(function, *matrices):
    """f applied entry by entry, as one map over distinct matrices: constant factors of the
    body and of its matrices in front, maps of maps composed (g(f(M)) is one map over M),
    softmax recognised."""
    if not isinstance(function, sp.Lambda):
        d = sp.Dummy("x", real=True)
        function = sp.Lambda(d, function(d))
    body, plain = function.expr, {}

    def variable(matrix):
        if matrix not in plain:
            plain[matrix] = sp.Dummy("x%d" % len(plain), dummy_index=7350000 + len(plain),
                                     real=True)
        return plain[matrix]

    for d, matrix in zip(function.variables, matrices):
        c, factors = coefficient(matrix)
        inner = _product(1, factors)
        if isinstance(inner, ElementwiseApplyFunction) and isinstance(inner.function, sp.Lambda):
            (v,), value = inner.function.variables, inner.function.expr
            value = value.xreplace({v: variable(inner.expr)})
        else:
            value = variable(inner)
        body = body.xreplace({d: c * value})
    coeff, rest = _constant_factor(readable_scalar(body), tuple(plain.values()))
    if len(plain) > 1:
        variables = tuple(plain.values())
        return _scaled(coeff, ElementwiseMap(sp.Lambda(variables, rest), *plain))
    (matrix, d), = plain.items()
    if rest == d:
        return _scaled(coeff, matrix)
    if rest == sp.exp(d) and softmax_of(matrix) is not None:
        return _scaled(coeff, RowSoftmax(softmax_of(matrix)))
    return _scaled(coeff, ElementwiseApplyFunction(sp.Lambda(d, rest), matrix))


def _constant_factor(body, variables):
    """(c, rest) with body = c*rest, c free of ``variables``; a Piecewise whose values share
    the factor c gives it up too."""
    if isinstance(body, sp.Mul):
        return body.as_independent(*variables, as_Add=False)
    if isinstance(body, sp.Piecewise):
        parts = [v.as_independent(*variables, as_Add=False) if isinstance(v, sp.Mul)
                 else (sp.S.One, v) for v, _ in body.args]
        common = {c for (c, v) in parts if v != 0}
        if len(common) == 1 and common != {1}:
            c = common.pop()
            return c, sp.Piecewise(*[(v, cond) for (_, v), (_, cond) in zip(parts, body.args)])
    return sp.S.One, body


def _node(expr, args):
    if isinstance(expr, sp.Transpose):
        return transpose(args[0])
    if isinstance(expr, sp.MatAdd):
        return factored_sum(args)
    if isinstance(expr, sp.MatMul):
        return flat_product(args)
    if isinstance(expr, sp.HadamardProduct):
        return hadamard(args)
    if isinstance(expr, ElementwiseApplyFunction):
        return entrywise(*args)
    if isinstance(expr, ElementwiseMap):
        return entrywise(*args)
    return expr.func(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr


def _readable(expr, memo):
    out = memo.get(expr)
    if out is None:
        if not expr.args or isinstance(expr, (sp.Lambda, sp.MatrixBase, sp.MatrixSymbol)):
            out = expr
        else:
            out = _node(expr, [_readable(a, memo) for a in expr.args])
        memo[expr] = out
    return out


def present(expr, memo=None):
    """``expr`` as people read it: the rewrites above, bottom-up, in display classes
    (``ops.display``) that print as a textbook does."""
    memo = {} if memo is None else memo
    expr = sp.sympify(expr)
    if not isinstance(expr, MatrixExpr) and not expr.has(MatrixExpr):
        return readable_scalar(expr)
    return shown(_readable(expr, memo), memo.setdefault("display", {}))
