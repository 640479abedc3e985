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

    def call(self, fname: str) -> str:
        if self.name == "numpy":
            return fname
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

    def reduce(self, fname: str, text: str, axis: Optional[int] = None, keepdims: bool = False) -> str:
        parts = [text]
        if axis is not None:
            parts.append("%s=%d" % (self.axis, axis))
        if keepdims:
            parts.append("%s=True" % self.keepdims)
        return "%s(%s)" % (self.call(fname), ", ".join(parts))


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


_JAX_HELPERS = {
    "_sech2": '''def _sech2(u):
    """1/cosh(u)**2 without overflow (cosh(u)**2 is inf past |u| = 355, and 1/inf = 0 is right)."""
    c = jnp.cosh(u)
    return 1/(c*c)''',
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
}

_TORCH_HELPERS = {
    # torch's functions take tensors: numbers among the arguments are made tensors first
    "_maximum": '''def _maximum(a, b):
    return torch.maximum(torch.as_tensor(a), torch.as_tensor(b))''',
    "_minimum": '''def _minimum(a, b):
    return torch.minimum(torch.as_tensor(a), torch.as_tensor(b))''',
    "_heaviside": '''def _heaviside(x, h0):
    x = torch.as_tensor(x)
    return torch.heaviside(x, torch.as_tensor(h0, dtype=x.dtype))''',
    "_mean": '''def _mean(x):
    return torch.as_tensor(x, dtype=torch.float64).mean() if not torch.is_tensor(x) else x.mean()''',
    "_sech2": '''def _sech2(u):
    """1/cosh(u)**2 without overflow (cosh(u)**2 is inf past |u| = 355, and 1/inf = 0 is right)."""
    c = torch.cosh(u)
    return 1/(c*c)''',
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
}

# NumPy names whose PyTorch spelling is not torch.<same name>
_TORCH_NAMES = {
    "np.arcsin": "torch.asin", "np.arccos": "torch.acos", "np.arctan": "torch.atan",
    "np.arctan2": "torch.atan2", "np.arcsinh": "torch.asinh", "np.arccosh": "torch.acosh",
    "np.arctanh": "torch.atanh", "np.maximum": "_maximum", "np.minimum": "_minimum",
    "np.heaviside": "_heaviside", "np.mean": "_mean", "np.broadcast_to": "torch.broadcast_to",
    "np.linalg.inv": "torch.linalg.inv", "np.linalg.det": "torch.linalg.det",
    "special.expit": "torch.special.expit", "special.erf": "torch.special.erf",
    "special.erfc": "torch.special.erfc", "special.gammaln": "torch.special.gammaln",
    "special.xlogy": "torch.special.xlogy", "special.xlog1py": "torch.special.xlog1py", "special.psi": "torch.special.digamma",
    "special.polygamma": "torch.special.polygamma", "special.logit": "torch.special.logit",
    "special.erfcx": "torch.special.erfcx", "special.log_ndtr": "torch.special.log_ndtr",
    "special.ndtr": "torch.special.ndtr", "np.sinc": "torch.sinc", "np.pi": "torch.pi",
    "np.e": "torch.e", "np.inf": "torch.inf", "np.nan": "torch.nan",
}

BACKENDS = {
    "numpy": Backend("numpy", ("import numpy as np",), errstate=True,
                     special_header=("from scipy import special",)),
    "jax": Backend("jax", ("import jax", "import jax.numpy as jnp", "import jax.scipy.special as jsp"),
                   names={"special.psi": "jsp.digamma"}, helpers=_JAX_HELPERS,
                   prefixes=(("np.", "jnp."), ("special.", "jsp."))),
    "torch": Backend("torch", ("import torch",), names=_TORCH_NAMES, helpers=_TORCH_HELPERS,
                     prefixes=(("np.", "torch."),), axis="dim", keepdims="keepdim"),
}


def backend(name: str) -> Backend:
    """The backend called ``name`` ("numpy", "jax" or "torch")."""
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        raise ArgumentError("backend must be one of %s, got %r" % (", ".join(sorted(BACKENDS)), name)) \
            from None
