"""sg.derivation (the backpropagation sheet, each step checked against grad) and sg.verify_steps
(a hand derivation checked pair by pair)."""
import io
import re
from pathlib import Path

import pytest
import sympy as sp
from matplotlib import mathtext

import symgrad as sg
from symgrad import models
from symgrad.derive.sheet import build_sheet
from symgrad.errors import ArgumentError, SymgradError
from symgrad.ops.nodes import Sigmoid
from symgrad.verification.steps import _canonical, check_sheet

n, d, h, k, T, m = sp.symbols("n d h k T m", integer=True, positive=True)
X, Y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("Y", n, k)
W1, b1 = sp.MatrixSymbol("W1", d, h), sp.MatrixSymbol("b1", 1, h)
W2, b2 = sp.MatrixSymbol("W2", h, k), sp.MatrixSymbol("b2", 1, k)
H = (X*W1 + sp.OneMatrix(n, 1)*b1).applyfunc(sp.tanh)
Z = H*W2 + sp.OneMatrix(n, 1)*b2
MLP = (sg.msum(sg.logsumexp(Z, axis=1)) - sp.Trace(Y.T*Z)) / n          # the README's MLP
w, b, x, y, z = sp.symbols("w b x y z")


def _attention():
    Xa, Ya = sp.MatrixSymbol("X", T, m), sp.MatrixSymbol("Y", T, m)
    Wq, Wk, Wv = (sp.MatrixSymbol(s, m, m) for s in ("W_q", "W_k", "W_v"))
    A = sg.softmax(Xa*Wq*(Xa*Wk).T/sp.sqrt(m))
    O = A*Xa*Wv
    return sg.msum(sp.HadamardProduct(O - Ya, O - Ya))/T, [Wq, Wk, Wv]


def _sheets():
    logistic = models.logistic_regression()
    return [("mlp", MLP, [W1, b1, W2, b2]),
            ("logistic regression", logistic.loss, list(logistic.params)),
            ("attention", *_attention()),
            ("scalar linear regression", (w*x + b - y)**2, [w, b]),
            ("scalar logistic regression", sg.softplus(w*x + b) - y*(w*x + b), [w, b])]


SHEETS = _sheets()


def test_the_mlp_sheet_reads_like_backpropagation_by_hand():
    d_ = sg.derivation(MLP, [W1, b1, W2, b2])
    assert str(d_).splitlines() == [
        "forward:",
        "  Z1 = X*W1 + 𝟏*b1",
        "  H = tanh(Z1)",
        "  Z2 = H*W2 + 𝟏*b2",
        "  L = (sum(logsumexp(Z2)) - tr(Yᵀ*Z2))/n",
        "backward:",
        "  ∂L/∂Z2 = (softmax(Z2) - Y)/n",
        "  ∂L/∂W2 = Hᵀ*∂L/∂Z2",
        "  ∂L/∂b2 = 𝟏ᵀ*∂L/∂Z2",
        "  ∂L/∂H = ∂L/∂Z2*W2ᵀ",
        "  ∂L/∂Z1 = (1 - H**2) ⊙ ∂L/∂H",
        "  ∂L/∂W1 = Xᵀ*∂L/∂Z1",
        "  ∂L/∂b1 = 𝟏ᵀ*∂L/∂Z1"]
    assert [name for name, _ in d_.steps][:d_.forward] == ["Z1", "H", "Z2", "L"]
    assert d_.gradient(W2) == d_.symbols["H"].T*d_.symbols["∂L/∂Z2"]


def test_the_sheet_as_latex_and_markdown():
    d_ = sg.derivation(MLP, [W1, b1, W2, b2])
    assert d_.step_latex("∂L/∂W2") == \
        r"\frac{\partial L}{\partial W_{2}} = H^{T} \frac{\partial L}{\partial Z_{2}}"
    assert d_.step_latex("Z1") == r"Z_{1} = X W_{1} + \mathbf{1} b_{1}"
    for name, _ in d_.steps:
        mathtext.math_to_image("$%s$" % d_.step_latex(name), io.BytesIO(), format="png")
    assert d_._repr_latex_().startswith("$$\\begin{aligned}") and d_.latex().count("&=") == 11
    md = d_._repr_markdown_()
    assert md.startswith("**Forward**") and "**Backward**" in md
    assert "- $" + d_.step_latex("∂L/∂Z2") + "$" in md


@pytest.mark.parametrize("name, loss, wrt", SHEETS, ids=[s[0] for s in SHEETS])
def test_substituting_the_steps_back_gives_grads_result(name, loss, wrt):
    d_ = sg.derivation(loss, wrt)
    assert all(how == "the same expression as grad's" for _, how in d_.checks), d_.checks
    full = d_.expanded()
    for p, g in zip(wrt, sg.grad(loss, wrt)):
        label = "∂L/∂%s" % p
        assert d_.references[label] == g                      # the reference is grad's result
        assert _canonical(full[label]) == _canonical(g), (full[label], g)
        assert full[label].free_symbols <= loss.free_symbols | set(wrt) | {n, d, h, k, T, m}
    assert sg.verify(full["L"], loss, budget=1, points=3).status != "refuted"


def test_the_attention_sheet():
    d_ = sg.derivation(*_attention())
    lines = str(d_).splitlines()
    assert "  H = softmax(Z1)" in lines and "  L = sum(Z2**2)/T" in lines
    assert "  ∂L/∂Z1 = H ⊙ (∂L/∂H - (H ⊙ ∂L/∂H)*𝟏𝟏ᵀ)" in lines
    assert "  ∂L/∂W_k = Xᵀ*(∂L/∂Z1)ᵀ*X*W_q/sqrt(m)" in lines


def test_scalar_sheets_unused_parameters_and_name_clashes():
    d_ = sg.derivation(sg.softplus(w*x + b) - y*(w*x + b), [w, b])
    assert dict(d_.steps)["∂L/∂z"] == Sigmoid(d_.symbols["z"]) - y
    assert dict(d_.steps)["∂L/∂w"] == x*d_.symbols["∂L/∂z"]
    # z is the user's own symbol here, so the sheet calls the linear stage u
    d_ = sg.derivation(sg.softplus(w*x + b) - y*(w*x + b), [w, b, z])
    assert [name for name, _ in d_.steps] == ["u", "L", "∂L/∂u", "∂L/∂w", "∂L/∂b", "∂L/∂z"]
    assert d_.gradient(z) == 0


def test_a_sheet_that_drifts_from_grad_is_caught():
    d_ = build_sheet(MLP, [W1, b1, W2, b2])
    steps = dict(d_.steps)
    Z2 = d_.symbols["Z2"]
    wrong = (sg.softmax(Z2) - Y)/(2*n)
    d_.steps = [(name, wrong if name == "∂L/∂Z2" else expr) for name, expr in d_.steps]
    assert steps["∂L/∂Z2"] != wrong
    with pytest.raises(SymgradError, match="∂L/∂Z2"):
        check_sheet(d_, budget=1)


# --- verify_steps ---------------------------------------------------------------------------

a, c, lam, alpha, z1, z2 = sp.symbols("a c lam alpha z1 z2")
s = 1/(1 + sp.exp(-z))
Xm, Wm, Ym = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("W", d, 1), sp.MatrixSymbol("Y", n, 1)
MSE = sp.Trace((Xm*Wm - Ym).T*(Xm*Wm - Ym))
LSE = sp.log(sp.exp(z1) + sp.exp(z2))
BCE = -y*sp.log(s) - (1 - y)*sp.log(1 - s)

# (name, steps, relation, assumptions)
RIGHT = [
    ("sigmoid derivative", [sp.diff(s, z), sp.exp(-z)/(1 + sp.exp(-z))**2,
                            s*(sp.exp(-z)/(1 + sp.exp(-z))), s*(1 - s)], "==", ()),
    ("squared error gradient", [sp.diff((w*x + b - y)**2, w), 2*(w*x + b - y)*x,
                                2*x**2*w + 2*x*(b - y)], "==", ()),
    ("softplus derivative is the sigmoid", [sp.diff(sp.log(1 + sp.exp(z)), z),
                                            sp.exp(z)/(1 + sp.exp(z)), 1/(1 + sp.exp(-z))], "==", ()),
    ("log-sum-exp shift", [LSE, sp.log(sp.exp(z1)*(1 + sp.exp(z2 - z1))),
                           z1 + sp.log(1 + sp.exp(z2 - z1))], "==", ()),
    ("cross-entropy gradient", [sp.diff(BCE, z), -y*(1 - s) + (1 - y)*s, s - y], "==", ()),
    ("L2 penalty gradient", [sp.diff(lam/2*w**2 + (w*x - y)**2, w), lam*w + 2*x*(w*x - y),
                             (lam + 2*x**2)*w - 2*x*y], "==", ()),
    ("gradient descent step", [w - alpha*sp.diff((w*x - y)**2, w), w - 2*alpha*x*(w*x - y),
                               w*(1 - 2*alpha*x**2) + 2*alpha*x*y], "==", ()),
    ("softmax of two logits", [sp.exp(z1)/(sp.exp(z1) + sp.exp(z2)),
                               1/(1 + sp.exp(z2)/sp.exp(z1)), 1/(1 + sp.exp(z2 - z1))], "==", ()),
    ("matrix least squares", [sg.grad(MSE, Wm), 2*Xm.T*(Xm*Wm - Ym),
                              2*Xm.T*Xm*Wm - 2*Xm.T*Ym], "==", ()),
    ("AM-GM", [x**2 + 1, (x - 1)**2 + 2*x, 2*x], ["==", ">="], ()),
    ("tanh derivative", [sp.diff(sp.tanh(x), x), 1 - sp.tanh(x)**2,
                         4/(sp.exp(x) + sp.exp(-x))**2], "==", ()),
    ("log of a product", [sp.log(a*c), sp.log(a) + sp.log(c), sp.log(c) + sp.log(a)], "==",
     [a > 0, c > 0]),
]

# (name, steps, relation, assumptions, index of the first wrong pair)
WRONG = [
    ("sigmoid derivative, plus for minus", [sp.diff(s, z), sp.exp(-z)/(1 + sp.exp(-z))**2,
                                            s*(1 + s), s + s**2], "==", (), 1),
    ("squared error gradient without the 2", [sp.diff((w*x + b - y)**2, w), (w*x + b - y)*x,
                                              x**2*w + x*(b - y)], "==", (), 0),
    ("chain rule without the inner derivative", [sp.diff(sp.sin(w*x), w), sp.cos(w*x),
                                                 sp.cos(x*w)], "==", (), 0),
    ("log-sum-exp shift, wrong sign", [LSE, sp.log(sp.exp(z1)*(1 + sp.exp(z2 - z1))),
                                       z1 + sp.log(1 + sp.exp(z1 - z2))], "==", (), 1),
    ("cross-entropy gradient flipped", [sp.diff(BCE, z), -y*(1 - s) + (1 - y)*s, y - s], "==",
     (), 1),
    ("tanh derivative with a plus", [sp.diff(sp.tanh(x), x), 1 + sp.tanh(x)**2,
                                     1 + sp.tanh(x)*sp.tanh(x)], "==", (), 0),
    ("gradient ascent for descent", [w - alpha*sp.diff((w*x - y)**2, w),
                                     w - 2*alpha*x*(w*x - y), w + 2*alpha*x*(w*x - y)], "==",
     (), 1),
    ("square of a sum without the cross term", [(a + c)**2, (a + c)*(a + c), a**2 + c**2],
     "==", (), 1),
    ("softmax of two logits, swapped", [sp.exp(z1)/(sp.exp(z1) + sp.exp(z2)),
                                        1/(1 + sp.exp(z2)/sp.exp(z1)),
                                        1/(1 + sp.exp(z1 - z2))], "==", (), 1),
    ("matrix least squares, a 2 lost", [sg.grad(MSE, Wm), 2*Xm.T*(Xm*Wm - Ym),
                                        2*Xm.T*Xm*Wm - Xm.T*Ym], "==", (), 1),
    ("AM-GM pushed too far", [x**2 + 1, (x - 1)**2 + 2*x, 2*x, 2], ["==", ">=", ">="], (), 2),
    ("a right step after a wrong one", [(w*x - y)**2, w**2*x**2 + y**2, y**2 + (w*x)**2],
     "==", (), 0),
    ("off by 10^-12", [s*(1 - s), s - s**2, s - s**2 + sp.Rational(1, 10**12)], "==", (), 1),
]


@pytest.mark.parametrize("name, steps, relation, assumptions", RIGHT, ids=[r[0] for r in RIGHT])
def test_right_derivations_pass_with_proofs(name, steps, relation, assumptions):
    result = sg.verify_steps(steps, relation, assumptions, budget=10)
    assert result.first_wrong is None and result.ok and result.counterexample is None
    assert len(result.verdicts) == len(steps) - 1
    assert all(v.status == "proven" for v in result.verdicts), str(result)
    assert "every step holds" in str(result)


def _differs(v, relation):
    """Re-check a certified counterexample: both sides at the point, exactly (or to 60 digits
    for transcendental values, with a margin far above the evaluation error)."""
    at = {key: sp.sympify(value) for key, value in v.counterexample.items()}
    lhs, rhs = (sp.sympify(e).xreplace(at) for e in (v.lhs, v.rhs))
    if getattr(lhs, "is_Matrix", False):
        diff = (lhs - rhs).doit().as_explicit()
        return any(abs(sp.N(e, 60)) > sp.Float(10)**-40 for e in diff)
    gap = sp.N(lhs - rhs, 60)
    return gap < -sp.Float(10)**-40 if relation in (">=", ">") else abs(gap) > sp.Float(10)**-40


@pytest.mark.parametrize("name, steps, relation, assumptions, wrong", WRONG,
                         ids=[r[0] for r in WRONG])
def test_wrong_derivations_name_the_first_wrong_step(name, steps, relation, assumptions, wrong):
    result = sg.verify_steps(steps, relation, assumptions, budget=10)
    assert result.first_wrong == wrong, str(result)
    assert not result.ok and len(result.verdicts) == len(steps) - 1
    v = result.verdicts[wrong]
    assert v.status == "refuted" and v.counterexample == result.counterexample
    rels = [relation] * len(result.verdicts) if isinstance(relation, str) else relation
    assert _differs(v, rels[wrong])
    assert all(u.status in ("proven", "probable") for u in result.verdicts[:wrong])
    assert "first wrong step: %d -> %d" % (wrong, wrong + 1) in str(result)


def test_verify_steps_refuses_bad_input():
    with pytest.raises(ArgumentError, match="at least two"):
        sg.verify_steps([x])
    with pytest.raises(ArgumentError, match="one per"):
        sg.verify_steps([x, x, x], relation=["=="])
    with pytest.raises(ArgumentError, match="relation"):
        sg.verify_steps([x, x], relation="~")


# --- the README's sheet stays what symgrad prints (its CLI examples: test_readme_cli.py) ---

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_the_readme_sheet_is_what_derivation_prints():
    shown = re.search(r"print\(sheet\)\n```\n\n```text\n(.*?)\n```", README, flags=re.S)
    assert shown, "the README's derivation sheet block is missing"
    assert shown.group(1) == str(sg.derivation(MLP, [W1, b1, W2, b2]))



def test_the_readme_comments_in_the_derivation_section_are_what_symgrad_prints():
    grad_w1 = re.search(r"print\(sg\.grad\(L, W1\)\)\s+# (.*)\n", README).group(1)
    assert grad_w1 == str(sg.grad(MLP, W1))
    grad_w2 = re.search(r"sg\.grad\(L, W2\)\s+# (.*):\n", README).group(1)
    assert grad_w2 == str(sg.grad(MLP, W2))
    shown = re.search(r"steps = sg\.verify_steps\(\[(.*?)\]\)\n.*# \((\d+), \{z: (-?\d+)\}\)", README,
                      flags=re.S)
    assert shown, "the README's verify_steps example is missing"
    s = 1/(1 + sp.exp(-z))
    steps = sg.verify_steps([sp.diff(s, z), sp.exp(-z)*sg.sigmoid(z)**2,
                             sg.sigmoid(z)*(1 + sg.sigmoid(z))])
    assert shown.group(1).split() == ("sp.diff(s, z), sp.exp(-z)*sg.sigmoid(z)**2, "
                                      "sg.sigmoid(z)*(1 + sg.sigmoid(z))").split()
    assert (steps.first_wrong, steps.counterexample) == (int(shown.group(2)),
                                                         {z: int(shown.group(3))})


def test_a_step_that_no_point_checked_is_not_passed(monkeypatch):
    """A verdict without a single evaluated point is retried with more time, and a step that
    stays unchecked raises instead of entering d.checks."""
    import symgrad.verification.steps as steps_module
    d_ = build_sheet((w*x + b - y)**2, [w, b])
    zs = d_.symbols["z"]
    right = 2*zs*(sp.sin(w)**2 + sp.cos(w)**2)                    # right, but not grad's form
    d_.steps = [(name, right if name == "∂L/∂z" else expr) for name, expr in d_.steps]
    assert _canonical(d_.expanded()["∂L/∂z"]) != _canonical(d_.references["∂L/∂z"])
    budgets = []

    def starved(lhs, rhs, relation="==", assumptions=(), seed=0, *, budget=5.0, points=None):
        budgets.append(budget)
        return sg.Verdict("probable", "random points", "==", 0, lhs, rhs, note="out of time")
    monkeypatch.setattr(steps_module, "verify", starved)
    with pytest.raises(SymgradError, match="∂L/∂z could not be checked"):
        check_sheet(d_, budget=1)
    assert budgets == [1, 2, 4, 8]
    monkeypatch.undo()
    assert dict(check_sheet(d_, budget=5).checks)["∂L/∂z"].status == "proven"


def test_verify_steps_retries_a_pair_no_point_was_evaluated_for(monkeypatch):
    import symgrad.verification.steps as steps_module
    calls = []

    def slow_start(lhs, rhs, relation="==", assumptions=(), seed=0, *, budget=5.0, points=None):
        calls.append(budget)
        return sg.Verdict("probable", "random points", relation, 0 if budget < 4 else 20, lhs, rhs)
    monkeypatch.setattr(steps_module, "verify", slow_start)
    result = sg.verify_steps([x, x, x], budget=1)
    assert calls == [1, 2, 4] * 2 and all(v.points == 20 for v in result.verdicts)
    calls.clear()
    sg.verify_steps([x, x], budget=0)
    assert calls == [0]                                   # budget 0: sampling only, once
