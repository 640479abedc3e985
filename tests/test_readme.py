"""The README's Python examples run, and its claims about outputs hold."""

import re
from pathlib import Path

import sympy as sp

import symgrad as sg

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_python_examples_run():
    namespace = {}
    for block in _python_blocks():
        if block.lstrip().startswith("def value_and_grad"):
            continue                                  # generated code shown, checked below
        exec(compile(block, "README.md", "exec"), namespace)   # the project's own README
    assert namespace["report"].ok
    assert namespace["value"] == 30.0 and namespace["dw"] == -30.0 and namespace["db"] == -10.0


def test_shown_outputs_are_what_symgrad_prints():
    w, b, x, y = sp.symbols("w b x y")
    assert str(sg.grad((w*x + b - y)**2, w)) == "2*x*(b + w*x - y)"
    z = sp.Symbol("z")
    s = 1 / (1 + sp.exp(-z))
    assert sg.verify(sp.diff(s, z), s*(1 - s)).status == "proven"
    v = sg.verify(sp.diff(s, z), s*(1 + s))
    assert v.status == "refuted" and v.counterexample == {z: -17}


def test_generated_mlp_code_shown_is_current():
    n, d, h, k = sp.symbols("n d h k", integer=True, positive=True)
    X, Y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("Y", n, k)
    W1, b1 = sp.MatrixSymbol("W1", d, h), sp.MatrixSymbol("b1", 1, h)
    W2, b2 = sp.MatrixSymbol("W2", h, k), sp.MatrixSymbol("b2", 1, k)
    H = (X*W1 + sp.OneMatrix(n, 1)*b1).applyfunc(sp.tanh)
    Z = H*W2 + sp.OneMatrix(n, 1)*b2
    L = (sg.msum(sg.logsumexp(Z, axis=1)) - sp.Trace(Y.T*Z)) / n
    source = sg.value_and_grad(L, [W1, b1, W2, b2], [X, Y]).source
    shown = next(b for b in _python_blocks() if b.lstrip().startswith("def value_and_grad"))
    assert shown.strip() in source
