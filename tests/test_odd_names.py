"""Odd symbol names give the same loss and gradients as plain names (issue #18).

A table of 40 names a user may give SymPy symbols: fullwidth letters (ｌｏｓｓ, ｎｐ, and ｘ
beside a plain x, which NFKC folds to the same text), Greek letters, subscripts and
superscripts, LaTeX-like text, ligatures and compatibility characters, Python keywords
and builtins, the names of generated variables and modules (loss, value, grad_w, np,
special, jnp, torch), and text that is no identifier at all. The same model is compiled
under these names and under plain ones (p0, p1, ...); values and gradients must agree,
and the generated source must compile with every name a valid, distinct identifier.
"""

import keyword
import re

import numpy as np
import pytest
import sympy as sp

import symgrad as sg

ODD = ["ｌｏｓｓ", "ｎｐ", "ｘ", "x", "λ", "θ_1", "α", "w₁", "x²", "\\xi", "lambda", "class",
       "def", "None", "np", "loss", "value", "grad", "grad_x", "special", "g0", "t0",
       "value_and_grad", "jnp", "torch", "math", "x[0]", "a.b", "1x", "é", "ß", "ﬁ", "Ⅳ",
       "IV", "ℌ", "H", "__init__", "print", "x y", "sum"]


def model(symbols):
    """A loss that uses every symbol in a different role (powers, products, functions)."""
    k = len(symbols)
    terms = [(i % 5 + 1) * s**2 / 7 for i, s in enumerate(symbols)]
    terms += [sp.sin(symbols[i]) * symbols[(i + 3) % k] for i in range(0, k, 3)]
    terms += [sp.log(1 + sp.exp(symbols[i] - symbols[(i + 1) % k])) for i in range(1, k, 4)]
    return sp.Add(*terms)


def test_the_table_is_large_and_really_odd():
    assert len(ODD) >= 30 and len(set(ODD)) == len(ODD)
    assert sum(not name.isidentifier() or keyword.iskeyword(name) for name in ODD) >= 10


@pytest.mark.parametrize("split", [len(ODD) // 2, len(ODD)])
def test_odd_names_give_the_plain_names_gradients(split):
    odd = [sp.Symbol(name, real=True) for name in ODD]
    plain = [sp.Symbol("p%d" % i, real=True) for i in range(len(ODD))]
    f_odd = sg.value_and_grad(model(odd), odd[:split], odd[split:])
    f_plain = sg.value_and_grad(model(plain), plain[:split], plain[split:])
    header = re.search(r"def value_and_grad\((.*)\):", f_odd.source).group(1).split(", ")
    assert len(set(header)) == len(ODD)
    assert all(h.isidentifier() and not keyword.iskeyword(h) for h in header)
    rng = np.random.default_rng(1)
    for _ in range(3):
        point = list(rng.uniform(-2, 2, size=len(ODD)))
        v_odd, g_odd = f_odd(*point)
        v_plain, g_plain = f_plain(*point)
        np.testing.assert_allclose(v_odd, v_plain, rtol=1e-14)
        np.testing.assert_allclose(np.array(g_odd, dtype=float), np.array(g_plain, dtype=float),
                                   rtol=1e-13, atol=1e-15)


def test_odd_names_in_symbolic_gradients_and_check_grad():
    odd = [sp.Symbol(name, real=True) for name in ODD[:12]]
    plain = [sp.Symbol("p%d" % i, real=True) for i in range(12)]
    back = dict(zip(plain, odd))
    for s, q in zip(odd, plain):
        difference = sg.grad(model(odd), s) - sg.grad(model(plain), q).xreplace(back)
        assert sp.simplify(difference.rewrite(sp.exp)) == 0, (s, difference)
    assert sg.check_grad(model(odd), odd[:4], odd[4:]).ok
