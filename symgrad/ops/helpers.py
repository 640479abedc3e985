"""Helper functions the generated modules carry: stable or fused forms NumPy has no single
call for. A generated module includes only the helpers its code calls; each is plain NumPy."""

__all__ = ["HELPERS"]

HELPERS = {
    "_sech2": '''def _sech2(u, out=None):
    """1/cosh(u)**2, tanh's derivative with all its digits, in three passes and one array
    (``out``, which may be u itself, or a new one)."""
    with np.errstate(over="ignore"):     # cosh(u)**2 is inf past |u| = 355, and 1/inf = 0 is right
        c = np.cosh(u, out=out)
        if np.ndim(c) == 0:
            return 1/(c*c)
        np.multiply(c, c, out=c)
        return np.reciprocal(c, out=c)''',
    "_softplus": '''def _softplus(z):
    """log(1 + exp(z)) without overflow."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))''',
    "_logsumexp": '''def _logsumexp(*zs):
    """log(exp(z1) + ... + exp(zn)) with a max shift."""
    m = zs[0]
    for z in zs[1:]:
        m = np.maximum(m, z)
    if len(zs) == 2:
        return m + np.log1p(np.exp(-np.abs(zs[0] - zs[1])))
    return m + np.log(sum(np.exp(z - m) for z in zs))''',
    "_logdet": '''def _logdet(x):
    """log(det(x)) through slogdet; NaN where det(x) <= 0."""
    sign, logabsdet = np.linalg.slogdet(x)
    return np.where(sign > 0, logabsdet, np.nan)''',
    "_logsumexp_rows": '''def _logsumexp_rows(z):
    """log(sum(exp(z), axis=1)) with a max shift, as a column."""
    m = np.max(z, axis=1, keepdims=True)
    return m + np.log(np.sum(np.exp(z - m), axis=1, keepdims=True))''',
    "_log_softmax_rows": '''def _log_softmax_rows(z):
    """z - logsumexp(z, axis=1), without cancellation where one entry dominates its row."""
    top = np.argmax(z, axis=1)[:, None]
    m = np.take_along_axis(z, top, axis=1)
    e = np.exp(z - m)
    np.put_along_axis(e, top, 0, axis=1)
    return (z - m) - np.log1p(np.sum(e, axis=1, keepdims=True))''',
    "_log_softmax": '''def _log_softmax(k, *zs):
    """zs[k] - log(sum(exp(zs))), without cancellation when zs[k] dominates."""
    z = np.stack(np.broadcast_arrays(*zs))
    top = np.argmax(z, axis=0)[None]
    m = np.take_along_axis(z, top, axis=0)[0]
    e = np.exp(z - m)
    np.put_along_axis(e, top, 0, axis=0)
    return (zs[k] - m) - np.log1p(np.sum(e, axis=0))''',
    "_embed": '''def _embed(g, rows, cols, r0, r1, rs, c0, c1, cs):
    """A rows x cols array of zeros with g at [r0:r1:rs, c0:c1:cs] (the adjoint of a slice)."""
    out = np.zeros((rows, cols), dtype=np.result_type(g))
    out[r0:r1:rs, c0:c1:cs] = g
    return out''',
    "_softmax_rows": '''def _softmax_rows(z):
    """exp(z) / sum(exp(z), axis=1) with a max shift."""
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)''',
    "_tmatmul": '''def _tmatmul(a, b):
    """a.T @ b. When a has at least 4 times as many columns as b (and b 16 or more), BLAS is
    asked for the wide product (b.T @ a), returned transposed (a column-major view, the same
    numbers): OpenBLAS and MKL write a wide product faster than a tall one (X.T @ G at
    784 x 256 x 128: 0.78 ms against 0.90 ms on one thread)."""
    if a.shape[1] >= 4*b.shape[1] and b.shape[1] >= 16:
        return (b.T @ a).T
    return a.T @ b''',
}
