"""Gradient descent on the article's linear regression

The article (sections 3.2 and 4.1) updates W_new = W_old - alpha * dL/dW and
trains y = W x + b on x = [1, 2, 3, 4], y = [2, 4, 6, 8] with the loss
reduce_mean(square(pred - y)), GradientDescentOptimizer(0.01), 1000 steps.
The loss is quadratic, L(theta) = L(theta*) + (theta - theta*)^T H (theta - theta*) / 2
with theta = (W, b), Hessian H = [[15, 5], [5, 2]] and optimum theta* = (2, 0),
so one step is the affine map theta -> theta* + (I - alpha H)(theta - theta*),
and k steps from theta_0 give theta_k = theta* + (I - alpha H)^k (theta_0 - theta*).

Claims: the one-step identity; the closed form at k = 1000 against the 1000
exact rational iterates (computed below with Fractions from symgrad's own
gradient); when a step decreases the loss, and the largest stable learning
rate 2/lambda_max = (17 - sqrt(269))/5; and the training loop symgrad
generates (sg.fit, float64) against the closed form at k = 1000 (the exact
binary values of its float64 results, compared exactly).

"Any 0 < alpha <= 2/lambda_max decreases the loss" expects "probable": with
alpha bounded on both sides, verify's proof routes use only one bound. Its
proof is the pair of proven claims before it: the decrease equals
alpha g^T (I - alpha H/2) g, and alpha H/2 <= I in the Loewner order.
"""

from fractions import Fraction

import sympy as sp

import symgrad as sg

XS, YS = [1, 2, 3, 4], [2, 4, 6, 8]
STEPS = 1000
LR = sp.Rational(1, 100)

W, b, alpha = sp.symbols("W b alpha")
x, y = sp.symbols("x y")
loss = sp.Add(*[(W * xi + b - yi)**2 for xi, yi in zip(XS, YS)]) / len(XS)   # reduce_mean(square(pred - y))
theta = sp.Matrix([W, b])
grad = sp.Matrix(sg.grad(loss, [W, b]))
H = sg.hessian(loss, [W, b])
theta_star = sp.Matrix([2, 0])
I2 = sp.eye(2)


def loss_at(point):
    return loss.xreplace({W: point[0], b: point[1]})


def exact_iterates(steps, lr):
    """GD from W = b = 0 in exact Fractions, using the gradient symgrad derived."""
    coeffs = []
    for g in grad:
        p = sp.Poly(g, W, b)
        coeffs.append([Fraction(int(c.p), int(c.q)) for c in
                       (p.coeff_monomial(W), p.coeff_monomial(b), p.coeff_monomial(1))])
    lr = Fraction(int(lr.p), int(lr.q))
    w_k, b_k = Fraction(0), Fraction(0)
    for _ in range(steps):
        gw, gb = (cw * w_k + cb * b_k + c0 for cw, cb, c0 in coeffs)
        w_k, b_k = w_k - lr * gw, b_k - lr * gb
    return sp.Rational(w_k.numerator, w_k.denominator), sp.Rational(b_k.numerator, b_k.denominator)


W_EXACT, B_EXACT = exact_iterates(STEPS, LR)
CLOSED = theta_star + (I2 - LR * H)**STEPS * (sp.zeros(2, 1) - theta_star)
LR_MAX = 2 / max(H.eigenvals())

# the per-sample loss; fit averages it over the four samples, like reduce_mean
FIT = sg.fit((W * x + b - y)**2, {W: 0.0, b: 0.0}, {x: XS, y: YS}, optimizer=sg.GD(lr=0.01),
             steps=STEPS)
W_FIT, B_FIT = (sp.Rational(float(FIT.params[s])) for s in (W, b))   # the exact binary values
TOL = sp.Rational(1, 10**12)

CLAIMS = [
    sg.Claim("Hessian of the article's MSE is [[15, 5], [5, 2]]", H, sp.Matrix([[15, 5], [5, 2]]),
             hand=r"H = \frac{2}{4}\sum_i \begin{pmatrix} x_i^2 & x_i \\ x_i & 1 \end{pmatrix}"),
    sg.Claim("one GD step: theta - a grad L = theta* + (I - aH)(theta - theta*)",
             theta - alpha * grad, theta_star + (I2 - alpha * H) * (theta - theta_star),
             hand=r"W_{new} = W_{old} - \alpha \frac{\partial L}{\partial W}"),
    sg.Claim("1000 steps: closed form = exact rational GD iterates",
             CLOSED, sp.Matrix([W_EXACT, B_EXACT]),
             hand=r"\theta_k = \theta^* + (I - \alpha H)^k (\theta_0 - \theta^*),\ k = 1000,\ \alpha = 0.01"),
    sg.Claim("largest stable learning rate 2/lambda_max = (17 - sqrt(269))/5",
             LR_MAX, (17 - sp.sqrt(269)) / 5,
             hand=r"\alpha < 2/\lambda_{max}(H)"),
    sg.Claim("descent lemma: alpha H/2 <= I (Loewner) for alpha <= 2/lambda_max",
             alpha * H / 2, I2, relation="<=", assumptions=[alpha <= LR_MAX],
             hand=r"L(\theta) - L(\theta - \alpha g) = \alpha g^T (I - \tfrac{\alpha}{2} H) g"),
    sg.Claim("loss decrease = alpha g^T (I - alpha H/2) g (exact for a quadratic)",
             loss - loss_at(theta - alpha * grad),
             alpha * (grad.T * (I2 - alpha * H / 2) * grad)[0, 0],
             hand=r"L(\theta) - L(\theta - \alpha g) = \alpha g^T (I - \tfrac{\alpha}{2} H) g"),
    sg.Claim("the article's alpha = 0.01 decreases the loss at every theta",
             loss_at(theta - LR * grad), loss, relation="<=",
             hand=r"L(\theta - 0.01\,\nabla L) \le L(\theta)"),
    sg.Claim("alpha = 0.01 makes I - alpha H a contraction: 0 < I - aH (Loewner)",
             I2 - LR * H, sp.zeros(2, 2), relation=">",
             hand=r"0 \prec I - \alpha H \prec I \Rightarrow \theta_k \to \theta^*"),
    sg.Claim("alpha = 0.01 makes I - alpha H a contraction: I - aH < I (Loewner)",
             I2 - LR * H, I2, relation="<",
             hand=r"0 \prec I - \alpha H \prec I \Rightarrow \theta_k \to \theta^*"),
    sg.Claim("after 1000 steps the loss is still above its minimum 0",
             loss_at(CLOSED), 0, relation=">",
             hand=r"L(\theta_{1000}) > L(\theta^*) = 0\ (W \approx 1.99,\ b \approx 0.03)"),
    sg.Claim("any 0 < alpha <= 2/lambda_max decreases the loss at every theta",
             loss_at(theta - alpha * grad), loss, relation="<=",
             assumptions=[alpha > 0, alpha <= LR_MAX], expect="probable", budget=5.0,
             hand=r"L(\theta - \alpha \nabla L) \le L(\theta),\ 0 < \alpha \le 2/\lambda_{max}"),
    sg.Claim("a step with alpha > 2/lambda_max still decreases the loss",
             loss_at(theta - alpha * grad), loss, relation="<=", assumptions=[alpha > LR_MAX],
             expect="refuted",
             hand=r"L(\theta - \alpha \nabla L) \le L(\theta)\ \text{for}\ \alpha > 2/\lambda_{max}"),
    sg.Claim("sg.fit (GD lr=0.01, 1000 steps, float64): |W_fit - W_1000| <= 1e-12",
             sp.Abs(W_FIT - CLOSED[0]), TOL, relation="<=",
             hand=r"\text{tf.train.GradientDescentOptimizer(0.01)},\ 1000\ \text{steps}"),
    sg.Claim("sg.fit (GD lr=0.01, 1000 steps, float64): |b_fit - b_1000| <= 1e-12",
             sp.Abs(B_FIT - CLOSED[1]), TOL, relation="<=",
             hand=r"\text{tf.train.GradientDescentOptimizer(0.01)},\ 1000\ \text{steps}"),
]

if __name__ == "__main__":
    import sys
    sys.exit(sg.run_claims(CLAIMS, __doc__.splitlines()[0]))
