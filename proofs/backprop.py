"""Backpropagation is the chain rule

The article (section 3.1) writes backpropagation as one line,
dL/dW = dL/dZ * dZ/dW. For a layer Z = X W this holds with the factors in the
right order and one of them transposed: dL/dW = X^T dL/dZ, and the gradient
passed back to the layer's input is dL/dX = dL/dZ W^T. Read naively as the
product dL/dZ * X (defined when every matrix is square), it is wrong.

The claims check, with MatrixSymbols of symbolic dimensions where the engine
can, the layer rule and the elementwise rule that make up the backward pass of
a two-layer tanh network, and then the whole recursion

    delta2 = dL/dZ2,  dL/dW2 = H1^T delta2,
    delta1 = (delta2 W2^T) o (1 - H1 o H1),  dL/dW1 = X^T delta1

against symgrad's direct gradients: for symbolic sizes n, d, h, k (sampled),
and entry by entry, proven, for a concrete small network (1 sample, 2 inputs,
2 hidden units, 1 output).

Four claims expect "probable". The logistic-loss layer: both sides are the
same expression except for the bound variable of the elementwise map
sigma(X W), which symgrad creates afresh in each gradient, and verify's
matrix canonical form does not identify such maps. The tanh layer and the
symbolic-size network: 1 - H o H against the elementwise map 1 - tanh(a)^2
(and tanh(X W1)^T against tanh applied to W1^T X^T) need elementwise algebra
that no route does.
"""

import sympy as sp

import symgrad as sg

n, d, h, k = sp.symbols("n d h k", integer=True, positive=True)


def layer(X, W, Y, Z):
    """The loss as a function of Z, and of W through Z = X W, and dL/dZ at Z = X W."""
    loss_z = sp.Trace((Z - Y).T * (Z - Y))                  # squared error, ||Z - Y||_F^2
    loss_w = loss_z.subs(Z, X * W)
    dz = sg.grad(loss_z, Z).subs(Z, X * W)
    return loss_w, dz


# --- one scalar instance -------------------------------------------------------------

w, x, b, y, z = sp.symbols("w x b y z")
_z_of_w = w * x + b
_loss_of_z = (sp.tanh(z) - y)**2

# --- one linear layer Z = X W, symbolic sizes -----------------------------------------

X, W, Y, Z = (sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", d, k),
              sp.MatrixSymbol("Y", n, k), sp.MatrixSymbol("Z", n, k))
_loss_w, _dz = layer(X, W, Y, Z)

# a non-polynomial elementwise loss: the logistic loss sum(softplus(Z) - Y o Z)
_logistic_z = sg.msum(Z.applyfunc(sg.softplus) - sp.HadamardProduct(Y, Z))

# the same layer with every matrix m x m, so that the naive product is defined
m = sp.Symbol("m", integer=True, positive=True)
Xs, Ws, Ys, Zs = (sp.MatrixSymbol(name, m, m) for name in ("X", "W", "Y", "Z"))
_loss_ws, _dzs = layer(Xs, Ws, Ys, Zs)

# --- the tanh layer: A = X W1 is the pre-activation, H = tanh(A) --------------------------

A = sp.MatrixSymbol("A", n, h)
W2h = sp.MatrixSymbol("W2", h, k)
_H = A.applyfunc(sp.tanh)
_loss_a = sg.msum(sp.HadamardPower(_H * W2h - Y, 2))
_delta2_a = 2 * (_H * W2h - Y)

# --- a whole two-layer network, concrete sizes: 1 sample, 2 inputs, 2 hidden, 1 output ---------

def network(rows, inputs, hidden, outputs):
    X1 = sp.MatrixSymbol("X", rows, inputs)
    W1 = sp.MatrixSymbol("W1", inputs, hidden)
    W2 = sp.MatrixSymbol("W2", hidden, outputs)
    T = sp.MatrixSymbol("Y", rows, outputs)
    H1 = (X1 * W1).applyfunc(sp.tanh)
    Z2 = H1 * W2
    loss = sg.msum(sp.HadamardPower(Z2 - T, 2))
    delta2 = 2 * (Z2 - T)                                                   # dL/dZ2
    delta1 = sp.HadamardProduct(delta2 * W2.T,
                                sp.OneMatrix(rows, hidden) - sp.HadamardProduct(H1, H1))
    return loss, (W1, W2), (X1.T * delta1, H1.T * delta2)


_net_loss, (_W1, _W2), (_hand_w1, _hand_w2) = network(1, 2, 2, 1)
_sym_loss, (_sW1, _sW2), (_sym_w1, _sym_w2) = network(n, d, h, k)

ARTICLE = r"\frac{\partial L}{\partial W} = \frac{\partial L}{\partial Z} \cdot \frac{\partial Z}{\partial W}"

CLAIMS = [
    sg.Claim("scalar chain rule: dL/dw = dL/dz * dz/dw, z = w x + b",
             sg.grad(_loss_of_z.subs(z, _z_of_w), w),
             sg.grad(_loss_of_z, z).subs(z, _z_of_w) * sg.grad(_z_of_w, w),
             hand=ARTICLE + r",\ L = (\tanh z - y)^2,\ z = wx + b"),
    sg.Claim("layer Z = XW: dL/dW = X^T dL/dZ (squared error, any size)",
             sg.grad(_loss_w, W), X.T * _dz,
             hand=r"\frac{\partial L}{\partial W} = X^T \frac{\partial L}{\partial Z}"),
    sg.Claim("layer Z = XW: dL/dX = dL/dZ W^T (gradient passed back)",
             sg.grad(_loss_w, X), _dz * W.T,
             hand=r"\frac{\partial L}{\partial X} = \frac{\partial L}{\partial Z} W^T"),
    sg.Claim("layer Z = XW, logistic loss: dL/dW = X^T dL/dZ",
             sg.grad(_logistic_z.subs(Z, X * W), W), X.T * sg.grad(_logistic_z, Z).subs(Z, X * W),
             hand=r"\frac{\partial L}{\partial W} = X^T(\sigma(XW) - Y)"),
    sg.Claim("article read naively: dL/dW = dL/dZ * X (m x m matrices)",
             sg.grad(_loss_ws, Ws), _dzs * Xs, expect="refuted",
             hand=ARTICLE + r"\ \text{read as}\ \frac{\partial L}{\partial Z} X"),
    sg.Claim("tanh layer: dL/dA = (delta2 W2^T) o (1 - H o H), H = tanh(A)",
             sg.grad(_loss_a, A),
             sp.HadamardProduct(_delta2_a * W2h.T,
                                sp.OneMatrix(n, h) - sp.HadamardProduct(_H, _H)),
             expect="probable",
             hand=r"\delta_1 = (\delta_2 W_2^T) \odot (1 - H_1 \odot H_1)"),
    sg.Claim("2-layer tanh net, any sizes: dL/dW2 = H1^T delta2",
             sg.grad(_sym_loss, _sW2), _sym_w2, expect="probable", budget=10.0,
             hand=r"\frac{\partial L}{\partial W_2} = H_1^T \delta_2,\ \delta_2 = 2(H_1 W_2 - Y)"),
    sg.Claim("2-layer tanh net, any sizes: dL/dW1 = X^T delta1",
             sg.grad(_sym_loss, _sW1), _sym_w1, expect="probable", budget=10.0,
             hand=r"\frac{\partial L}{\partial W_1} = X^T \delta_1,\ "
                  r"\delta_1 = (\delta_2 W_2^T) \odot (1 - H_1 \odot H_1)"),
    sg.Claim("2-layer tanh net (2-2-1): dL/dW2 = H1^T delta2",
             sg.grad(_net_loss, _W2), _hand_w2,
             hand=r"\frac{\partial L}{\partial W_2} = H_1^T \delta_2,\ \delta_2 = 2(H_1 W_2 - Y)"),
    sg.Claim("2-layer tanh net (2-2-1): dL/dW1 = X^T delta1",
             sg.grad(_net_loss, _W1), _hand_w1,
             hand=r"\frac{\partial L}{\partial W_1} = X^T \delta_1,\ "
                  r"\delta_1 = (\delta_2 W_2^T) \odot (1 - H_1 \odot H_1)"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
