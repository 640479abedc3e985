"""Arrays in and out of code generated for JAX or PyTorch.

Arguments are validated as NumPy arrays first (shapes, sample counts, dtypes: the same
checks as for NumPy code), then handed to the backend's array type in the same dtype, so
float32 stays float32. Results come back as that backend's arrays, each gradient shaped
like its parameter.
"""

from __future__ import annotations

import importlib

import numpy as np

from ..errors import MissingDependency

__all__ = ["to_backend", "from_backend", "require"]

_MODULES = {"jax": "jax.numpy", "torch": "torch"}


def require(name: str):
    """The backend's array module, or MissingDependency saying what to install."""
    try:
        module = importlib.import_module(_MODULES[name])
    except ImportError:
        raise MissingDependency("backend=%r needs %s installed: pip install 'symgrad[%s]'"
                                % (name, name, name)) from None
    if name == "jax":
        import jax
        jax.config.update("jax_enable_x64", True)          # float64 stays float64
    return module


def to_backend(name: str, arrays: list) -> list:
    module = require(name)
    if name == "torch":
        # a copy only when not C-contiguous (np.ascontiguousarray would make a 0-d array 1-d)
        return [module.as_tensor(np.asarray(a) if np.asarray(a).flags.c_contiguous
                                 else np.array(a, order="C")) for a in arrays]
    return [module.asarray(a) for a in arrays]


def from_backend(name: str, value, shape=()):
    """A result shaped like its parameter (a scalar for the loss), in the backend's type."""
    module = require(name)
    shape = tuple(shape)
    if name == "torch":
        value = module.as_tensor(value)
        if tuple(value.shape) != shape:
            value = value.reshape(shape) if value.numel() == int(np.prod(shape)) else \
                value.expand(shape).clone()
        return value
    value = module.asarray(value)
    if tuple(value.shape) != shape:
        value = value.reshape(shape) if value.size == int(np.prod(shape)) else \
            module.broadcast_to(value, shape)
    return value
