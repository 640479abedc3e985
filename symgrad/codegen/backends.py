"""The array libraries generated code can target: NumPy (default), JAX and PyTorch.

The op registry states each op's NumPy function (``np.exp``, ``special.expit``, a helper
such as ``_softplus``). A backend translates that NumPy vocabulary into its own library's
(``jnp.exp``, ``torch.special.expit``), supplies its own versions of the helpers, and
prints the few structural calls codegen writes itself (sums over an axis, broadcasts,
identities). A NumPy name a backend cannot translate is refused at generation time,
naming the op and the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from ..errors import ArgumentError, UnsupportedExpression
from ..ops.helpers import HELPERS

__all__ = ["Backend", "backend", "BACKENDS"]


@dataclass(frozen=True)
class Backend:
    """How one array library spells what the generated code needs."""

    name: str
    header: tuple                       # import lines of the generated module
    names: Dict[str, str] = field(default_factory=dict)      # NumPy name -> this library's
    helpers: Dict[str, str] = field(default_factory=dict)    # helper name -> source
    prefixes: tuple = ()                # (NumPy prefix, this library's prefix), tried in order
    errstate: bool = False              # supports np.errstate blocks
    axis: str = "axis"                  # keyword of a reduction's axis
    keepdims: str = "keepdims"
    special_header: tuple = ()          # extra import when scipy.special names are used
    refused: Dict[str, str] = field(default_factory=dict)    # NumPy name -> why not translated
    left_transposed: str = ""           # helper printed for A.T @ B ("" : A.T @ B as written)

    def call(self, fname: str) -> str:
        if self.name == "numpy":
            return fname
        if fname in self.refused:
            raise UnsupportedExpression("%s is not translated for symgrad's %s backend: %s; use the "
                                        "numpy backend for this expression"
                                        % (fname, self.name, self.refused[fname]))
        if fname in self.names:
            return self.names[fname]
        if fname in HELPERS and fname in self.helpers:
            return fname
        for numpy_prefix, prefix in self.prefixes:
            if fname.startswith(numpy_prefix) and _exists(self.name, prefix + fname[len(numpy_prefix):]):
                return prefix + fname[len(numpy_prefix):]
        raise UnsupportedExpression("%s has no %s translation in symgrad's %s backend; use the "
                                    "numpy backend for this expression" % (fname, self.name, self.name))

    def helper(self, name: str) -> str:
        if self.name == "numpy":
            return HELPERS[name]
        if name in self.helpers:
            return self.helpers[name]
        if HELPERS.get(name, "").startswith("from symgrad.ops.user import implementation"):
            return HELPERS[name]        # a registered function: its NumPy implementation
        raise UnsupportedExpression("the %s backend has no version of helper %s" % (self.name, name))

    def broadcast(self, text: str, shape: str, like: str) -> str:
        """``text`` broadcast to ``shape``; torch's takes the dtype of the array named ``like``
        (a number alone would become a float64 or float32 tensor, whatever the arguments are)."""
        if self.name == "torch":
            return "_broadcast_to(%s, %s, %s)" % (text, shape, like)
        if self.name == "numpy" and _is_number(text):        # float32 arguments stay float32
            text = "np.asarray(%s, %s.dtype)" % (text, like)
        return "%s(%s, %s)" % (self.call("np.broadcast_to"), text, shape)

    def reduce(self, fname: str, text: str, axis: Optional[int] = None, keepdims: bool = False) -> str:
        parts = [text]
        if axis is not None:
            parts.append("%s=%d" % (self.axis, axis))
        if keepdims:
            parts.append("%s=True" % self.keepdims)
        return "%s(%s)" % (self.call(fname), ", ".join(parts))


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


_ROOTS = {"jnp": "jax.numpy", "jsp": "jax.scipy.special", "torch": "torch"}


def _exists(backend_name, dotted):
    """Whether the library has the function (checked when it is installed; otherwise the
    generated code names it and fails on import, which value_and_grad reports)."""
    import importlib
    root, *path = dotted.split(".")
    try:
        obj = importlib.import_module(_ROOTS[root])
    except (ImportError, KeyError):
        return True
    for part in path:
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    return True


# j1(x) = sum_k (-1)^k 2(k+1) x^(2k+1) / (2k+3)!: nine terms reach float64's last digit for |x| < 1
_J1_DENOMINATORS = (3, -30, 840, -45360, 3991680, -518918400, 93405312000, -22230464256000,
                    6758061133824000)


def _spherical_jn(lib, ones, name="_spherical_jn"):
    """A helper for scipy's spherical_jn of order 1 (sinc's derivative is -j1): the series where
    |x| < 1, where (sin x/x - cos x)/x cancels, and that quotient elsewhere (no x*x to overflow).
    The quotient reads a safe x (1 where the series is selected), so neither branch makes NaN,
    nor a NaN gradient under autodiff."""
    series = "1/%d" % _J1_DENOMINATORS[-1]
    for d in reversed(_J1_DENOMINATORS[:-1]):
        series = "1/%d + x2*(%s)" % (d, series)
    return f'''def {name}(n, x):
    """The spherical Bessel function j_n for n = 1, stable at 0, near 0 and far out."""
    if n != 1:
        raise ValueError("symgrad's {lib} spherical_jn has order 1 only")
    small = {lib}.abs(x) < 1
    z = {lib}.where(small, {ones}, x)
    x2 = x*x
    return {lib}.where(small, x*({series}), ({lib}.sin(z)/z - {lib}.cos(z))/z)'''


def _exprel(lib):
    """scipy's exprel, (e^x - 1)/x with 1 at 0, from expm1 (no cancellation anywhere)."""
    return f'''def _exprel(x):
    """(exp(x) - 1)/x, 1 at x = 0; expm1 keeps every digit near 0."""
    z = {lib}.where(x == 0, 1.0, x)
    return {lib}.where(x == 0, 1.0, {lib}.expm1(z)/z)'''


def _xlogy(lib):
    """scipy's xlogy with the safe-where pattern: the log reads 1 where x = 0, so autodiff
    through the generated code gives 0, not 0/0 (jax's and torch's own xlogy give NaN there)."""
    return f'''def _xlogy(x, y):
    """x*log(y), 0 where x = 0; the log never sees the y of an unselected entry."""
    zero = x == 0
    return {lib}.where(zero, 0.0, x*{lib}.log({lib}.where(zero, 1.0, y)))'''


_JAX_HELPERS = {
    "_xlogy": _xlogy("jnp"),
    # jnp.sinc's own derivative is a cancelling quotient near 0 (at 1e-8 it has the wrong sign):
    # the generated value code stays differentiable by JAX with sinc's stable slope
    "_sinc": _spherical_jn("jnp", "1.0", "_sinc_j1") + '''


@jax.custom_jvp
def _sinc(u):
    """sin(pi u)/(pi u), 1 at 0 (np.sinc), whose derivative JAX takes from -pi j1(pi u)."""
    return jnp.sinc(u)


@_sinc.defjvp
def _sinc_jvp(primals, tangents):
    (u,), (du,) = primals, tangents
    return _sinc(u), -jnp.pi*_sinc_j1(1, jnp.pi*u)*du''',
    "_exprel": _exprel("jnp"),
    "_spherical_jn": _spherical_jn("jnp", "1.0"),
    "_tmatmul": '''def _tmatmul(a, b):
    """a.T @ b. XLA on CPU folds a transpose into the product and then multiplies with a
    kernel about half as fast as for row-major factors (784 x 256 x 128: 2.1 ms against
    0.9 ms), so a.T is first copied when b is wide enough (8 columns) to repay the copy."""
    if jax.default_backend() == "cpu" and b.ndim == 2 and b.shape[1] >= 8:
        return jax.lax.optimization_barrier(a.T) @ b
    return a.T @ b''',
    "_sech2": '''def _sech2(u):
    """1/cosh(u)**2 = 4e/(1 + e)**2 with e = exp(-2|u|) <= 1: one exponential, no overflow."""
    e = jnp.exp(-2*jnp.abs(u))
    return 4*e/((1 + e)*(1 + e))''',
    "_softplus": '''def _softplus(z):
    """log(1 + exp(z)) without overflow."""
    return jnp.logaddexp(0, z)''',
    "_logsumexp": '''def _logsumexp(*zs):
    """log(exp(z1) + ... + exp(zn)) with a max shift."""
    return jsp.logsumexp(jnp.stack(jnp.broadcast_arrays(*zs)), axis=0)''',
    "_logdet": '''def _logdet(x):
    """log(det(x)) through slogdet; NaN where det(x) <= 0."""
    sign, logabsdet = jnp.linalg.slogdet(x)
    return jnp.where(sign > 0, logabsdet, jnp.nan)''',
    "_logsumexp_rows": '''def _logsumexp_rows(z):
    """log(sum(exp(z), axis=1)) with a max shift, as a column."""
    return jsp.logsumexp(z, axis=1, keepdims=True)''',
    "_log_softmax_rows": '''def _log_softmax_rows(z):
    """z - logsumexp(z, axis=1)."""
    return jax.nn.log_softmax(z, axis=1)''',
    "_log_softmax": '''def _log_softmax(k, *zs):
    """zs[k] - log(sum(exp(zs)))."""
    return jax.nn.log_softmax(jnp.stack(jnp.broadcast_arrays(*zs)), axis=0)[k]''',
    "_softmax_rows": '''def _softmax_rows(z):
    """exp(z) / sum(exp(z), axis=1) with a max shift."""
    return jax.nn.softmax(z, axis=1)''',
    "_embed": '''def _embed(g, rows, cols, r0, r1, rs, c0, c1, cs):
    """A rows x cols array of zeros with g at [r0:r1:rs, c0:c1:cs] (the adjoint of a slice)."""
    return jnp.zeros((rows, cols), jnp.result_type(g)).at[r0:r1:rs, c0:c1:cs].set(g)''',
}

_TORCH_HELPERS = {
    "_xlogy": '''def _xlogy(x, y):
    """x*log(y), 0 where x = 0; the log never sees the y of an unselected entry."""
    like = x if torch.is_tensor(x) else y
    x, y = (v if torch.is_tensor(v) else torch.tensor(v, dtype=like.dtype) for v in (x, y))
    zero = x == 0
    return torch.where(zero, 0.0, x*torch.log(torch.where(zero, 1.0, y)))''',
    "_exprel": _exprel("torch"),
    "_tmatmul": HELPERS["_tmatmul"].replace("OpenBLAS and MKL write", "MKL writes"),
    "_spherical_jn": _spherical_jn("torch", "torch.ones_like(x)"),
    # torch's functions take tensors: numbers among the arguments are made tensors first
    "_maximum": '''def _maximum(a, b):
    return torch.maximum(torch.as_tensor(a), torch.as_tensor(b))''',
    "_minimum": '''def _minimum(a, b):
    return torch.minimum(torch.as_tensor(a), torch.as_tensor(b))''',
    "_hypot": '''def _hypot(a, b):
    """sqrt(a**2 + b**2) without overflow; a number takes the dtype of the tensor."""
    like = a if torch.is_tensor(a) else b
    dtype = like.dtype if torch.is_tensor(like) else torch.float64
    return torch.hypot(torch.as_tensor(a, dtype=dtype), torch.as_tensor(b, dtype=dtype))''',
    "_heaviside": '''def _heaviside(x, h0):
    x = torch.as_tensor(x)
    return torch.heaviside(x, torch.as_tensor(h0, dtype=x.dtype))''',
    "_broadcast_to": '''def _broadcast_to(x, shape, like):
    """x broadcast to shape; a number becomes a tensor of like's dtype (float64 if like is none)."""
    dtype = like.dtype if torch.is_tensor(like) else torch.float64
    return torch.broadcast_to(x if torch.is_tensor(x) else torch.tensor(x, dtype=dtype), shape)''',
    "_mean": '''def _mean(x):
    return torch.as_tensor(x, dtype=torch.float64).mean() if not torch.is_tensor(x) else x.mean()''',
    "_sech2": '''def _sech2(u, out=None):
    """1/cosh(u)**2 = 4 s (1 - s) with s = sigmoid(-2|u|) <= 1/2: s is computed directly and
    1 - s >= 1/2 cancels nothing; no overflow, and vectorized (torch's cosh is not: 100 us
    against 16 us for exp on 256 x 128). In ``out`` (which may be u) or a new tensor, in place
    unless autograd is watching u."""
    if u.is_complex():                   # off the real line: the definition
        return torch.reciprocal(torch.cosh(u)**2, out=out)
    s = torch.abs(u, out=out).mul_(-2).sigmoid_()
    if s.requires_grad:
        return 4*s*(1 - s)
    return s.addcmul_(s, s, value=-1).mul_(4)''',
    "_softplus": '''def _softplus(z):
    """log(1 + exp(z)) without overflow."""
    return torch.logaddexp(torch.zeros_like(z), z)''',
    "_logsumexp": '''def _logsumexp(*zs):
    """log(exp(z1) + ... + exp(zn)) with a max shift."""
    return torch.logsumexp(torch.stack(torch.broadcast_tensors(*map(torch.as_tensor, zs))), dim=0)''',
    "_logdet": '''def _logdet(x):
    """log(det(x)) through slogdet; NaN where det(x) <= 0."""
    sign, logabsdet = torch.linalg.slogdet(x)
    return torch.where(sign > 0, logabsdet, torch.full_like(logabsdet, float("nan")))''',
    "_logsumexp_rows": '''def _logsumexp_rows(z):
    """log(sum(exp(z), axis=1)) with a max shift, as a column."""
    return torch.logsumexp(z, dim=1, keepdim=True)''',
    "_log_softmax_rows": '''def _log_softmax_rows(z):
    """z - logsumexp(z, axis=1)."""
    return torch.log_softmax(z, dim=1)''',
    "_log_softmax": '''def _log_softmax(k, *zs):
    """zs[k] - log(sum(exp(zs)))."""
    return torch.log_softmax(torch.stack(torch.broadcast_tensors(*map(torch.as_tensor, zs))), dim=0)[k]''',
    "_softmax_rows": '''def _softmax_rows(z):
    """exp(z) / sum(exp(z), axis=1) with a max shift."""
    return torch.softmax(z, dim=1)''',
    "_embed": '''def _embed(g, rows, cols, r0, r1, rs, c0, c1, cs):
    """A rows x cols tensor of zeros with g at [r0:r1:rs, c0:c1:cs] (the adjoint of a slice)."""
    out = torch.zeros((rows, cols), dtype=g.dtype, device=g.device)
    out[r0:r1:rs, c0:c1:cs] = g
    return out''',
}

# NumPy names whose PyTorch spelling is not torch.<same name>
_TORCH_NAMES = {
    "np.arcsin": "torch.asin", "np.arccos": "torch.acos", "np.arctan": "torch.atan",
    "np.arctan2": "torch.atan2", "np.arcsinh": "torch.asinh", "np.arccosh": "torch.acosh",
    "np.arctanh": "torch.atanh", "np.maximum": "_maximum", "np.minimum": "_minimum", "np.hypot": "_hypot",
    "np.heaviside": "_heaviside", "np.mean": "_mean", "np.broadcast_to": "torch.broadcast_to",
    "np.linalg.inv": "torch.linalg.inv", "np.linalg.det": "torch.linalg.det",
    "special.expit": "torch.special.expit", "special.erf": "torch.special.erf",
    "special.erfc": "torch.special.erfc", "special.gammaln": "torch.special.gammaln",
    "special.xlogy": "_xlogy", "special.xlog1py": "torch.special.xlog1py",
    "special.psi": "torch.special.digamma",
    "special.polygamma": "torch.special.polygamma", "special.logit": "torch.special.logit",
    "special.erfcx": "torch.special.erfcx", "special.log_ndtr": "torch.special.log_ndtr",
    "special.ndtr": "torch.special.ndtr", "np.sinc": "torch.sinc", "np.pi": "torch.pi",
    "np.e": "torch.e", "np.inf": "torch.inf", "np.nan": "torch.nan",
    "special.spherical_jn": "_spherical_jn", "special.exprel": "_exprel",
    "np.concatenate": "torch.cat",
}

BACKENDS = {
    "numpy": Backend("numpy", ("import numpy as np",), errstate=True, left_transposed="_tmatmul",
                     special_header=("from scipy import special",)),
    "jax": Backend("jax", ("import jax", "import jax.numpy as jnp", "import jax.scipy.special as jsp"),
                   names={"special.psi": "jsp.digamma", "special.spherical_jn": "_spherical_jn",
                          "special.exprel": "_exprel", "special.xlogy": "_xlogy",
                          "np.sinc": "_sinc"},
                   helpers=_JAX_HELPERS,
                   left_transposed="_tmatmul",
                   refused={"special.hyp1f1": "jax.scipy.special.hyp1f1(2, 3, -50) is 4.8, not "
                                              "0.0008 (its series fails for negative arguments)"},
                   prefixes=(("np.", "jnp."), ("special.", "jsp."))),
    "torch": Backend("torch", ("import torch",), names=_TORCH_NAMES, helpers=_TORCH_HELPERS,
                     left_transposed="_tmatmul",
                     prefixes=(("np.", "torch."),), axis="dim", keepdims="keepdim"),
}


def backend(name: str) -> Backend:
    """The backend called ``name`` ("numpy", "jax" or "torch")."""
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        raise ArgumentError("backend must be one of %s, got %r" % (", ".join(sorted(BACKENDS)), name)) \
            from None
