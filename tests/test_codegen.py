"""Generated NumPy code: deterministic, readable, vectorised, quiet, safe names, per-sample calls."""

import importlib.util
import keyword
import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sympy as sp
from scipy import special

import symgrad as sg
from helpers import as_real, numeric

w, b, a = sp.symbols("w b a")
x, y = sp.symbols("x y")


def body(source, name="value_and_grad"):
    """The text of one generated function (its def line to the next blank-line gap)."""
    start = source.index("def %s(" % name)
    end = source.find("\n\n\n", start)
    return source[start:] if end < 0 else source[start:end]


def code_lines(source):
    """Source lines after the module docstring (which quotes the loss)."""
    rest = source.split('"""', 2)[2]
    return [line for line in rest.splitlines() if line.strip()]


def quiet_call(f, *values):
    """Call f with every floating-point problem turned into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            return f(*values)


def exact(expr, subs):
    """``expr`` at a point given as floats (read exactly), as a float."""
    return float(numeric(expr, {q: sp.Rational(v) for q, v in subs.items()}, 30))


def derivative(expr, symbol):
    """sympy.diff over real symbols: the reference symgrad must match."""
    return sp.diff(as_real(expr), as_real(symbol))


# --- determinism ------------------------------------------------------------------------------

BUILD = """
import sympy as sp, symgrad as sg
ws = sp.symbols("w0:6")
xs = sp.symbols("x0:3")
z = sum(wi * xs[i % 3] for i, wi in enumerate(ws))
loss = (sp.log(1 + sp.exp(z)) + sp.Max(ws[0], ws[1], 0) * sp.erf(ws[2])
        + sp.Piecewise((ws[3]**2, ws[3] > 1), (sp.Abs(ws[4]), ws[4] < 0),
                       (sp.loggamma(1 + ws[5]**2), True))
        + sg.sigmoid(ws[1] * xs[0]) * sp.atan2(ws[2], 1 + ws[3]**2))
source = sg.value_and_grad(loss, wrt=list(ws), args=list(xs)).source
"""


def build_source():
    namespace = {}
    exec(BUILD, namespace)
    return namespace["source"]


def test_source_is_deterministic_within_a_process():
    first, second = build_source(), build_source()
    assert first == second


def test_source_is_deterministic_across_processes():
    def start(seed):        # two fresh processes with different hash seeds, run side by side
        env = dict(os.environ, PYTHONHASHSEED=seed)
        env["PYTHONPATH"] = os.pathsep.join([os.getcwd()] + [p for p in [env.get("PYTHONPATH")] if p])
        return subprocess.Popen([sys.executable, "-c", BUILD + "\nimport sys; sys.stdout.write(source)"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    here = build_source()
    for seed, proc in [(seed, start(seed)) for seed in ("0", "2718")]:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out == here, "PYTHONHASHSEED=%s gives other source" % seed


# --- readable, imports, special functions -----------------------------------------------------

def test_source_is_readable_python():
    source = build_source()
    assert "def value_and_grad(" in source and "def value(" in source
    assert re.search(r"^( {4}| {8})return ", body(source), re.M)   # 8 inside an errstate block
    assert not re.search(r"\blambda\b", source)
    assert ".dot(" not in source
    compile(source, "<generated>", "exec")


def test_imports_are_numpy_only_without_special_functions():
    f = sg.value_and_grad((w * x + b - y)**2 + sp.exp(-w**2) * sp.Abs(b), [w, b], [x, y])
    imports = [line for line in code_lines(f.source) if re.match(r"(import|from) ", line)]
    assert imports == ["import numpy as np"]


@pytest.mark.parametrize("expr, printed, reference", [
    (sp.erf(w), "special.erf(", lambda v: special.erf(v)),
    (sp.erfc(w), "special.erfc(", lambda v: special.erfc(v)),
    (sp.loggamma(w), "special.gammaln(", lambda v: special.gammaln(v)),
    (sp.gamma(w), "special.gamma(", lambda v: special.gamma(v)),
    (sp.digamma(w), "special.psi(", lambda v: special.psi(v)),
    (sp.polygamma(1, w), "special.polygamma(1, ", lambda v: special.polygamma(1, v)),
    (sg.sigmoid(w), "special.expit(", lambda v: special.expit(v)),
])
def test_special_functions_map_to_scipy_special(expr, printed, reference):
    f = sg.value_and_grad(expr, [w])
    imports = [line for line in code_lines(f.source) if re.match(r"(import|from) ", line)]
    assert imports == ["import numpy as np", "from scipy import special"]
    assert printed in body(f.source, "value")
    value, (grad,) = f(1.75)
    np.testing.assert_allclose(value, reference(1.75), rtol=1e-14)
    np.testing.assert_allclose(grad, exact(derivative(expr, w), {w: 1.75}), rtol=1e-12)


# --- vectorised kinks and branches ------------------------------------------------------------

@pytest.mark.parametrize("expr, printed", [
    (sp.Max(w * x, 0), "np.maximum("),
    (sp.Min(w * x, 1), "np.minimum("),
    (sp.Abs(w * x - 1), "np.abs("),
    (sp.Piecewise((w * x, w * x > 0), (0, True)), "np.where("),
    (sp.Piecewise((w * x, x > 1), (w, x > -1), (-w * x, True)), "np.select("),
])
def test_kinks_and_branches_vectorise(expr, printed):
    f = sg.value_and_grad(expr, [w], [x])
    assert printed in body(f.source, "value")
    assert not any(re.search(r"\bif\b", line) for line in code_lines(f.source))
    xs = np.array([-2.0, -0.5, 0.25, 1.5, 3.0])
    value, (grad,) = f(0.75, xs)
    values = [exact(expr, {w: 0.75, x: v}) for v in xs]
    grads = [exact(derivative(expr, w), {w: 0.75, x: v}) for v in xs]
    np.testing.assert_allclose(value, np.mean(values), rtol=1e-14)
    np.testing.assert_allclose(grad, np.mean(grads), rtol=1e-14)


UNSELECTED = [
    pytest.param(sp.Piecewise((sp.log(w * x), w * x > 0), (w * x, True)), id="log"),
    pytest.param(sp.Piecewise((sp.sqrt(w * x), w * x > 0), (-w * x, True)), id="sqrt"),
    pytest.param(sp.Piecewise((1 / (w * x), w * x > 0), (w, True)), id="reciprocal"),
    pytest.param(sp.Piecewise((sp.acosh(w * x) + sp.asin(1 / (w * x)), w * x > 1), (w, True)),
                 id="acosh-asin"),
    pytest.param(sp.Piecewise((x * sp.log(x) * w, x > 0), (0, True)) + sp.log(1 + w**2), id="data"),
    pytest.param(sp.Piecewise((sp.Piecewise((sp.log(w * x), w * x > 1), (w, True)), w * x > -5),
                              (1 / (w * x + 10), True)), id="nested"),
    pytest.param(sp.Piecewise((sp.Piecewise((sp.sqrt(w * x), w * x > 0), (0, True)), w * x > -5),
                              (0, True)), id="nested-sqrt"),
]


@pytest.mark.parametrize("expr", UNSELECTED)
def test_unselected_branch_raises_no_floating_point_warning(expr):
    f = sg.value_and_grad(expr, [w], [x])
    for xs in (-1.0, np.array([-1.0, -20.0, 0.0, 0.5, 2.0])):
        value, (grad,) = quiet_call(f, 1.0, xs)
        points = np.atleast_1d(xs)
        np.testing.assert_allclose(value, np.mean([exact(expr, {w: 1, x: v}) for v in points]),
                                   rtol=1e-12)
        np.testing.assert_allclose(grad, np.mean([exact(derivative(expr, w), {w: 1, x: v})
                                                  for v in points]), rtol=1e-12)
        assert np.isfinite(quiet_call(f.value, 1.0, xs))


# --- identifiers ------------------------------------------------------------------------------

NAMES = ["lambda", "x[0]", "a.b", "class", "np", "t0", "loss", "1x", "special", "g0", "value",
         "a_b", "x_0", "def", "grad"]


def test_awkward_symbol_names_give_valid_code():
    syms = [sp.Symbol(name) for name in NAMES]
    expr = sum((i + 1) * q**2 for i, q in enumerate(syms)) \
        + syms[0] * sp.sin(syms[4]) * sp.erf(syms[8]) + sp.Max(syms[2], syms[10]) * syms[11]
    params, data = syms[:9], syms[9:]
    f = sg.value_and_grad(expr, params, data)
    header = re.search(r"def value_and_grad\((.*)\):", f.source).group(1).split(", ")
    assert len(header) == len(syms) == len(set(header))
    assert all(h.isidentifier() and not keyword.iskeyword(h) for h in header)
    point = {q: sp.Rational(i + 1, 8) - 1 for i, q in enumerate(syms)}
    value, grads = f(*[float(point[q]) for q in syms])
    np.testing.assert_allclose(value, float(numeric(expr, point, 30)), rtol=1e-13)
    for q, g in zip(params, grads):
        np.testing.assert_allclose(g, float(numeric(derivative(expr, q), point, 30)),
                                   rtol=1e-13, atol=1e-15)


def test_gradient_names_do_not_shadow_inputs():
    v, grad_v = sp.symbols("v grad_v")
    f = sg.value_and_grad(v**2 + w * grad_v, [w, v], [grad_v])
    value, (dw, dv) = f(1.0, 3.0, 5.0)
    assert (float(value), float(dw), float(dv)) == (14.0, 5.0, 6.0)


# --- constants and reciprocals print with their parentheses -----------------------------------

@pytest.mark.parametrize("expr", [w * (sp.pi - 1), w * (sp.sin(2) + 1), (w + 1)**2 * (sp.E - 1),
                                  w**(1 + sp.log(3))])
def test_compound_constants_are_parenthesized(expr):
    value, (grad,) = sg.value_and_grad(expr, [w])(1.5)
    np.testing.assert_allclose(value, exact(expr, {w: 1.5}), rtol=1e-14)
    np.testing.assert_allclose(grad, exact(derivative(expr, w), {w: 1.5}), rtol=1e-14)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")      # arccos(1/1/w) of |1/w| > 1: nan
@pytest.mark.parametrize("expr", [w + sp.acot(1 / w), w + sp.asec(1 / w), w + sp.acoth(1 / w)])
def test_value_function_matches_the_loss(expr):
    f = sg.value_and_grad(expr, [w])
    np.testing.assert_allclose(f.value(0.5), exact(expr, {w: 0.5}), rtol=1e-14)


def test_value_function_matches_value_and_grad():
    f = sg.value_and_grad(sp.log(1 + sp.exp(w * x)) + sp.Max(w, b) * sp.erf(b), [w, b], [x])
    xs = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_allclose(f.value(0.25, -0.5, xs), f(0.25, -0.5, xs)[0], rtol=1e-15)


# --- arguments --------------------------------------------------------------------------------

def test_unused_arguments_are_accepted():
    f = sg.value_and_grad(w**2, [w, b], [x, y])
    value, (dw, db) = f(3.0, 5.0, [1.0, 2.0], 7.0)
    assert float(value) == pytest.approx(9.0, rel=1e-15)
    assert float(dw) == pytest.approx(6.0, rel=1e-15) and float(db) == 0.0


def test_wrong_number_of_arguments_raises_argument_error():
    f = sg.value_and_grad((w * x - y)**2, [w], [x, y])
    for values in [(1.0,), (1.0, 2.0), (1.0, 2.0, 3.0, 4.0)]:
        with pytest.raises(sg.ArgumentError) as info:
            f(*values)
        assert isinstance(info.value, sg.SymgradError)
        assert "expected 3 arguments" in str(info.value) and "got %d" % len(values) in str(info.value)
    with pytest.raises(sg.ArgumentError):
        f.value(1.0)


def test_mismatched_sample_counts_name_both_symbols():
    f = sg.value_and_grad((w * x - y)**2, [w], [x, y])
    with pytest.raises(sg.ShapeMismatch) as info:
        f(1.0, [1.0, 2.0, 3.0], [1.0, 2.0])
    message = str(info.value)
    assert isinstance(info.value, sg.SymgradError)
    assert re.search(r"\by\b.*\b2\b", message) and re.search(r"\bx\b.*\b3\b", message), message


def test_array_parameter_in_per_sample_mode_is_rejected():
    f = sg.value_and_grad((w * x - y)**2, [w], [x, y])
    with pytest.raises(sg.ShapeMismatch) as info:
        f([1.0, 2.0], [1.0, 2.0], [1.0, 2.0])
    assert "w" in str(info.value)


def test_per_sample_semantics():
    f = sg.value_and_grad((w * x + b - y)**2, [w, b], [x, y])
    xs, ys = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0])
    value, (dw, db) = f(0.5, 0.25, xs, ys)
    r = 0.5 * xs + 0.25 - ys
    np.testing.assert_allclose(value, np.mean(r**2), rtol=1e-15)
    np.testing.assert_allclose(dw, np.mean(2 * r * xs), rtol=1e-15)
    np.testing.assert_allclose(db, np.mean(2 * r), rtol=1e-15)
    for call in (lambda: f(0.5, 0.25, xs.tolist(), ys.tolist()),         # lists
                 lambda: f(0.5, 0.25, xs.reshape(-1, 1), ys),             # an (n, 1) column
                 lambda: f(0.5, 0.25, xs, ys.reshape(-1, 1).tolist())):
        v, (gw, gb) = call()
        np.testing.assert_allclose([v, gw, gb], [value, dw, db], rtol=1e-15)
    # scalar data goes with every sample
    v, (gw, gb) = f(0.5, 0.25, xs, 3.0)
    np.testing.assert_allclose(v, np.mean((0.5 * xs + 0.25 - 3.0)**2), rtol=1e-15)


def test_float32_in_float32_out():
    f = sg.value_and_grad(sp.log(1 + sp.exp(w * x)) + sp.erf(b) * y, [w, b], [x, y])
    xs = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    value, grads = f(np.float32(0.3), np.float32(-0.2), xs, xs * 2)
    assert np.asarray(value).dtype == np.float32
    assert all(np.asarray(g).dtype == np.float32 for g in grads)
    reference, reference_grads = f(0.3, -0.2, xs.astype(float), 2 * xs.astype(float))
    np.testing.assert_allclose(value, reference, rtol=1e-5)
    np.testing.assert_allclose(grads, reference_grads, rtol=1e-5)
    value64, _ = f(0.3, -0.2, xs.astype(float), 2 * xs.astype(float))
    assert np.asarray(value64).dtype == np.float64


def test_source_runs_standalone(tmp_path):
    expr = sp.log(1 + sp.exp(w * x + b)) - y * (w * x + b) + sp.Max(w, 0) * sp.erf(b)
    f = sg.value_and_grad(expr, [w, b], [x, y])
    path = tmp_path / "generated_loss.py"
    path.write_text(f.source)
    spec = importlib.util.spec_from_file_location("generated_loss", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    xs, ys = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, 1.0])
    value, grads = module.value_and_grad(0.75, -0.25, xs, ys)
    expected_value, expected_grads = f(0.75, -0.25, xs, ys)
    np.testing.assert_allclose(value, expected_value, rtol=1e-15)
    np.testing.assert_allclose(grads, expected_grads, rtol=1e-15)
    np.testing.assert_allclose(module.value(0.75, -0.25, xs, ys), expected_value, rtol=1e-15)


# --- one function, shared subexpressions ------------------------------------------------------

@pytest.mark.parametrize("count", [5, 12])
def test_loss_and_gradients_share_the_forward_pass(count):
    params = sp.symbols("q0:%d" % count)
    f = sg.value_and_grad(sp.Mul(*[sp.sin(q) for q in params]), list(params))
    text = body(f.source)
    assert text.count("np.sin(") == count         # each factor once, not once per parameter
    assert text.count("np.cos(") == count
    assert len(re.findall(r"^    loss = ", text, re.M)) == 1
    point = [0.1 * (i + 1) for i in range(count)]
    value, grads = f(*point)
    np.testing.assert_allclose(value, np.prod(np.sin(point)), rtol=1e-13)
    for i, g in enumerate(grads):
        expected = np.cos(point[i]) * np.prod(np.sin(point[:i] + point[i + 1:]))
        np.testing.assert_allclose(g, expected, rtol=1e-13)
