"""Ready-made models as SymPy matrix expressions with symbolic dimensions.

Each constructor returns a :class:`Model`: the output expression (a prediction,
or logits for the classifiers), the parameters (MatrixSymbols, in layer order),
the input and target data symbols, a default loss, and two NumPy helpers:
``init`` draws parameter arrays for concrete sizes, ``predict`` runs the model
through code symgrad generates for its output (``compile_expression``), so a
prediction is computed by the same printer, in the same stable forms, as the
gradients ``fit`` trains with.

Shapes: X is n x d (one sample per row), a layer's weight W is fan_in x fan_out,
its bias b is 1 x fan_out and broadcasts over the rows as ``OneMatrix(n, 1)*b``.
Y is n x k. With ``scalar=True`` the linear and logistic models are written
with plain Symbols instead (w*x + b), the per-sample form of the article.

>>> m = linear_regression()
>>> m.output
X*W + 1*b
>>> [p.shape for p in m.params]
[(d, 1), (1, 1)]
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

from . import losses
from ..errors import ArgumentError
from ..ops.nodes import Sigmoid, Softplus
from ..pipeline.function import CompiledExpression, compile_expression

__all__ = ["Model", "linear_regression", "logistic_regression", "softmax_regression", "mlp",
           "ACTIVATIONS"]

n, d, k = sp.symbols("n d k", integer=True, positive=True)
_u = sp.Dummy("u", real=True)

# name -> the SymPy function of a scalar (the NumPy code is generated from it)
ACTIVATIONS = {
    "tanh": sp.tanh,
    "sigmoid": Sigmoid,
    "relu": lambda t: sp.Max(t, 0),
    "softplus": Softplus,
    "identity": lambda t: t,
}


@dataclass(frozen=True)
class Model:
    """A model: ``output`` and ``loss`` expressions, ``params``, ``inputs`` and ``target``.

    ``layers`` is a tuple of (W, b, activation name) used by ``init`` and ``predict``;
    for a scalar model it is ((weights tuple, b, "identity"),).
    """

    name: str
    output: object
    loss: object
    params: tuple
    inputs: tuple
    target: object
    layers: tuple
    scalar: bool = False

    @property
    def data(self) -> tuple:
        """The data symbols, inputs then target (the keys of ``fit``'s ``data``)."""
        return self.inputs + (self.target,)

    def init(self, sizes: dict | None = None, seed: int = 0) -> dict:
        """Parameter arrays for concrete sizes: Glorot-uniform weights, zero biases.

        ``sizes`` maps dimension symbols (or their names) to ints, for every
        symbolic width of a parameter (``n`` is not needed). Scalar models
        get floats. Returns {parameter: value}, ready for ``fit(params=...)``.

        >>> m = mlp([d, 3, 1])
        >>> {str(p): v.shape for p, v in m.init({"d": 2}).items()}
        {'W1': (2, 3), 'b1': (1, 3), 'W2': (3, 1), 'b2': (1, 1)}
        """
        rng = np.random.default_rng(seed)
        if self.scalar:
            weights, b, _ = self.layers[0]
            limit = np.sqrt(6.0 / (len(weights) + 1))
            out = {w: float(rng.uniform(-limit, limit)) for w in weights}
            out[b] = 0.0
            return out
        table = _sizes(sizes)
        out = {}
        for W, b, act in self.layers:
            fan_in, fan_out = (_size(s, table, W) for s in W.shape)
            if act == "relu":
                out[W] = rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
            else:
                limit = np.sqrt(6.0 / (fan_in + fan_out))
                out[W] = rng.uniform(-limit, limit, (fan_in, fan_out))
            out[b] = np.zeros((1, fan_out))
        return out

    def predict(self, values: dict, X: "np.ndarray | list") -> np.ndarray:
        """The model's output (logits for classifiers) for inputs X (n x d), in NumPy.

        ``values`` maps each parameter (or its name) to its value, e.g. ``fit(...).params``.
        Returns n outputs (an n x k array for a matrix model).

        >>> m = linear_regression(scalar=True)
        >>> w, b = m.params
        >>> m.predict({w: 2.0, b: 1.0}, [1.0, 2.0])
        array([3., 5.])
        """
        X = np.asarray(X, dtype=float)
        X = X.reshape(-1, 1) if X.ndim == 1 else X
        params = [_get(values, p) for p in self.params]
        if not self.scalar:
            return self.forward(*params, X)
        if X.ndim != 2 or X.shape[1] != len(self.inputs):
            raise ArgumentError("%s: X has shape %s but the model has %d inputs (%s); give one "
                                "column per input" % (self.name, X.shape, len(self.inputs),
                                                      ", ".join(map(str, self.inputs))))
        out = self.forward(*[float(v) for v in params], *X.T)
        return np.broadcast_to(out, X.shape[:1]).copy()

    @cached_property
    def forward(self) -> CompiledExpression:
        """The output compiled by symgrad: ``forward(*param_values, *input_values)``."""
        return compile_expression(self.output, list(self.params) + list(self.inputs))


def _get(values, symbol):
    if symbol in values:
        return values[symbol]
    if str(symbol) in values:
        return values[str(symbol)]
    raise ArgumentError("no value for parameter %s; pass {%s: array} (e.g. res.params)"
                        % (symbol, symbol))


def _sizes(sizes):
    table = {}
    for key, v in (sizes or {}).items():
        name = key if isinstance(key, str) else str(key)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ArgumentError("size of %s must be a positive int, got %r" % (name, v))
        table[name] = int(v)
    return table


def _size(dim, table, where):
    dim = sp.sympify(dim)
    if dim.is_Integer:
        return int(dim)
    if str(dim) in table:
        return table[str(dim)]
    raise ArgumentError("init needs a size for %s (a dimension of %s); pass sizes={'%s': ...}"
                        % (dim, where, dim))


def _dim(w, name):
    if isinstance(w, str):
        return sp.Symbol(w, integer=True, positive=True)
    if isinstance(w, (int, np.integer)) and not isinstance(w, bool) and w >= 1:
        return sp.Integer(int(w))
    if isinstance(w, sp.Symbol) or (isinstance(w, sp.Integer) and w >= 1):
        return w
    raise ArgumentError("%s must be a positive int or a dimension Symbol, got %r" % (name, w))


def _activation(name):
    if callable(name) and not isinstance(name, str):
        raise ArgumentError("activation must be one of %s, got %r" % (", ".join(sorted(ACTIVATIONS)), name))
    if name not in ACTIVATIONS:
        raise ArgumentError("unknown activation %r; use one of %s" % (name, ", ".join(sorted(ACTIVATIONS))))
    return name


def _apply(act, Z):
    if act == "identity":
        return Z
    return Z.applyfunc(sp.Lambda(_u, ACTIVATIONS[act](_u)))


_LOSSES = {"mse": losses.mse, "bce": losses.bce_with_logits, "softmax": losses.softmax_cross_entropy}


def _network(name, widths, activation, loss, single=False):
    if loss not in _LOSSES:
        raise ArgumentError("%s: unknown loss %r; use one of %s" % (name, loss, ", ".join(sorted(_LOSSES))))
    dims = [_dim(w, "%s width %d" % (name, i)) for i, w in enumerate(widths)]
    X = sp.MatrixSymbol("X", n, dims[0])
    Y = sp.MatrixSymbol("Y", n, dims[-1])
    H, params, layers = X, [], []
    for i, (fan_in, fan_out) in enumerate(zip(dims, dims[1:])):
        suffix = "" if single else str(i + 1)
        W = sp.MatrixSymbol("W" + suffix, fan_in, fan_out)
        b = sp.MatrixSymbol("b" + suffix, 1, fan_out)
        act = "identity" if i == len(dims) - 2 else activation
        H = _apply(act, H * W + sp.OneMatrix(n, 1) * b)
        params += [W, b]
        layers.append((W, b, act))
    return Model(name, H, _LOSSES[loss](H, Y), tuple(params), (X,), Y, tuple(layers))


def _scalar_linear(name, features, loss):
    if isinstance(features, bool) or not isinstance(features, (int, np.integer)) or features < 1:
        raise ArgumentError("%s(scalar=True) needs features, a positive int, got %r" % (name, features))
    if features == 1:
        ws, xs = [sp.Symbol("w")], [sp.Symbol("x")]
    else:
        ws, xs = list(sp.symbols("w1:%d" % (features + 1))), list(sp.symbols("x1:%d" % (features + 1)))
    b, y = sp.Symbol("b"), sp.Symbol("y")
    out = sp.Add(*[w * x for w, x in zip(ws, xs)]) + b
    return Model(name, out, loss(out, y), tuple(ws) + (b,), tuple(xs), y,
                 ((tuple(ws), b, "identity"),), scalar=True)


def linear_regression(features: "int | sp.Symbol | str" = d, outputs: "int | sp.Symbol | str" = 1,
                      *, scalar: bool = False) -> "Model":
    """Linear regression X W + b with the mean squared error (default loss).

    Batch form: X n x d, W d x k, b 1 x k, Y n x k (``outputs`` = k). With
    ``scalar=True``: w*x + b (or w1*x1 + ... + b) and the per-sample (w*x + b - y)**2.

    >>> linear_regression(features=1, scalar=True).loss
    (b + w*x - y)**2
    """
    if scalar:
        return _scalar_linear("linear_regression", 1 if features is d else features, losses.mse)
    return _network("linear_regression", [features, outputs], "identity", "mse", single=True)


def logistic_regression(features: "int | sp.Symbol | str" = d, *, scalar: bool = False) -> "Model":
    """Logistic regression: logits X W + b and binary cross-entropy with logits.

    Batch form: X n x d, W d x 1, b 1 x 1, Y n x 1 with labels in {0, 1}; the loss is
    the mean of softplus(Z) - Y∘Z (TensorFlow's sigmoid_cross_entropy_with_logits).
    With ``scalar=True``: z = w1*x1 + ... + b and softplus(z) - y z per sample.

    >>> logistic_regression(features=2, scalar=True).output
    b + w1*x1 + w2*x2
    """
    if scalar:
        return _scalar_linear("logistic_regression", 2 if features is d else features,
                              losses.bce_with_logits)
    return _network("logistic_regression", [features, 1], "identity", "bce", single=True)


def softmax_regression(features: "int | sp.Symbol | str" = d,
                       classes: "int | sp.Symbol | str" = k) -> "Model":
    """Multinomial logistic regression: logits X W + b (n x k), softmax cross-entropy.

    Y is n x k, one-hot (or a distribution per row).

    >>> softmax_regression().params
    (W, b)
    """
    return _network("softmax_regression", [features, classes], "identity", "softmax", single=True)


def mlp(widths: list, activation: str = "tanh", loss: str = "mse") -> "Model":
    """A multilayer perceptron: widths (d, h1, ..., k), hidden ``activation``, linear output.

    Each width is an int or a dimension Symbol (or a name). Layer i has W_i
    (w_{i-1} x w_i) and b_i (1 x w_i); hidden layers apply ``activation`` (tanh,
    sigmoid, relu, softplus, identity) entry by entry. ``loss``: "mse"
    (regression), "bce" (binary, output logits, Y in {0, 1}) or "softmax"
    (multi-class, Y one-hot).

    >>> m = mlp([2, 8, 1], activation="tanh", loss="bce")
    >>> [str(p) for p in m.params]
    ['W1', 'b1', 'W2', 'b2']
    """
    widths = list(widths)
    if len(widths) < 2:
        raise ArgumentError("mlp needs at least two widths (inputs and outputs), got %r" % (widths,))
    return _network("mlp", widths, _activation(activation), loss)
