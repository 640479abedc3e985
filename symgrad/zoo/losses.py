"""Loss functions and regularizers, written as plain SymPy expressions you can print.

Per-sample form: the arguments are SymPy scalars (lists of scalars for the
losses between vectors: logits, embeddings, distributions); the result is one
sample's loss, which ``fit`` and ``value_and_grad`` average over 1-D data.
Batch form: the arguments are matrix expressions (symbolic dimensions are
fine), one sample per row; the result is a scalar: the mean over every entry
for elementwise losses, the mean over rows for row-wise ones. Stable forms are
used where the textbook form overflows (softplus, logsumexp).
"""

import sympy as sp

from ..errors import ArgumentError, ShapeMismatch
from ..graph.ir import dims_equal
from ..ops.nodes import AxisSum, Mean, RowLogSumExp, Sigmoid, Softplus, SumAll, XLogY, LogSumExp
from .regularizers import elastic_net, l1, l2  # noqa: F401  (part of this API)

__all__ = [
    "mse", "mae", "huber", "smooth_l1", "log_cosh", "quantile",
    "bce_with_logits", "binary_cross_entropy", "softmax_cross_entropy", "hinge", "squared_hinge",
    "focal", "kl_divergence", "poisson_nll", "gaussian_nll",
    "cosine_embedding", "contrastive", "triplet_margin",
    "l1", "l2", "elastic_net", "LOSSES",
]

_u = sp.Dummy("u", real=True)   # the bound variable of elementwise Lambdas


# --- helpers ------------------------------------------------------------------------

def _is_matrix(x):
    return getattr(x, "is_Matrix", False)


def _operands(name, *args):
    """Sympify the operands; say whether this is the batch form (all matrices, same shape)."""
    args = [sp.sympify(a) for a in args]
    kinds = {_is_matrix(a) for a in args}
    if len(kinds) > 1:
        raise ShapeMismatch("%s: mix of matrix and scalar arguments (%s); pass all scalars for the "
                            "per-sample form or all matrices for the batch form"
                            % (name, ", ".join(sp.sstr(a) for a in args)))
    if kinds == {True}:
        shape = args[0].shape
        for a in args[1:]:
            if not all(dims_equal(p, q) for p, q in zip(a.shape, shape)):
                raise ShapeMismatch("%s: %s has shape %s but %s has shape %s; pass matrices of one "
                                    "shape" % (name, args[0], shape, a, a.shape))
    return args, kinds == {True}


def _vectors(name, *vecs):
    """Sequences of scalars of one length (per-sample), or matrices with one sample per row."""
    if all(_is_matrix(sp.sympify(v)) if not isinstance(v, (list, tuple)) else False for v in vecs):
        return _operands(name, *vecs)
    out = []
    for v in vecs:
        if not isinstance(v, (list, tuple)) or not v:
            raise ArgumentError("%s: per-sample vectors are non-empty lists of scalars; got %r "
                                "(pass matrices, one sample per row, for the batch form)" % (name, v))
        out.append([sp.sympify(x) for x in v])
    if len({len(v) for v in out}) > 1:
        raise ShapeMismatch("%s: vectors of lengths %s; give every vector the same length"
                            % (name, [len(v) for v in out]))
    return out, False


def _positive(name, what, value, zero_ok=False):
    v = sp.sympify(value)
    if v.is_number and (v.is_negative or (v.is_zero and not zero_ok) or not v.is_finite):
        raise ArgumentError("%s: %s must be %s, got %s" % (name, what, "non-negative" if zero_ok
                                                            else "positive", value))
    return v


def _map(M, body):
    """Apply body(u) entry by entry (as ``M.applyfunc``)."""
    return M.applyfunc(sp.Lambda(_u, body(_u)))


_had = sp.HadamardProduct


def _of_residual(name, pred, target, f):
    (p, y), batch = _operands(name, pred, target)
    return Mean(_map(p - y, f)) if batch else f(p - y)


# --- regression ---------------------------------------------------------------------

def mse(pred: sp.Expr, target: sp.Expr) -> sp.Expr:
    """Squared error (pred - target)**2; batch form: the mean over every entry.

    >>> p, y = sp.symbols("p y")
    >>> mse(p, y)
    (p - y)**2
    """
    (p, y), batch = _operands("mse", pred, target)
    return Mean(_had(p - y, p - y)) if batch else (p - y)**2


def mae(pred: sp.Expr, target: sp.Expr) -> sp.Expr:
    """Absolute error |pred - target|; batch form: the mean over every entry.

    >>> p, y = sp.symbols("p y")
    >>> mae(p, y)
    Abs(p - y)
    """
    return _of_residual("mae", pred, target, sp.Abs)


def huber(pred: sp.Expr, target: sp.Expr, delta: "sp.Expr | float" = 1) -> sp.Expr:
    """Huber loss of r = pred - target: r**2/2 where |r| <= delta, else delta*(|r| - delta/2).

    >>> p, y = sp.symbols("p y")
    >>> huber(p, y, delta=2)
    Piecewise(((p - y)**2/2, Abs(p - y) <= 2), (2*Abs(p - y) - 2, True))
    """
    d = _positive("huber", "delta", delta)
    return _of_residual("huber", pred, target, lambda r: sp.Piecewise(
        (r**2 / 2, sp.Abs(r) <= d), (d * (sp.Abs(r) - d / 2), True)))


def smooth_l1(pred: sp.Expr, target: sp.Expr, beta: "sp.Expr | float" = 1) -> sp.Expr:
    """Smooth L1 of r = pred - target: r**2/(2 beta) where |r| < beta, else |r| - beta/2.

    >>> p, y = sp.symbols("p y")
    >>> smooth_l1(p, y)
    Piecewise(((p - y)**2/2, Abs(p - y) < 1), (Abs(p - y) - 1/2, True))
    """
    b = _positive("smooth_l1", "beta", beta)
    return _of_residual("smooth_l1", pred, target, lambda r: sp.Piecewise(
        (r**2 / (2 * b), sp.Abs(r) < b), (sp.Abs(r) - b / 2, True)))


def log_cosh(pred: sp.Expr, target: sp.Expr) -> sp.Expr:
    """log(cosh(r)) of r = pred - target; the generated code neither overflows for large
    |r| nor loses digits near r = 0 (see ``rewrite.log_cosh``).

    >>> p, y = sp.symbols("p y")
    >>> log_cosh(p, y)
    log(cosh(p - y))
    """
    return _of_residual("log_cosh", pred, target, lambda r: sp.log(sp.cosh(r)))


def quantile(pred: sp.Expr, target: sp.Expr, q: "sp.Expr | float" = sp.Rational(1, 2)) -> sp.Expr:
    """Pinball loss at quantile q in (0, 1): max(q r, (q - 1) r) with r = target - pred.

    >>> p, y = sp.symbols("p y")
    >>> quantile(p, y, q=sp.Rational(9, 10))
    Max(-9*p/10 + 9*y/10, p/10 - y/10)
    """
    q = sp.sympify(q)
    if q.is_number and not (0 < q < 1):
        raise ArgumentError("quantile: q must lie strictly between 0 and 1, got %s" % q)
    return _of_residual("quantile", target, pred, lambda r: sp.Max(q * r, (q - 1) * r))


def poisson_nll(log_rate: sp.Expr, target: sp.Expr, full: bool = False) -> sp.Expr:
    """Poisson negative log-likelihood with a log-rate input z: exp(z) - y z (+ log y! if full).

    >>> z, y = sp.symbols("z y")
    >>> poisson_nll(z, y)
    -y*z + exp(z)
    """
    (z, y), batch = _operands("poisson_nll", log_rate, target)
    if batch:
        out = _map(z, sp.exp) - _had(y, z)
        return Mean(out + _map(y, lambda t: sp.loggamma(t + 1)) if full else out)
    return sp.exp(z) - y * z + (sp.loggamma(y + 1) if full else 0)


def gaussian_nll(mean: sp.Expr, target: sp.Expr, var: sp.Expr, full: bool = False) -> sp.Expr:
    """Gaussian negative log-likelihood: (log var + (target - mean)**2 / var)/2 (+ log(2 pi)/2 if full).

    ``var`` is a scalar, or (batch form) a matrix shaped like ``mean`` or a scalar shared by all.

    >>> m, y, v = sp.symbols("m y v")
    >>> gaussian_nll(m, y, v)
    log(v)/2 + (-m + y)**2/(2*v)
    """
    const = sp.log(2 * sp.pi) / 2 if full else 0
    if _is_matrix(sp.sympify(mean)) and not _is_matrix(sp.sympify(var)):
        (m, y), _ = _operands("gaussian_nll", mean, target)
        v = sp.sympify(var)
        return sp.log(v) / 2 + Mean(_had(y - m, y - m)) / (2 * v) + const
    (m, y, v), batch = _operands("gaussian_nll", mean, target, var)
    if batch:
        return Mean(_map(v, sp.log) + _had(y - m, y - m, _map(v, lambda t: 1 / t))) / 2 + const
    return (sp.log(v) + (y - m)**2 / v) / 2 + const


# --- classification -----------------------------------------------------------------

def bce_with_logits(logit: sp.Expr, target: sp.Expr) -> sp.Expr:
    """Binary cross-entropy from a logit z and a target y in [0, 1]: softplus(z) - y z.

    Equal to -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))), and to TensorFlow's
    ``sigmoid_cross_entropy_with_logits``, without overflow for large |z|.

    >>> z, y = sp.symbols("z y")
    >>> bce_with_logits(z, y)
    -y*z + Softplus(z)
    """
    (z, y), batch = _operands("bce_with_logits", logit, target)
    return Mean(_map(z, Softplus) - _had(y, z)) if batch else Softplus(z) - y * z


def binary_cross_entropy(prob: sp.Expr, target: sp.Expr) -> sp.Expr:
    """Cross-entropy of a probability p in (0, 1): -(y log p + (1 - y) log(1 - p)).

    Prefer ``bce_with_logits`` when p = sigmoid(z): it does not lose precision near 0 and 1.

    >>> p, y = sp.symbols("p y")
    >>> binary_cross_entropy(p, y)
    -y*log(p) - (1 - y)*log(1 - p)
    """
    (p, y), batch = _operands("binary_cross_entropy", prob, target)
    if batch:
        log_q = _map(p, lambda t: sp.log(1 - t))
        return Mean(_had(y, log_q) - log_q - _had(y, _map(p, sp.log)))
    return -y * sp.log(p) - (1 - y) * sp.log(1 - p)


def softmax_cross_entropy(logits: sp.Expr, target: sp.Expr) -> sp.Expr:
    """Cross-entropy of softmax(logits) against a target distribution y (one-hot or soft).

    Per sample: sum_i y_i (logsumexp(z) - z_i), with lists of k logits and k targets.
    Batch: Z and Y are n x k; the mean over rows of RowLogSumExp(Z)*rowsum(Y) - rowsum(Y∘Z).

    >>> z1, z2, y1, y2 = sp.symbols("z1 z2 y1 y2")
    >>> softmax_cross_entropy([z1, z2], [y1, y2])
    y1*(-z1 + LogSumExp(z1, z2)) + y2*(-z2 + LogSumExp(z1, z2))
    """
    (z, y), batch = _vectors("softmax_cross_entropy", logits, target)
    if batch:
        return Mean(_had(RowLogSumExp(z), AxisSum(y, 1)) - AxisSum(_had(y, z), 1))
    lse = LogSumExp(*z)
    return sp.Add(*[t * (lse - zi) for zi, t in zip(z, y)])


def _hinge(name, score, target, margin, power):
    (s, y), batch = _operands(name, score, target)
    f = lambda t: sp.Max(0, sp.sympify(margin) - t)**power  # noqa: E731
    return Mean(_map(_had(y, s), f)) if batch else f(y * s)


def hinge(score: sp.Expr, target: sp.Expr, margin: "sp.Expr | float" = 1) -> sp.Expr:
    """Hinge loss of a score s and a label y in {-1, +1}: max(0, margin - y s).

    >>> s, y = sp.symbols("s y")
    >>> hinge(s, y)
    Max(0, -s*y + 1)
    """
    return _hinge("hinge", score, target, margin, 1)


def squared_hinge(score: sp.Expr, target: sp.Expr, margin: "sp.Expr | float" = 1) -> sp.Expr:
    """Squared hinge loss: max(0, margin - y s)**2 with y in {-1, +1}.

    >>> s, y = sp.symbols("s y")
    >>> squared_hinge(s, y)
    Max(0, -s*y + 1)**2
    """
    return _hinge("squared_hinge", score, target, margin, 2)


def focal(logit: sp.Expr, target: sp.Expr, gamma: "sp.Expr | float" = 2,
          alpha: "sp.Expr | float | None" = None) -> sp.Expr:
    """Binary focal loss from a logit z (Lin et al. 2017), target y in {0, 1}.

    y sigmoid(-z)**gamma softplus(-z) + (1 - y) sigmoid(z)**gamma softplus(z): the
    cross-entropy -log p_t weighted by (1 - p_t)**gamma; with ``alpha`` the positive
    term is weighted by alpha and the negative one by 1 - alpha.

    >>> z, y = sp.symbols("z y")
    >>> focal(z, y, gamma=2)
    y*Sigmoid(-z)**2*Softplus(-z) + (1 - y)*Sigmoid(z)**2*Softplus(z)
    """
    g = _positive("focal", "gamma", gamma, zero_ok=True)
    a_pos, a_neg = (1, 1) if alpha is None else (sp.sympify(alpha), 1 - sp.sympify(alpha))
    pos = lambda t: a_pos * Sigmoid(-t)**g * Softplus(-t)  # noqa: E731
    neg = lambda t: a_neg * Sigmoid(t)**g * Softplus(t)    # noqa: E731
    (z, y), batch = _operands("focal", logit, target)
    if batch:
        n = _map(z, neg)
        return Mean(_had(y, _map(z, pos)) + n - _had(y, n))
    return y * pos(z) + (1 - y) * neg(z)


def kl_divergence(p: sp.Expr, q: sp.Expr) -> sp.Expr:
    """Kullback-Leibler divergence KL(p || q) = sum_i p_i log(p_i / q_i), with 0 log 0 = 0.

    Per sample: lists of k probabilities. Batch: n x k matrices, one distribution per
    row; the sum over entries divided by n (PyTorch's ``batchmean``).

    >>> p1, p2, q1, q2 = sp.symbols("p1 p2 q1 q2")
    >>> kl_divergence([p1, p2], [q1, q2])
    XLogY(p1, p1) - XLogY(p1, q1) + XLogY(p2, p2) - XLogY(p2, q2)
    """
    (p, q), batch = _vectors("kl_divergence", p, q)
    if batch:
        return (SumAll(_map(p, lambda t: XLogY(t, t))) - SumAll(_had(p, _map(q, sp.log)))) / p.shape[0]
    return sp.Add(*[XLogY(a, a) - XLogY(a, b) for a, b in zip(p, q)])


# --- embeddings -----------------------------------------------------------------------

def _sq_dist(a, b, batch):
    if batch:
        return AxisSum(_had(a - b, a - b), 1)
    return sp.Add(*[(x - y)**2 for x, y in zip(a, b)])


def cosine_embedding(a: sp.Expr, b: sp.Expr, target: sp.Expr,
                     margin: "sp.Expr | float" = 0) -> sp.Expr:
    """Cosine embedding loss: 1 - cos(a, b) for y = 1, max(0, cos(a, b) - margin) for y = -1.

    Written (1 + y)/2 (1 - cos) + (1 - y)/2 max(0, cos - margin), exact for y = ±1.
    Per sample: a, b lists of d scalars, y a scalar. Batch: A, B n x d, Y n x 1.

    >>> a1, a2, b1, b2, y = sp.symbols("a1 a2 b1 b2 y")
    >>> cosine_embedding([a1, a2], [b1, b2], y).has(sp.Max)
    True
    """
    (a, b), batch = _vectors("cosine_embedding", a, b)
    m = sp.sympify(margin)
    if batch:
        (y,), _ = _operands("cosine_embedding", target)
        norms = _had(AxisSum(_had(a, a), 1), AxisSum(_had(b, b), 1))
        cos = _had(AxisSum(_had(a, b), 1), _map(norms, lambda t: 1 / sp.sqrt(t)))
        return Mean(_had(_map(y, lambda t: (1 + t) / 2), _map(cos, lambda c: 1 - c))
                    + _had(_map(y, lambda t: (1 - t) / 2), _map(cos, lambda c: sp.Max(0, c - m))))
    y = sp.sympify(target)
    dot = sp.Add(*[x * z for x, z in zip(a, b)])
    cos = dot / sp.sqrt(sp.Add(*[x**2 for x in a]) * sp.Add(*[z**2 for z in b]))
    return (1 + y) / 2 * (1 - cos) + (1 - y) / 2 * sp.Max(0, cos - m)


def contrastive(a: sp.Expr, b: sp.Expr, target: sp.Expr, margin: "sp.Expr | float" = 1) -> sp.Expr:
    """Contrastive loss (Hadsell et al. 2006) with d = |a - b| and y = 1 for a similar pair.

    y d**2/2 + (1 - y) max(0, margin - d)**2/2. Per sample: a, b lists of d scalars.
    Batch: A, B n x d, Y n x 1; the mean over rows.

    >>> a1, b1, y = sp.symbols("a1 b1 y")
    >>> contrastive([a1], [b1], y)
    y*(a1 - b1)**2/2 + (1 - y)*Max(0, 1 - sqrt((a1 - b1)**2))**2/2
    """
    (a, b), batch = _vectors("contrastive", a, b)
    m = _positive("contrastive", "margin", margin)
    far = lambda s: sp.Max(0, m - sp.sqrt(s))**2 / 2  # noqa: E731
    s = _sq_dist(a, b, batch)
    if batch:
        (y,), _ = _operands("contrastive", target)
        f = _map(s, far)
        return Mean(_had(y, s) / 2 + f - _had(y, f))
    y = sp.sympify(target)
    return y * s / 2 + (1 - y) * far(s)


def triplet_margin(anchor: sp.Expr, positive: sp.Expr, negative: sp.Expr,
                   margin: "sp.Expr | float" = 1) -> sp.Expr:
    """Triplet margin loss: max(0, |a - p| - |a - n| + margin), Euclidean distances.

    Per sample: three lists of d scalars. Batch: three n x d matrices; the mean over rows.

    >>> a, p, n = sp.symbols("a p n")
    >>> triplet_margin([a], [p], [n])
    Max(0, -sqrt((a - n)**2) + sqrt((a - p)**2) + 1)
    """
    (a, p, n), batch = _vectors("triplet_margin", anchor, positive, negative)
    m = sp.sympify(margin)
    if batch:
        dp, dn = _map(_sq_dist(a, p, True), sp.sqrt), _map(_sq_dist(a, n, True), sp.sqrt)
        return Mean(_map(dp - dn, lambda t: sp.Max(0, t + m)))
    return sp.Max(0, sp.sqrt(_sq_dist(a, p, False)) - sp.sqrt(_sq_dist(a, n, False)) + m)


LOSSES = {f.__name__: f for f in (
    mse, mae, huber, smooth_l1, log_cosh, quantile, poisson_nll, gaussian_nll,
    bce_with_logits, binary_cross_entropy, softmax_cross_entropy, hinge, squared_hinge, focal,
    kl_divergence, cosine_embedding, contrastive, triplet_margin)}
