"""Linear regression: the mean squared error, its gradient and the normal equations

The article (section 4.1) fits pred = W x + b with the TensorFlow loss
reduce_mean(square(pred - y)) on x = [1, 2, 3, 4], y = [2, 4, 6, 8]. The claims
check symgrad's gradient against the textbook forms
dL/dW = 2 mean((W x + b - y) x), dL/db = 2 mean(W x + b - y) (four samples with
symbolic data, and the matrix form (2/n) X^T (X w - y) for any n and d), that
the gradient vanishes exactly where the normal equations X^T X w = X^T y hold,
and that on the article's data the optimum is W = 2, b = 0, a strict minimum.
"""

import sympy as sp

import symgrad as sg

W, b = sp.symbols("W b")
xs, ys = sp.symbols("x1:5"), sp.symbols("y1:5")
residuals = [W * xi + b - yi for xi, yi in zip(xs, ys)]
mse = sp.Add(*[r**2 for r in residuals]) / 4


def mean(values):
    return sp.Add(*values) / len(values)


# --- matrix form, any number of samples n and features d ---------------------------------
n, d = sp.symbols("n d", integer=True, positive=True)
X, w, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("w", d, 1), sp.MatrixSymbol("y", n, 1)
mse_matrix = sp.Trace((X * w - y).T * (X * w - y)) / n
grad_matrix = sg.grad(mse_matrix, w)
w_normal = (X.T * X).I * X.T * y                       # solves X^T X w = X^T y

# --- the article's data -----------------------------------------------------------------------
XS, YS = [1, 2, 3, 4], [2, 4, 6, 8]
article = {xi: v for xi, v in zip(xs, XS)} | {yi: v for yi, v in zip(ys, YS)}
mse_article = mse.xreplace(article)
grad_article = sp.Matrix(sg.grad(mse_article, [W, b]))
design = sp.Matrix([[xi, 1] for xi in XS])                  # columns: x, 1 (the bias)
target = sp.Matrix(YS)
optimum = {W: 2, b: 0}

# the TensorFlow graph: pred = add(multiply(x, W), b); loss = reduce_mean(square(subtract(pred, y)))
pred = sp.Matrix(XS) * W + b * sp.ones(4, 1)
tf_loss = sg.mean(sp.HadamardPower(pred - target, 2))

CLAIMS = [
    sg.Claim("dL/dW = 2 mean((W x + b - y) x), four samples",
             sg.grad(mse, W), 2 * mean([r * xi for r, xi in zip(residuals, xs)]),
             hand=r"\frac{\partial L}{\partial W} = \frac{2}{N}\sum_i (W x_i + b - y_i)\, x_i"),
    sg.Claim("dL/db = 2 mean(W x + b - y), four samples",
             sg.grad(mse, b), 2 * mean(residuals),
             hand=r"\frac{\partial L}{\partial b} = \frac{2}{N}\sum_i (W x_i + b - y_i)"),
    sg.Claim("matrix form: grad of ||Xw - y||^2/n = (2/n) X^T (X w - y)",
             grad_matrix, 2 * X.T * (X * w - y) / n,
             hand=r"\nabla_w \tfrac{1}{n}\lVert Xw - y\rVert^2 = \tfrac{2}{n} X^T (Xw - y)"),
    sg.Claim("normal equations: the gradient vanishes at w = (X^T X)^-1 X^T y",
             grad_matrix.subs(w, w_normal), sp.ZeroMatrix(d, 1),
             hand=r"X^T X w = X^T y"),
    sg.Claim("TensorFlow reduce_mean(square(pred - y)) = (1/4) sum (W x + b - y)^2",
             tf_loss, mse_article,
             hand=r"\text{loss = tf.reduce\_mean(tf.square(pred - y))}"),
    sg.Claim("article's data: the normal equations give W = 2, b = 0",
             (design.T * design).inv() * design.T * target, sp.Matrix([2, 0]),
             hand=r"\begin{pmatrix} 30 & 10 \\ 10 & 4 \end{pmatrix}\theta = \begin{pmatrix} 60 \\ 20 \end{pmatrix}"),
    sg.Claim("article's data: the gradient is zero at W = 2, b = 0",
             grad_article.xreplace(optimum), sp.zeros(2, 1),
             hand=r"\nabla L(2, 0) = 0"),
    sg.Claim("article's data: the Hessian is positive definite (strict minimum)",
             sg.hessian(mse_article, [W, b]), sp.zeros(2, 2), relation=">",
             hand=r"H = \begin{pmatrix} 15 & 5 \\ 5 & 2 \end{pmatrix} \succ 0"),
    sg.Claim("article's data: L(W, b) >= L(2, 0) = 0 for every W, b",
             mse_article, mse_article.xreplace(optimum), relation=">=",
             hand=r"L(W, b) \ge L(2, 0) = 0"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
