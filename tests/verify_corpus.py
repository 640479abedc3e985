"""Hand derivations, right and subtly wrong, with the verdict verify() must reach.

Each case is one row: a category (the README groups verdicts by it), the two
sides, the relation, the assumptions and the expected status. Right claims
expect "proven" where a symbolic route reaches it and "probable" otherwise;
wrong claims expect "refuted".
"""

from dataclasses import dataclass

import sympy as sp

import symgrad as sg


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    lhs: object
    rhs: object
    expected: str
    relation: str = "=="
    assumptions: tuple = ()
    budget: float = 30.0   # generous: a loaded CI machine must not turn "proven" into "probable"


CASES = []


def case(category, name, lhs, rhs, expected, relation="==", assumptions=(), budget=30.0):
    CASES.append(Case(name, category, lhs, rhs, expected, relation, tuple(assumptions), budget))


x, y, z, w, b, lam = sp.symbols("x y z w b lam")
k = sp.Symbol("k", integer=True)
n, m = sp.symbols("n m")
A, B, X, Y = (sp.MatrixSymbol(s, n, n) for s in "ABXY")
D = sp.MatrixSymbol("D", n, m)
v = sp.MatrixSymbol("v", n, 1)
wv = sp.MatrixSymbol("w", m, 1)
sig = 1 / (1 + sp.exp(-z))                     # the sigmoid written out
S = sg.sigmoid(z)                           # ... and as symgrad's node

# --- activations ------------------------------------------------------------------
case("activations", "sigmoid' = s(1 - s), written 1/(1+exp(-z))", sp.diff(sig, z), sig * (1 - sig), "proven")
case("activations", "sigmoid' = s(1 + s), written 1/(1+exp(-z))", sp.diff(sig, z), sig * (1 + sig), "refuted")
case("activations", "sigmoid' = s(1 - s), Sigmoid node", sp.diff(S, z), S * (1 - S), "proven")
case("activations", "sigmoid' = s(1 + s), Sigmoid node", sp.diff(S, z), S * (1 + S), "refuted")
case("activations", "tanh' = 1 - tanh^2", sp.diff(sp.tanh(x), x), 1 - sp.tanh(x)**2, "proven")
case("activations", "tanh' = 1 + tanh^2", sp.diff(sp.tanh(x), x), 1 + sp.tanh(x)**2, "refuted")
case("activations", "tanh(x) = 2 sigmoid(2x) - 1", sp.tanh(x), 2 * sg.sigmoid(2 * x) - 1, "proven")
case("activations", "softplus' = sigmoid (nodes)", sp.diff(sg.softplus(z), z), S, "proven")
case("activations", "d/dz log(1 + e^z) = 1/(1 + e^-z)", sp.diff(sp.log(1 + sp.exp(z)), z), sig, "proven")
case("activations", "d/dz log(1 + e^z) = sigmoid(-z)", sp.diff(sp.log(1 + sp.exp(z)), z),
     1 / (1 + sp.exp(z)), "refuted")
case("activations", "max(x, 0) + min(x, 0) = x", sp.Max(x, 0) + sp.Min(x, 0), x, "proven")
case("activations", "relu(x) = x * Heaviside(x)", sp.Max(x, 0), x * sp.Heaviside(x), "proven")
case("activations", "leaky relu = 0.9 relu + 0.1 x", sp.Max(x, x / 10),
     sp.Rational(9, 10) * sp.Max(0, x) + x / 10, "proven")
case("activations", "leaky relu = relu + 0.1 x", sp.Max(x, x / 10), sp.Max(0, x) + x / 10, "refuted")

# --- losses -------------------------------------------------------------------------
sq = (w * x + b - y)**2
case("losses", "d/dw (wx + b - y)^2 = 2x(wx + b - y)", sp.diff(sq, w), 2 * x * (w * x + b - y), "proven")
case("losses", "d/dw (wx + b - y)^2 = 2x(y - wx - b) (sign slip)", sp.diff(sq, w),
     2 * x * (y - w * x - b), "refuted")
bce = -(y * sp.log(sig) + (1 - y) * sp.log(1 - sig))
case("losses", "binary cross-entropy: dL/dz = sigmoid - y", sp.diff(bce, z), sig - y, "proven")
case("losses", "binary cross-entropy: dL/dz = y - sigmoid (sign slip)", sp.diff(bce, z), y - sig, "refuted")
z1, z2, z3, y1, y2, y3 = sp.symbols("z1 z2 z3 y1 y2 y3")
Z = sp.exp(z1) + sp.exp(z2) + sp.exp(z3)
ce = -sum(yi * sp.log(sp.exp(zi) / Z) for yi, zi in ((y1, z1), (y2, z2), (y3, z3)))
label_sum = sp.Eq(y1 + y2 + y3, 1)
case("losses", "softmax cross-entropy: dL/dz1 = softmax1 - y1 (labels sum to 1)", sp.diff(ce, z1),
     sp.exp(z1) / Z - y1, "proven", assumptions=[label_sum])
case("losses", "softmax cross-entropy: dL/dz1 = softmax1 - y1 (no label constraint)", sp.diff(ce, z1),
     sp.exp(z1) / Z - y1, "refuted")
case("losses", "softmax cross-entropy: dL/dz1 = y1 - softmax1 (sign slip)", sp.diff(ce, z1),
     y1 - sp.exp(z1) / Z, "refuted", assumptions=[label_sum])
ymat = sp.MatrixSymbol("y", n, 1)
case("losses", "MSE gradient (2/n) D^T (Dw - y)", 2 / n * D.T * (D * wv - ymat),
     2 / n * (D.T * D * wv - D.T * ymat), "proven")
case("losses", "MSE gradient missing 1/n", 2 * (D.T * D * wv - D.T * ymat),
     2 / n * D.T * (D * wv - ymat), "refuted")
case("losses", "L2 penalty: d/dw lam w^2 = 2 lam w", sp.diff(lam * w**2, w), 2 * lam * w, "proven")
case("losses", "L2 penalty: d/dw lam w^2 = lam w", sp.diff(lam * w**2, w), lam * w, "refuted")
case("losses", "L1 penalty: d/dw lam |w| = lam sign(w)", sp.diff(lam * sp.Abs(w), w),
     lam * sp.sign(w), "proven")

# --- matrix calculus -------------------------------------------------------------------
case("matrix calculus", "d tr(AXB)/dX = A^T B^T = (BA)^T", A.T * B.T, (B * A).T, "proven")
case("matrix calculus", "d tr(AXB)/dX = BA (missing transpose)", A.T * B.T, B * A, "refuted")
case("matrix calculus", "d (v^T A v)/dv = (A + A^T) v", A * v + A.T * v, (A + A.T) * v, "proven")
case("matrix calculus", "d (v^T A v)/dv = 2 A v (A where A^T belongs)", 2 * A * v, (A + A.T) * v, "refuted")
case("matrix calculus", "tr(ABX) = tr(XAB) (cyclic)", sp.Trace(A * B * X), sp.Trace(X * A * B), "proven")
case("matrix calculus", "tr(ABX) = tr(BAX) (not cyclic)", sp.Trace(A * B * X), sp.Trace(B * A * X), "refuted")
case("matrix calculus", "tr(A B^T) = tr(B A^T)", sp.Trace(A * B.T), sp.Trace(B * A.T), "proven")
case("matrix calculus", "(AB)^-1 = B^-1 A^-1", sp.Inverse(A * B), sp.Inverse(B) * sp.Inverse(A), "proven")
case("matrix calculus", "(AB)^-1 = A^-1 B^-1", sp.Inverse(A * B), sp.Inverse(A) * sp.Inverse(B), "refuted")
case("matrix calculus", "Hadamard product commutes", sp.HadamardProduct(A, B),
     sp.HadamardProduct(B, A), "proven")
case("matrix calculus", "softmax rows sum to one", sg.msum(sg.softmax(D), axis=1),
     sp.OneMatrix(n, 1), "probable")
case("matrix calculus", "mean = sum / n (should be / nm)", sg.mean(D), sg.msum(D) / n, "refuted")

# --- log-determinants --------------------------------------------------------------------
logdet = lambda M: sp.log(sp.Determinant(M))      # noqa: E731
case("log-det", "log det X^T = log det X", logdet(X.T), logdet(X), "proven")
case("log-det", "log det XY = log det X + log det Y", logdet(X * Y), logdet(X) + logdet(Y), "proven")
case("log-det", "log det X^-1 = -log det X", logdet(sp.Inverse(X)), -logdet(X), "proven")
case("log-det", "log det 2X = n log 2 + log det X", logdet(2 * X), n * sp.log(2) + logdet(X), "proven")
case("log-det", "log det 2X = 2 log det X", logdet(2 * X), 2 * logdet(X), "refuted")
case("log-det", "d log det X / dX = X^-1 (missing transpose)", sp.Inverse(X), sp.Inverse(X).T, "refuted")
case("log-det", "d log det X / dX = X^-1 for symmetric X", sp.Inverse(X), sp.Inverse(X).T, "probable",
     assumptions=[sp.Q.symmetric(X)])

# --- logsumexp -------------------------------------------------------------------------------
LSE = sg.logsumexp
case("logsumexp", "lse(x, y) = x + lse(0, y - x) (max shift)", LSE(x, y), x + LSE(0, y - x), "proven")
case("logsumexp", "lse(x, y) = max(x, y)", LSE(x, y), sp.Max(x, y), "refuted")
case("logsumexp", "lse(x, y) >= max(x, y)", LSE(x, y), sp.Max(x, y), "probable", ">=")
case("logsumexp", "lse(x, y) <= max(x, y) + log 2", LSE(x, y), sp.Max(x, y) + sp.log(2), "probable", "<=")
case("logsumexp", "d lse(x, y)/dx = sigmoid(x - y)", sp.diff(LSE(x, y), x), sg.sigmoid(x - y), "proven")
case("logsumexp", "softplus(z) - softplus(-z) = z", sg.softplus(z) - sg.softplus(-z), z, "proven")

# --- domains: right only where the assumptions say ---------------------------------------------
case("domains", "sqrt(x^2) = x", sp.sqrt(x**2), x, "refuted")
case("domains", "sqrt(x^2) = x for x > 0", sp.sqrt(x**2), x, "proven", assumptions=[x > 0])
case("domains", "|x| = x for x >= 0", sp.Abs(x), x, "proven", assumptions=[x >= 0])
case("domains", "log(xy) = log x + log y for x, y > 0", sp.log(x * y), sp.log(x) + sp.log(y), "proven",
     assumptions=[x > 0, y > 0])
case("domains", "log(xy) = log x + log y where both sides are real", sp.log(x * y),
     sp.log(x) + sp.log(y), "probable")
case("domains", "sqrt(x) sqrt(y) = sqrt(xy) where both sides are real", sp.sqrt(x) * sp.sqrt(y),
     sp.sqrt(x * y), "probable")

# --- precision: exact arithmetic and certified signs ---------------------------------------------
case("precision", "x^2 = x^2 + 10^-12", x**2, x**2 + sp.Rational(1, 10**12), "refuted")
case("precision", "e^x = e^x (1 + 10^-20)", sp.exp(x), sp.exp(x) * (1 + sp.Rational(1, 10**20)), "refuted")
case("precision", "e = 2.718281828459045235360287", sp.E,
     sp.Rational("2.718281828459045235360287"), "refuted")
case("precision", "sigmoid' = s(1 - s) near z = 120 (catastrophic cancellation)", sp.diff(sig, z),
     sig * (1 - sig), "probable", assumptions=[z >= 119, z <= 121], budget=0)

# --- inequalities ------------------------------------------------------------------------------
case("inequalities", "softplus(z) >= 0", sg.softplus(z), 0, "proven", ">=")
case("inequalities", "0 < sigmoid(z) < 1: sigmoid(z) < 1", S, 1, "proven", "<")
case("inequalities", "log(1 + x) <= x for x > -1", sp.log(1 + x), x, "probable", "<=", [x > -1])
case("inequalities", "log(1 + x) >= x for x > -1", sp.log(1 + x), x, "refuted", ">=", [x > -1])
case("inequalities", "x^2 >= 0", x**2, 0, "proven", ">=")
case("inequalities", "x^2 >= x", x**2, x, "refuted", ">=")
case("inequalities", "k^2 >= k for integer k", k**2, k, "probable", ">=")
case("inequalities", "x^2 + y^2 >= 2xy", x**2 + y**2, 2 * x * y, "proven", ">=")
case("inequalities", "e^x >= 1 + x", sp.exp(x), 1 + x, "probable", ">=")
case("inequalities", "x^4 - x^2 + 1 > 0", x**4 - x**2 + 1, 0, "proven", ">")
case("inequalities", "x^4 - 2x^2 + 1 > 0", x**4 - 2 * x**2 + 1, 0, "refuted", ">")

# --- Hessians and the Loewner order --------------------------------------------------------------
H = lambda f, vs=(x, y): sp.hessian(f, vs)        # noqa: E731
zero2 = sp.zeros(2, 2)
case("Hessians (PSD)", "Hessian of x^2 + y^2 + xy is PSD", H(x**2 + y**2 + x * y), zero2, "proven", ">=")
case("Hessians (PSD)", "Hessian of x^2 - y^2 + xy is PSD", H(x**2 - y**2 + x * y), zero2, "refuted", ">=")
case("Hessians (PSD)", "Hessian of x^4 + y^2 is PSD", H(x**4 + y**2), zero2, "proven", ">=")
case("Hessians (PSD)", "Hessian of x^3 + y^2 is PSD", H(x**3 + y**2), zero2, "refuted", ">=")
case("Hessians (PSD)", "Hessian of the logistic loss log(1 + e^(w x + b)) is PSD",
     H(sp.log(1 + sp.exp(w * x + b)), (w, b)), zero2, "proven", ">=")
case("Hessians (PSD)", "D^T D is PSD", D.T * D, sp.ZeroMatrix(m, m), "proven", ">=")
case("Hessians (PSD)", "D^T D + I is positive definite", D.T * D + sp.Identity(m), 0, "proven", ">")
case("Hessians (PSD)", "D^T D - I is PSD", D.T * D - sp.Identity(m), 0, "refuted", ">=")

# --- trigonometry ---------------------------------------------------------------------------------
case("trigonometry", "sin^2 + cos^2 = 1", sp.sin(x)**2 + sp.cos(x)**2, 1, "proven")
case("trigonometry", "sin 2x = 2 sin x cos x", sp.sin(2 * x), 2 * sp.sin(x) * sp.cos(x), "proven")
case("trigonometry", "cos 2x = 1 - 2 sin^2 x", sp.cos(2 * x), 1 - 2 * sp.sin(x)**2, "proven")
case("trigonometry", "sin 2x = 2 sin x", sp.sin(2 * x), 2 * sp.sin(x), "refuted")

CATEGORIES = sorted({c.category for c in CASES})
TRUE = [c for c in CASES if c.expected != "refuted"]
WRONG = [c for c in CASES if c.expected == "refuted"]
