"""Derivation and compilation are sized before they start (issue #18).

``as_expression`` measures every expression the Python API receives (distinct
subexpressions, nodes written out, depth) in time linear in its distinct
subexpressions, and refuses one too big to derive with UnsupportedExpression
saying what to do; what it accepts builds. Ten adversarial inputs, each either
refused within 1 s or built within 5 s (the bench_build target), allowing 2x
for a loaded machine.
"""

import time

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
import symgrad.graph.lower as lower
from symgrad.errors import UnsupportedExpression

x, y = sp.symbols("x y", real=True)
M = sp.MatrixSymbol("M", 3, 3)
A, B = sp.MatrixSymbol("A", 3, 3), sp.MatrixSymbol("B", 3, 3)
REFUSE, BUILD = 1.0, 5.0          # seconds; each is checked within 2x


def doubling(k):
    """e -> e*(e + i), k times: k distinct levels, 2**k nodes written out."""
    e = x
    for i in range(k):
        e = e * (e + i + 1)
    return e


def nested(depth):
    e = x
    for _ in range(depth):
        e = sp.sin(e, evaluate=False)
    return e


CASES = {
    "shared subexpressions, 2**60 nodes written out": (lambda: (doubling(60), [x]), "written out"),
    "nested past the depth limit": (lambda: (nested(lower.MAX_DEPTH + 50), [x]), "levels deep"),
    "nested just inside the depth limit": (lambda: (nested(lower.MAX_DEPTH // 3), [x]), None),
    "a matrix to the millionth power": (lambda: (sp.Trace(M**1000000), [M]), None),
    "exact powers (x^10000 + 1)^10000": (lambda: ((x**10000 + 1)**10000, [x]), None),
    "the product of 120 sines": (lambda: (sp.Mul(*[sp.sin(s) for s in
                                                   sp.symbols("s0:120", real=True)]),
                                          list(sp.symbols("s0:120", real=True))), None),
    "a sum of 300 distinct terms": (lambda: (sp.Add(*[sp.sin(i * x + y) for i in range(1, 301)]),
                                            [x, y]), None),
    "a chain of 200 matrix products": (lambda: (sp.Trace(sp.MatMul(*([A, B] * 100))), [A, B]),
                                       None),
    "an identity of size 10**9": (lambda: (sp.Trace(sp.Identity(10**9) * x), [x]), None),
    "a power tower x**x**x... 40 high": (lambda: (_tower(40), [x]), None),
}


def _tower(k):
    e = x
    for _ in range(k):
        e = x**e
    return e


@pytest.mark.parametrize("name", list(CASES))
def test_an_adversarial_expression_is_refused_fast_or_built(name):
    build, refused = CASES[name]
    expr, wrt = build()
    start = time.perf_counter()
    if refused:
        with pytest.raises(UnsupportedExpression, match=refused):
            sg.value_and_grad(expr, wrt)
        assert time.perf_counter() - start < 2 * REFUSE
    else:
        f = sg.value_and_grad(expr, wrt)
        assert time.perf_counter() - start < 2 * BUILD
        assert f.source


def test_refused_before_any_work_in_every_entry_point():
    e = doubling(60)
    for call in (lambda: sg.grad(e, x), lambda: sg.value_and_grad(e, [x]),
                 lambda: sg.hessian(e, [x]),
                 lambda: sg.fit(e, {x: 0.5}, {}, sg.GD(), 1)):
        start = time.perf_counter()
        with pytest.raises(UnsupportedExpression, match="written out"):
            call()
        assert time.perf_counter() - start < 2 * REFUSE


def test_too_many_distinct_subexpressions(monkeypatch):
    monkeypatch.setattr(lower, "MAX_DISTINCT", 500)
    e = sp.Add(*[sp.Symbol("w%d" % i) * sp.sin(sp.Symbol("w%d" % i)) for i in range(300)])
    with pytest.raises(UnsupportedExpression, match="more than 500 distinct subexpressions"):
        sg.grad(e, sp.Symbol("w0"))


def test_measure_counts_shared_nodes_once_and_any_depth():
    size = lower.measure(doubling(200))
    assert size.distinct < 1000 and size.written >= 10 * lower.MAX_WRITTEN and size.depth > 200
    assert lower.measure(nested(5000)).depth == 5001          # no recursion in measuring


def test_a_deep_expression_inside_the_limit_has_the_right_gradient():
    e = nested(lower.MAX_DEPTH // 3)
    f = sg.value_and_grad(e, [x])
    value, (grad,) = f(0.7)
    v, g = 0.7, 1.0
    for _ in range(lower.MAX_DEPTH // 3):
        g *= np.cos(v)
        v = np.sin(v)
    assert abs(value - v) < 1e-14 and abs(grad - g) < 1e-14 * max(1, abs(g))
