"""Claims from the ML literature, true and false, where verify is easy to fool.

Bounds on losses and activations, identities at extreme arguments (e^-200 beside 1),
thin regions (a disk of radius 1e-3 around an irrational point), failures far out
(past x = 9118, past 1e10), and matrix claims that fail only for n >= 5. Every true
claim is true on the stated domain; every false claim has a counterexample (noted).
``expected`` is what a sound verify may answer: "true" claims must never be refuted,
"false" claims must never be proven (and should be refuted).

``budget`` is what a user would give verify for the claim: 1 s by default; 5 s where
the claim itself says its failure hides (categories "thin" and "far out", names that
say where it fails: "fails past ...", "fails for n >= 5", "on the tie") or where a proof
needs the slower routes (SEARCH and PROOF below).
"""

from dataclasses import dataclass

import sympy as sp

import symgrad as sg
from symgrad.ops import nodes


@dataclass(frozen=True)
class Claim:
    name: str
    category: str
    lhs: object
    rhs: object
    truth: bool
    relation: str = "=="
    assumptions: tuple = ()
    budget: float = 1.0


TRUE, FALSE = [], []


SEARCH = ("thin", "far out")
HIDDEN = ("fails", "minimum is", "on the tie", "10^-")
PROOF = ("p(1 - p) >= 0 on [0, 1]", "push-through (I + PQ)^-1 P = P (I + QP)^-1",
         "Woodbury identity", "matrix determinant lemma", "binary cross-entropy >= 0",
         "logit(sigmoid(z)) = z for z in [-30, 30]")


def _budget(category, name):
    hidden = category in SEARCH or any(h in name for h in HIDDEN) or name in PROOF
    return 5.0 if hidden else 1.0


def true(category, name, lhs, rhs, relation="==", assumptions=()):
    TRUE.append(Claim(name, category, lhs, rhs, True, relation, tuple(assumptions),
                      _budget(category, name)))


def false(category, name, lhs, rhs, relation="==", assumptions=()):
    FALSE.append(Claim(name, category, lhs, rhs, False, relation, tuple(assumptions),
                       _budget(category, name)))


x, y, z, t, u, a, b, p, q, r, m = sp.symbols("x y z t u a b p q r m")
a1, a2, b1, b2 = sp.symbols("a1 a2 b1 b2")
S, SP, LSE = nodes.Sigmoid, nodes.Softplus, nodes.LogSumExp
E = sp.exp
relu = sp.Max(x, 0)
huber = sp.Piecewise((r**2 / 2, sp.Abs(r) <= 1), (sp.Abs(r) - sp.Rational(1, 2), True))
in01 = [p > 0, p < 1]
tiny = lambda k: sp.Rational(1, 10**k)          # noqa: E731

# --- bounds on activations ------------------------------------------------------------------
true("activations", "softplus(z) >= z", SP(z), z, ">=")
true("activations", "softplus(z) > 0", SP(z), 0, ">")
true("activations", "softplus(z) <= max(z, 0) + log 2", SP(z), sp.Max(z, 0) + sp.log(2), "<=")
true("activations", "sigmoid(z) < 1", S(z), 1, "<")
true("activations", "sigmoid'(z) = s(1 - s) <= 1/4", S(z) * (1 - S(z)), sp.Rational(1, 4), "<=")
true("activations", "|tanh x| <= |x|", sp.Abs(sp.tanh(x)), sp.Abs(x), "<=")
true("activations", "SiLU x sigmoid(x) >= -0.2785", x * S(x), -sp.Rational(2785, 10000), ">=")
true("activations", "GELU x Phi(x) >= -0.17", x * (1 + sp.erf(x / sp.sqrt(2))) / 2,
     -sp.Rational(17, 100), ">=")
true("activations", "tanh x = 2 sigmoid(2x) - 1 for x >= 50", sp.tanh(x), 2 * S(2 * x) - 1,
     assumptions=[x >= 50])
true("activations", "relu(x) = (x + |x|)/2", relu, (x + sp.Abs(x)) / 2)
true("activations", "sigmoid(z) + sigmoid(-z) = 1", S(z) + S(-z), 1)
true("activations", "log sigmoid(z) = -softplus(-z)", sp.log(S(z)), -SP(-z))
true("activations", "softplus(z) - z = softplus(-z)", SP(z) - z, SP(-z))
true("activations", "logit(sigmoid(z)) = z for z in [-30, 30]", sg.logit(S(z)), z,
     assumptions=[z >= -30, z <= 30])
true("activations", "d/dz softplus = sigmoid", sp.diff(SP(z), z), S(z))

# --- bounds on losses --------------------------------------------------------------------------
bce = -(y * sp.log(p) + (1 - y) * sp.log(1 - p))
true("losses", "binary cross-entropy >= 0", bce, 0, ">=", in01 + [y >= 0, y <= 1])
kl = p * sp.log(p / q) + (1 - p) * sp.log((1 - p) / (1 - q))
true("losses", "Bernoulli KL >= 0 (Gibbs)", kl, 0, ">=", in01 + [q > 0, q < 1])
true("losses", "Pinsker: Bernoulli KL >= 2 (p - q)^2", kl, 2 * (p - q)**2, ">=",
     in01 + [q > 0, q < 1])
true("losses", "logistic loss >= log 2 * [m <= 0]", sp.log(1 + E(-m)), sp.log(2) * sp.Heaviside(-m), ">=")
true("losses", "Huber <= r^2/2", huber, r**2 / 2, "<=")
true("losses", "Huber <= |r|", huber, sp.Abs(r), "<=")
true("losses", "log cosh r <= |r|", sp.log(sp.cosh(r)), sp.Abs(r), "<=")
true("losses", "log cosh r <= r^2/2", sp.log(sp.cosh(r)), r**2 / 2, "<=")
true("losses", "lse(x, y) <= max(x, y) + log 2", LSE(x, y), sp.Max(x, y) + sp.log(2), "<=")
true("losses", "lse(x, y) >= max(x, y)", LSE(x, y), sp.Max(x, y), ">=")
true("losses", "softmax_1 of three logits < 1", E(a) / (E(a) + E(b) + E(x)), 1, "<")
true("losses", "Bernoulli entropy <= log 2", -p * sp.log(p) - (1 - p) * sp.log(1 - p), sp.log(2),
     "<=", in01)
true("losses", "hinge max(0, 1 - m) >= 0", sp.Max(0, 1 - m), 0, ">=")
true("losses", "hinge >= 1 - m", sp.Max(0, 1 - m), 1 - m, ">=")

# --- classical inequalities used in ML proofs ----------------------------------------------------
true("inequalities", "e^x >= 1 + x", E(x), 1 + x, ">=")
true("inequalities", "log(1 + x) <= x for x > -1", sp.log(1 + x), x, "<=", [x > -1])
true("inequalities", "log x <= x - 1 for x > 0", sp.log(x), x - 1, "<=", [x > 0])
true("inequalities", "x/(1 + x) <= log(1 + x) for x > -1", x / (1 + x), sp.log(1 + x), "<=", [x > -1])
true("inequalities", "p(1 - p) >= 0 on [0, 1]", p * (1 - p), 0, ">=", [p >= 0, p <= 1])
true("inequalities", "p(1 - p) <= 1/4", p * (1 - p), sp.Rational(1, 4), "<=")
true("inequalities", "AM-GM (a + b)/2 >= sqrt(ab)", (a + b) / 2, sp.sqrt(a * b), ">=", [a >= 0, b >= 0])
true("inequalities", "Cauchy-Schwarz in the plane", (a1 * b1 + a2 * b2)**2,
     (a1**2 + a2**2) * (b1**2 + b2**2), "<=")
true("inequalities", "Jensen for exp", (E(a) + E(b)) / 2, E((a + b) / 2), ">=")
true("inequalities", "Bernoulli (1 + x)^3 >= 1 + 3x for x >= -1", (1 + x)**3, 1 + 3 * x, ">=", [x >= -1])
true("inequalities", "Young ab <= a^2/2 + b^2/2", a * b, a**2 / 2 + b**2 / 2, "<=")
true("inequalities", "x e^-x <= 1/e", x * E(-x), E(-1), "<=")
true("inequalities", "sin x <= x for x >= 0", sp.sin(x), x, "<=", [x >= 0])
true("inequalities", "cos x >= 1 - x^2/2", sp.cos(x), 1 - x**2 / 2, ">=")

# --- identities and bounds at extreme arguments ----------------------------------------------------
true("extreme", "log(1 + e^-z) = softplus(-z) at z = 200", sp.log(1 + E(-z)), SP(-z),
     assumptions=[sp.Eq(z, 200)])
true("extreme", "log(1 + e^-z) <= e^-z for z in [100, 1000]", sp.log(1 + E(-z)), E(-z), "<=",
     [z >= 100, z <= 1000])
true("extreme", "log(1 + e^-z) >= e^-z - e^-2z/2 for z >= 0", sp.log(1 + E(-z)),
     E(-z) - E(-2 * z) / 2, ">=", [z >= 0])
true("extreme", "acos(1 - e^-z) = 2 asin(sqrt(e^-z / 2)) for z in [200, 1000]", sp.acos(1 - E(-z)),
     2 * sp.asin(sp.sqrt(E(-z) / 2)), assumptions=[z >= 200, z <= 1000])
true("extreme", "acos(1 - e^-z) > 0 at z = 1000", sp.acos(1 - E(-z)), 0, ">",
     [sp.Eq(z, 1000)])
true("extreme", "1 - sigmoid(z) = sigmoid(-z) for z in [100, 1000]", 1 - S(z), S(-z),
     assumptions=[z >= 100, z <= 1000])
true("extreme", "log1p(x) = log(1 + x) at x = 1e-30", sp.log(1 + x), nodes.log1p(x),
     assumptions=[sp.Eq(x, tiny(30))])
true("extreme", "sqrt(1 + e^-z) - 1 <= e^-z/2 for z >= 0", sp.sqrt(1 + E(-z)) - 1, E(-z) / 2, "<=",
     [z >= 0])

# --- matrices -------------------------------------------------------------------------------------
n, k = sp.symbols("n k", integer=True, positive=True)
A, B, X = (sp.MatrixSymbol(s, n, n) for s in "ABX")
U, V = sp.MatrixSymbol("U", n, k), sp.MatrixSymbol("V", k, n)
C = sp.MatrixSymbol("C", k, k)
P, Q = sp.MatrixSymbol("P", n, k), sp.MatrixSymbol("Q", k, n)
uu, vv, xv = sp.MatrixSymbol("u", n, 1), sp.MatrixSymbol("v", n, 1), sp.MatrixSymbol("x", n, 1)
I_n, I_k = sp.Identity(n), sp.Identity(k)
zr = sp.MatrixSymbol("z", 1, n)
true("matrices", "push-through (I + PQ)^-1 P = P (I + QP)^-1", (I_n + P * Q).I * P, P * (I_k + Q * P).I)
true("matrices", "Woodbury identity", (A + U * C * V).I,
     A.I - A.I * U * (C.I + V * A.I * U).I * V * A.I)
true("matrices", "matrix determinant lemma", sp.Determinant(A + uu * vv.T),
     (1 + (vv.T * A.I * uu)[0, 0]) * sp.Determinant(A))
true("matrices", "(A^T)^-1 = (A^-1)^T", A.T.I, A.I.T)
true("matrices", "tr(PQ) = tr(QP) (rectangular)", sp.Trace(P * Q), sp.Trace(Q * P))
true("matrices", "P^T P is PSD", P.T * P, sp.ZeroMatrix(k, k), ">=")
true("matrices", "(A^-1 + B^-1)^-1 = A (A + B)^-1 B", (A.I + B.I).I, A * (A + B).I * B)
true("matrices", "(AB)^T = B^T A^T", (A * B).T, B.T * A.T)
true("matrices", "x^T x >= 0", (xv.T * xv)[0, 0], 0, ">=")
true("matrices", "sum of a softmax row is 1", sg.msum(sg.softmax(zr)), 1)

# --- index notation ---------------------------------------------------------------------------------
i, j, kk, N, D = sp.symbols("i j kk N D", integer=True)
xs, ys, ws = sp.IndexedBase("xs"), sp.IndexedBase("ys"), sp.IndexedBase("ws")
lam = sp.Symbol("lam")
lin = lambda i_: sp.Sum(ws[kk] * xs[i_, kk], (kk, 0, D - 1))          # noqa: E731
ridge = sp.Sum((lin(i) - ys[i])**2, (i, 0, N - 1)) / N + lam * sp.Sum(ws[kk]**2, (kk, 0, D - 1))
ridge_grad = 2 * sp.Sum(xs[i, j] * (lin(i) - ys[i]), (i, 0, N - 1)) / N + 2 * lam * ws[j]
true("index notation", "ridge gradient in index notation", sg.grad(ridge, ws[j]), ridge_grad)
true("index notation", "sum of squares is nonnegative", sp.Sum(xs[i, 0]**2, (i, 0, N - 1)), 0, ">=")
true("index notation", "mean squared error >= 0", sp.Sum((lin(i) - ys[i])**2, (i, 0, N - 1)) / N, 0, ">=")

# ====================================== false claims =================================================

# --- far out ----------------------------------------------------------------------------------------
false("far out", "x <= 1000 log(1 + x) for x >= 0 (fails past 9118)", x, 1000 * sp.log(1 + x), "<=",
      [x >= 0])
false("far out", "x <= 10^5 sqrt(x) for x >= 0 (fails past 1e10)", x, 10**5 * sp.sqrt(x), "<=", [x >= 0])
false("far out", "x^3 <= 500 x^2 (fails past 500)", x**3, 500 * x**2, "<=")
false("far out", "e^(x/100) >= x for x >= 1 (fails on [1.01, 647])", E(x / 100), x, ">=", [x >= 1])
false("far out", "log x <= 4 x^(1/20) for x > 0 (fails on (181, 1e22))", sp.log(x),
      4 * x**sp.Rational(1, 20), "<=", [x > 0])
false("far out", "x^2 <= 10^12 |x| (fails past 1e12)", x**2, 10**12 * sp.Abs(x), "<=")
false("far out", "-x <= 10^6 (fails below -1e6)", -x, 10**6, "<=")
false("far out", "log(1 + e^-z) <= e^-z (1 - 10^-40) for z >= 0 (fails past 91.4)",
      sp.log(1 + E(-z)), E(-z) * (1 - tiny(40)), "<=", [z >= 0])
false("far out", "sigmoid(z) >= 1 - e^-z (1 - 10^-30) for z >= 0 (fails past 69)", S(z),
      1 - E(-z) * (1 - tiny(30)), ">=", [z >= 0])
false("far out", "log x >= -25 for x > 0 (fails below e^-25 = 1.4e-11)", sp.log(x), -25, ">=", [x > 0])
false("far out", "1/x <= 10^9 for x > 0 (fails below 1e-9)", 1 / x, 10**9, "<=", [x > 0])
false("far out", "x sigmoid(x) >= x - 10^-20 (fails on (0, 51))", x * S(x), x - tiny(20), ">=")

# --- wrong identities at extreme arguments (tiny differences) -------------------------------------
false("extreme", "log(1 + e^-z) >= e^-z for z >= 200", sp.log(1 + E(-z)), E(-z), ">=", [z >= 200])
false("extreme", "acos(1 - e^-z) <= sqrt(2) e^(-z/2) for z >= 100", sp.acos(1 - E(-z)),
      sp.sqrt(2) * E(-z / 2), "<=", [z >= 100])
false("extreme", "sigmoid(z) = 1 for z >= 100", S(z), 1, assumptions=[z >= 100])
false("extreme", "log(1 + e^-z) = e^-z for z >= 50", sp.log(1 + E(-z)), E(-z), assumptions=[z >= 50])
false("extreme", "tanh x = 1 for x >= 20", sp.tanh(x), 1, assumptions=[x >= 20])
false("extreme", "softplus(z) = z for z >= 40", SP(z), z, assumptions=[z >= 40])
false("extreme", "erf x = 1 for x >= 10", sp.erf(x), 1, assumptions=[x >= 10])
false("extreme", "log(1 + x) = x at x = 1e-30", sp.log(1 + x), x, assumptions=[sp.Eq(x, tiny(30))])
false("extreme", "1 - sigmoid(z) = e^-z for z >= 100", 1 - S(z), E(-z), assumptions=[z >= 100])
false("extreme", "acos(1 - e^-z) = sqrt(2) e^(-z/2) at z = 200", sp.acos(1 - E(-z)),
      sp.sqrt(2) * E(-z / 2), assumptions=[sp.Eq(z, 200)])
false("extreme", "cos(10^-20 x) = 1", sp.cos(tiny(20) * x), 1)
false("extreme", "e^x (1 + 10^-25) = e^x", E(x) * (1 + tiny(25)), E(x))

# --- thin regions -------------------------------------------------------------------------------------
false("thin", "(x - sqrt 2)^2 + (y - sqrt 3)^2 >= 10^-6 (a disk around an irrational point)",
      (x - sp.sqrt(2))**2 + (y - sp.sqrt(3))**2, tiny(6), ">=")
false("thin", "(x - pi)^2 >= 10^-10", (x - sp.pi)**2, tiny(10), ">=")
false("thin", "cos x <= 1 - 10^-12", sp.cos(x), 1 - tiny(12), "<=")
false("thin", "sin x + cos y <= 2 - 10^-10", sp.sin(x) + sp.cos(y), 2 - tiny(10), "<=")
false("thin", "lse(x, y) <= max(x, y) + log 2 - 10^-9 (fails on the tie)", LSE(x, y),
      sp.Max(x, y) + sp.log(2) - tiny(9), "<=")
false("thin", "p(1 - p) <= 1/4 - 10^-12", p * (1 - p), sp.Rational(1, 4) - tiny(12), "<=")
false("thin", "Bernoulli entropy <= log 2 - 10^-9 (fails near 1/2)", -p * sp.log(p) - (1 - p) * sp.log(1 - p),
      sp.log(2) - tiny(9), "<=", in01)
false("thin", "x e^-x <= 1/e - 10^-12 (fails near 1)", x * E(-x), E(-1) - tiny(12), "<=")
false("thin", "(x - e)^2 (y + sqrt 5)^2 + (x - e)^2 >= 10^-8", (x - sp.E)**2 * (y + sp.sqrt(5))**2
      + (x - sp.E)**2, tiny(8), ">=")
false("thin", "SiLU x sigmoid(x) >= -0.2784 (its minimum is -0.27846)", x * S(x),
      -sp.Rational(2784, 10000), ">=")
false("thin", "x^4 - 2x^2 + 1 >= 10^-9 (double roots at +-1)", x**4 - 2 * x**2 + 1, tiny(9), ">=")
false("thin", "(x^2 - 2)^2 + (y^2 - 3)^2 > 10^-9", (x**2 - 2)**2 + (y**2 - 3)**2, tiny(9), ">")
false("thin", "sigmoid'(z) < 1/4", S(z) * (1 - S(z)), sp.Rational(1, 4), "<")

# --- wrong bounds and identities ----------------------------------------------------------------------
false("bounds", "softplus(z) <= max(z, 0) + log 2 - 10^-3 (fails near 0)", SP(z),
      sp.Max(z, 0) + sp.log(2) - tiny(3), "<=")
false("bounds", "|tanh x| <= |x|/2", sp.Abs(sp.tanh(x)), sp.Abs(x) / 2, "<=")
false("bounds", "log cosh r >= r^2/2", sp.log(sp.cosh(r)), r**2 / 2, ">=")
false("bounds", "Huber >= |r|", huber, sp.Abs(r), ">=")
false("bounds", "Pinsker with 4 (p - q)^2", kl, 4 * (p - q)**2, ">=", in01 + [q > 0, q < 1])
false("bounds", "e^x >= 1 + x + x^2/2", E(x), 1 + x + x**2 / 2, ">=")
false("bounds", "log(1 + x) >= x - x^2/4 for x > -1", sp.log(1 + x), x - x**2 / 4, ">=", [x > -1])
false("bounds", "sigmoid(z) = 1/(1 + e^z)", S(z), 1 / (1 + E(z)))
false("bounds", "d/dz softplus = sigmoid(-z)", sp.diff(SP(z), z), S(-z))

# --- matrices, some failing only for n >= 5 ----------------------------------------------------------
false("matrices", "tr(X)^2 <= 4 tr(X^T X) (fails for n >= 5, X = I)", sp.Trace(X)**2,
      4 * sp.Trace(X.T * X), "<=")
false("matrices", "4 I - J is PSD (fails for n >= 5)", 4 * I_n - sp.OneMatrix(n, n),
      sp.ZeroMatrix(n, n), ">=")
false("matrices", "(1^T x)^2 <= 4 x^T x (fails for n >= 5)", ((sp.OneMatrix(1, n) * xv)[0, 0])**2,
      4 * (xv.T * xv)[0, 0], "<=")
false("matrices", "det(2 I) <= 16 (fails for n >= 5)", sp.Determinant(2 * I_n), 16, "<=")
false("matrices", "sum of squared softmax entries >= 1/4 (fails for n >= 5)",
      sg.msum(sp.HadamardPower(sg.softmax(zr), 2)), sp.Rational(1, 4), ">=")
false("matrices", "push-through with the wrong side (I + PQ)^-1 P = P (I + PQ)^-1 ... Q P",
      (I_n + P * Q).I * P, P * (I_k + P.T * P).I)
false("matrices", "Woodbury with a + sign", (A + U * C * V).I,
      A.I + A.I * U * (C.I + V * A.I * U).I * V * A.I)
false("matrices", "determinant lemma without the inverse", sp.Determinant(A + uu * vv.T),
      (1 + (vv.T * A * uu)[0, 0]) * sp.Determinant(A))
false("matrices", "(A^-1 + B^-1)^-1 = (A + B)^-1", (A.I + B.I).I, (A + B).I)
false("matrices", "(AB)^T = A^T B^T", (A * B).T, A.T * B.T)
false("matrices", "det(A + B) = det A + det B", sp.Determinant(A + B),
      sp.Determinant(A) + sp.Determinant(B))

# --- index notation -------------------------------------------------------------------------------------
false("index notation", "ridge gradient missing the 2 on the penalty", sg.grad(ridge, ws[j]),
      2 * sp.Sum(xs[i, j] * (lin(i) - ys[i]), (i, 0, N - 1)) / N + lam * ws[j])
false("index notation", "ridge gradient with the sign slipped", sg.grad(ridge, ws[j]),
      2 * sp.Sum(xs[i, j] * (ys[i] - lin(i)), (i, 0, N - 1)) / N + 2 * lam * ws[j])
false("index notation", "sum over N samples <= 4 (fails for N >= 5)", sp.Sum(1, (i, 0, N - 1)), 4, "<=")
false("index notation", "sum of x_i <= sum of x_i^2", sp.Sum(xs[i, 0], (i, 0, N - 1)),
      sp.Sum(xs[i, 0]**2, (i, 0, N - 1)), "<=")

CLAIMS = TRUE + FALSE
