"""fit, the optimizers, the ready-made models and the data files, against independent references."""

import json
import math
import sys

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.zoo import models
from symgrad.train.data import load_csv, save_result_json
from symgrad.errors import ArgumentError, ParseError, ShapeMismatch, SymgradError, TrainingDiverged
from symgrad.errors import FileExists
from symgrad.train.optim import GD, SGD, Adam, Momentum, Nesterov, make_optimizer
from symgrad.train.fit import FitResult, fit

w, b, x, y = sp.symbols("w b x y")
n = sp.Symbol("n", integer=True, positive=True)
XS, YS = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0]
LINE = (w * x + b - y)**2


def line_gradient(wv, bv, xs=XS, ys=YS):
    """d/dw and d/db of mean((w x + b - y)**2), written out by hand."""
    r = [wv * xi + bv - yi for xi, yi in zip(xs, ys)]
    return (2 * sum(ri * xi for ri, xi in zip(r, xs)) / len(xs), 2 * sum(r) / len(xs),
            sum(ri * ri for ri in r) / len(xs))


# --- optimizers against hand-written update rules ----------------------------------------------

def reference_run(rule, steps=60):
    """Iterate an update rule by hand with Python floats on the article's line; return (w, b), losses."""
    theta, state, losses = [0.0, 0.0], {}, []
    for t in range(1, steps + 1):
        gw, gb, loss = line_gradient(*theta)
        losses.append(loss)
        theta = rule(theta, [gw, gb], state, t)
    return theta, losses


def momentum_rule(lr, mu, nesterov=False):
    def rule(theta, g, state, t):
        v = state.setdefault("v", [0.0, 0.0])
        for i in range(2):
            v[i] = mu * v[i] + g[i]
        step = [g[i] + mu * v[i] for i in range(2)] if nesterov else v
        return [theta[i] - lr * step[i] for i in range(2)]
    return rule


def adam_rule(lr, b1=0.9, b2=0.999, eps=1e-8):
    def rule(theta, g, state, t):
        m, s = state.setdefault("m", [0.0, 0.0]), state.setdefault("s", [0.0, 0.0])
        out = []
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            s[i] = b2 * s[i] + (1 - b2) * g[i]**2
            m_hat, s_hat = m[i] / (1 - b1**t), s[i] / (1 - b2**t)
            out.append(theta[i] - lr * m_hat / (math.sqrt(s_hat) + eps))
        return out
    return rule


@pytest.mark.parametrize("optimizer, rule", [
    (GD(lr=0.01), lambda th, g, s, t: [th[0] - 0.01 * g[0], th[1] - 0.01 * g[1]]),
    (Momentum(lr=0.01, momentum=0.8), momentum_rule(0.01, 0.8)),
    (Nesterov(lr=0.01, momentum=0.8), momentum_rule(0.01, 0.8, nesterov=True)),
    (Adam(lr=0.05), adam_rule(0.05)),
    (Adam(lr=0.05, beta1=0.5, beta2=0.9, eps=1e-3), adam_rule(0.05, 0.5, 0.9, 1e-3)),
], ids=["GD", "Momentum", "Nesterov", "Adam", "Adam-custom"])
def test_optimizer_iterates_match_the_update_rule(optimizer, rule):
    res = fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, optimizer, steps=60)
    (w_ref, b_ref), losses = reference_run(rule)
    assert res.params[w] == pytest.approx(w_ref, rel=1e-12, abs=1e-14)
    assert res.params[b] == pytest.approx(b_ref, rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(res.history, losses, rtol=1e-12, atol=0)


@pytest.mark.parametrize("optimizer, steps", [
    (GD(lr=0.1), 3000), (SGD(lr=0.05, batch_size=16), 3000), (Momentum(lr=0.05), 1000),
    (Nesterov(lr=0.05), 1000), (Adam(lr=0.05), 3000),
], ids=["GD", "SGD", "Momentum", "Nesterov", "Adam"])
def test_optimizers_reach_least_squares_on_a_matrix_model(optimizer, steps):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    Y = X @ np.array([[1.5], [-2.0], [0.5]]) + 0.3 + 0.1 * rng.standard_normal((64, 1))
    m = models.linear_regression()
    res = fit(m.loss, m.init({"d": 3}), {m.inputs[0]: X, m.target: Y}, optimizer, steps=steps)
    A = np.hstack([X, np.ones((64, 1))])
    solution = np.linalg.lstsq(A, Y, rcond=None)[0]
    W, bias = m.params
    tol = 2e-3 if isinstance(optimizer, SGD) else 1e-6
    np.testing.assert_allclose(res.params[W], solution[:3], atol=tol, rtol=0)
    np.testing.assert_allclose(res.params[bias], solution[3:].reshape(1, 1), atol=tol, rtol=0)


def test_scalar_and_matrix_linear_models_take_the_same_steps():
    scalar = fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=0.01), steps=200)
    m = models.linear_regression()
    W, bias = m.params
    matrix = fit(m.loss, {W: [[0.0]], bias: [[0.0]]},
                 {m.inputs[0]: np.array(XS)[:, None], m.target: np.array(YS)[:, None]},
                 GD(lr=0.01), steps=200)
    assert matrix.params[W].shape == (1, 1) and matrix.params[bias].shape == (1, 1)
    assert matrix.params[W][0, 0] == pytest.approx(scalar.params[w], rel=1e-12)
    assert matrix.params[bias][0, 0] == pytest.approx(scalar.params[b], rel=1e-12)
    np.testing.assert_allclose(matrix.history, scalar.history, rtol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda: GD(lr=0), r"GD: lr must be finite and in \(0, inf\), got 0"),
    (lambda: GD(lr=-0.1), "GD: lr must be finite"),
    (lambda: GD(lr=float("nan")), "GD: lr must be finite"),
    (lambda: GD(lr=float("inf")), "GD: lr must be finite"),
    (lambda: GD(lr="0.1"), "GD: lr must be a number, got '0.1'"),
    (lambda: SGD(lr=0.1, batch_size=0), "SGD: batch_size must be a positive int"),
    (lambda: SGD(lr=0.1, batch_size=None), "SGD: batch_size must be a positive int"),
    (lambda: Momentum(momentum=1.0), r"Momentum: momentum must be finite and in \[0, 1\)"),
    (lambda: Nesterov(momentum=-0.5), "Nesterov: momentum must be finite"),
    (lambda: Adam(beta1=1.0), "Adam: beta1 must be finite"),
    (lambda: Adam(eps=0), "Adam: eps must be finite"),
    (lambda: Adam(batch_size=2.5), "Adam: batch_size must be a positive int or None"),
])
def test_bad_hyperparameters_are_clear_errors(make, message):
    with pytest.raises(ArgumentError, match=message):
        make()


def test_optimizers_by_name_for_the_command_line():
    opt = make_optimizer("Adam", lr=0.01, batch_size=None)
    assert isinstance(opt, Adam) and opt.lr == 0.01 and opt.batch_size is None
    assert make_optimizer("sgd", lr=0.1, batch_size=8).batch_size == 8
    with pytest.raises(ArgumentError, match="unknown optimizer 'rmsprop'; use one of gd, sgd"):
        make_optimizer("rmsprop")
    with pytest.raises(ArgumentError, match="GD takes lr; batch_size is not one of them"):
        make_optimizer("gd", lr=0.1, batch_size=4)


# --- mini-batches, validation split, early stopping ---------------------------------------------

POWERS = [float(2**i) for i in range(10)]   # any subset is identified by its sum


def batches_seen(res, size):
    """Decode which samples made each batch from loss = mean(x) over the batch."""
    sets, total, i = [], len(POWERS), 0
    while i < len(res.history):
        for start in range(0, total, size):
            count = min(size, total - start)
            s = int(round(res.history[i] * count))
            sets.append({j for j in range(total) if s >> j & 1})
            i += 1
    return sets


def test_sgd_shuffles_every_epoch_and_covers_every_sample_once():
    res = fit(x + 0 * w, {w: 0.0}, {x: POWERS}, SGD(lr=0.1, batch_size=3), steps=12, seed=4)
    seen = batches_seen(res, 3)
    assert [len(s) for s in seen] == [3, 3, 3, 1] * 3
    epochs = [seen[i:i + 4] for i in range(0, 12, 4)]
    for epoch in epochs:
        assert set().union(*epoch) == set(range(10))
    assert epochs[0] != epochs[1]                         # reshuffled
    again = fit(x + 0 * w, {w: 0.0}, {x: POWERS}, SGD(lr=0.1, batch_size=3), steps=12, seed=4)
    assert again.history == res.history                   # seeded
    other = fit(x + 0 * w, {w: 0.0}, {x: POWERS}, SGD(lr=0.1, batch_size=3), steps=12, seed=5)
    assert other.history != res.history


def test_sgd_batches_rows_of_matrix_data():
    X, V = sp.MatrixSymbol("X", n, 1), sp.MatrixSymbol("V", 1, 1)
    loss = sg.msum(X) + sp.Trace(V.T * V)      # V stays 0, so the loss is the batch's sum
    res = fit(loss, {V: [[0.0]]}, {X: np.array(POWERS)[:, None]}, SGD(lr=0.1, batch_size=4),
              steps=6, seed=1)
    sums = [int(round(h)) for h in res.history]
    for epoch in (sums[0:3], sums[3:6]):
        assert sum(epoch) == 2**10 - 1 and [bin(s).count("1") for s in epoch] == [4, 4, 2]


def test_validation_split_is_seeded_and_disjoint():
    res = fit((w - x)**2, {w: 0.0}, {x: POWERS}, GD(lr=0.25), steps=200, validation=0.2, seed=3)
    # GD converges to the mean of the training samples: 8 of the 10 powers of two
    train_sum = res.params[w] * 8
    assert train_sum == pytest.approx(round(train_sum), abs=1e-6)
    train = {j for j in range(10) if int(round(train_sum)) >> j & 1}
    held = set(range(10)) - train
    assert len(train) == 8
    expected_val = np.mean([(res.params[w] - POWERS[j])**2 for j in held])
    assert res.final_val_loss == pytest.approx(expected_val, rel=1e-12)
    assert len(res.val_history) == len(res.history) == 200
    again = fit((w - x)**2, {w: 0.0}, {x: POWERS}, GD(lr=0.25), steps=200, validation=0.2, seed=3)
    assert again.params[w] == res.params[w]


def test_early_stopping_restores_the_best_validation_step():
    # w_t = 1 - 0.8**t walks from 0 to the training target 1 and passes the validation target 0.5
    res = fit((w - x)**2, {w: 0.0}, {x: [1.0]}, GD(lr=0.1), steps=100,
              validation={x: [0.5]}, early_stopping=5)
    assert res.stopped_early and res.best_step == 3
    assert len(res.history) == 9                        # steps 0..8; no new best after step 3
    assert res.params[w] == pytest.approx(1 - 0.8**3, rel=1e-14)
    assert res.val_history[3] == pytest.approx((1 - 0.8**3 - 0.5)**2, rel=1e-12)
    assert res.final_val_loss == pytest.approx(res.val_history[3], rel=1e-14)
    assert res.final_loss == pytest.approx(0.8**6, rel=1e-12)      # (w_3 - 1)**2


def test_early_stopping_on_training_loss_keeps_a_decreasing_run():
    res = fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=0.01), steps=300, early_stopping=3)
    assert not res.stopped_early and res.best_step == 300
    plain = fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=0.01), steps=300)
    assert res.params == plain.params and res.val_history is None


def test_history_is_the_loss_before_each_update():
    res = fit(LINE, {w: 0.5, b: -1.0}, {x: XS, y: YS}, GD(lr=0.01), steps=3)
    wv, bv = 0.5, -1.0
    for t in range(3):
        gw, gb, loss = line_gradient(wv, bv)
        assert res.history[t] == pytest.approx(loss, rel=1e-14)
        wv, bv = wv - 0.01 * gw, bv - 0.01 * gb
    assert res.final_loss == pytest.approx(line_gradient(wv, bv)[2], rel=1e-14)


# --- divergence ------------------------------------------------------------------------------

def test_divergence_names_the_step_and_no_lr_bound_for_a_non_quadratic_loss():
    loss = (w * x - y)**4                      # degree 4: no constant Hessian, no lr bound
    with pytest.raises(TrainingDiverged, match=r"training diverged at step \d+") as info:
        fit(loss, {w: 0.0}, {x: XS, y: YS}, GD(lr=0.1), steps=1000)
    assert info.value.step >= 1 and info.value.max_stable_lr is None


def test_a_non_finite_gradient_is_reported_at_its_step():
    with pytest.raises(TrainingDiverged, match="step 0: the gradient of w became non-finite") as info:
        fit(sp.sqrt(w), {w: 0.0}, {}, GD(lr=0.1), steps=10)
    assert info.value.step == 0


def test_a_non_finite_start_is_reported():
    with pytest.raises(TrainingDiverged, match="at the starting parameters"):
        fit(sp.log(w) * x, {w: 0.0}, {x: XS}, GD(lr=0.1), steps=10)


@pytest.mark.parametrize("optimizer", [Momentum(lr=0.01, momentum=0.5), Nesterov(lr=0.01, momentum=0.5)])
def test_stable_lr_bound_of_momentum_methods_is_sharp(optimizer):
    lam = (17 + math.sqrt(269)) / 2          # top eigenvalue of the article's mean Hessian
    bound = optimizer.stable_lr(lam)
    kind = type(optimizer)
    below = fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, kind(lr=0.95 * bound, momentum=0.5), steps=3000)
    assert below.final_loss < 1e-6
    with pytest.raises(TrainingDiverged) as info:
        fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, kind(lr=1.5 * bound, momentum=0.5), steps=3000)
    assert info.value.max_stable_lr == pytest.approx(bound, rel=1e-12)


# --- arguments and results ----------------------------------------------------------------------

def test_lists_names_and_arrays_are_accepted_and_not_modified():
    W, V = sp.MatrixSymbol("W", 2, 1), sp.MatrixSymbol("X", n, 2)
    start = np.zeros((2, 1))
    res = fit(sg.mean(sp.HadamardProduct(V * W - sp.OneMatrix(n, 1), V * W - sp.OneMatrix(n, 1))),
              {"W": start}, {"X": [[1.0, 0.0], [0.0, 2.0]]}, GD(lr=0.1), steps=500)
    assert np.all(start == 0)
    np.testing.assert_allclose(res.params[W], [[1.0], [0.5]], rtol=1e-9)
    assert isinstance(fit(LINE, {w: 0, b: 0}, {x: XS, y: YS}, steps=2).params[w], float)


@pytest.mark.parametrize("call, error, message", [
    (lambda: fit(LINE, {w: 0.0, b: 0.0}, {x: XS}), ArgumentError,
     r"symbol y occurs in the loss but is in neither params nor data; add data=\{y: values\}"),
    (lambda: fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS, sp.Symbol("z"): XS}), ArgumentError,
     "data gives z, which does not occur in the loss"),
    (lambda: fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS[:3]}), ShapeMismatch, "samples"),
    (lambda: fit(LINE, {}, {x: XS, y: YS}), ArgumentError, "params is empty"),
    (lambda: fit(LINE, {w: 0.0, b: 0.0, x: 1.0}, {x: XS, y: YS}), ArgumentError,
     "x is in both params and data"),
    (lambda: fit(LINE, {"v": 0.0}, {x: XS, y: YS}), ArgumentError, "params names 'v', which does not"),
    (lambda: fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, optimizer="adam"), ArgumentError,
     "optimizer must be a symgrad optimizer"),
    (lambda: fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, steps=0), ArgumentError,
     "steps must be a positive int"),
    (lambda: fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, validation=1.5), ArgumentError,
     r"validation must be a fraction in \(0, 1\)"),
    (lambda: fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, validation=0.01), ArgumentError,
     "leaves 0 for validation"),
    (lambda: fit(LINE, {w: 0.0, b: 0.0}, {x: 1.0, y: 2.0}, SGD(lr=0.1, batch_size=2)), ArgumentError,
     "needs data with samples along the first axis"),
    (lambda: fit(LINE, {w: np.zeros(2), b: 0.0}, {x: XS, y: YS}), ShapeMismatch,
     "parameter w must be a single number"),
])
def test_bad_arguments_are_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys):
    fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=0.01), steps=200)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""           # stderr is not a terminal here
    fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, GD(lr=0.01), steps=200, progress=True)
    err = capsys.readouterr().err
    assert "step 200/200" in err and err.endswith("\n")


def test_plot_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    res = fit(LINE, {w: 0.0, b: 0.0}, {x: XS, y: YS}, steps=5)
    with pytest.raises(SymgradError, match=r"pip install symgrad\[plot\]"):
        res.plot(tmp_path / "loss.png")
    assert not (tmp_path / "loss.png").exists()


def test_plot_writes_once_and_refuses_to_overwrite(tmp_path):
    # matplotlib comes with the "plot" extra, which the test command installs
    res = fit((w - x)**2, {w: 0.0}, {x: POWERS}, GD(lr=0.1), steps=20, validation=0.2)
    path = tmp_path / "loss.png"
    res.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileExists):
        res.plot(path)
    res.plot(path, force=True)
    with pytest.raises(ArgumentError, match=r"must end in \.png, \.svg or \.pdf"):
        res.plot(tmp_path / "loss.jpeg")


# --- models ----------------------------------------------------------------------------------

def test_model_shapes_init_and_predict():
    m = models.mlp(["d", 5, 3], activation="relu", loss="softmax")
    d = sp.Symbol("d", integer=True, positive=True)
    assert [p.shape for p in m.params] == [(d, 5), (1, 5), (5, 3), (1, 3)]
    values = m.init({"d": 4}, seed=1)
    assert {str(p): v.shape for p, v in values.items()} == {
        "W1": (4, 5), "b1": (1, 5), "W2": (5, 3), "b2": (1, 3)}
    assert np.all(values[m.params[1]] == 0) and np.any(values[m.params[0]] != 0)
    X = np.random.default_rng(0).standard_normal((7, 4))
    W1, b1, W2, b2 = (values[p] for p in m.params)
    expected = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    np.testing.assert_allclose(m.predict(values, X), expected, rtol=1e-14)
    with pytest.raises(ArgumentError, match="init needs a size for d"):
        m.init()


@pytest.mark.parametrize("make", [
    lambda: models.linear_regression(outputs=2),
    lambda: models.logistic_regression(),
    lambda: models.softmax_regression(classes=3),
    lambda: models.mlp([3, 4, 1], activation="tanh", loss="bce"),
    lambda: models.mlp([3, 4, 4, 2], activation="sigmoid", loss="mse"),
    lambda: models.mlp([3, 4, 2], activation="softplus", loss="softmax"),
], ids=["linear", "logistic", "softmax", "mlp-tanh", "mlp-sigmoid", "mlp-softplus"])
def test_model_gradients_match_finite_differences(make):
    m = make()
    rng = np.random.default_rng(3)
    values = m.init({"d": 3, "k": 3}, seed=2)
    values = {p: v + 0.1 * rng.standard_normal(v.shape) for p, v in values.items()}
    X = rng.standard_normal((5, 3))
    k = m.target.shape[1]
    k = int(k) if k.is_Integer else 3
    Y = np.eye(k)[rng.integers(0, k, 5)] if k > 1 else rng.integers(0, 2, (5, 1)).astype(float)
    f = sg.value_and_grad(m.loss, wrt=list(m.params), args=list(m.data))
    _, grads = f(*values.values(), X, Y)
    for i, (p, g) in enumerate(zip(m.params, grads)):
        for idx in np.ndindex(*g.shape):
            moved = [dict(values), dict(values)]
            for sign, vals in zip((1, -1), moved):
                vals[p] = values[p].copy()
                vals[p][idx] += sign * 1e-6
            fd = (f.value(*moved[0].values(), X, Y) - f.value(*moved[1].values(), X, Y)) / 2e-6
            assert g[idx] == pytest.approx(fd, rel=1e-6, abs=1e-8), (str(p), idx)


@pytest.mark.parametrize("make", [
    lambda: models.logistic_regression(),
    lambda: models.linear_regression(),
], ids=["logistic", "linear"])
def test_model_gradients_pass_check_grad(make):
    # (the MLPs' exact side takes seconds; their gradients are checked by finite differences below)
    m = make()
    rng = np.random.default_rng(4)
    values = {p: v + 0.1 * rng.standard_normal(v.shape) for p, v in m.init({"d": 2}).items()}
    values[m.inputs[0]] = rng.standard_normal((3, 2))
    values[m.target] = np.array([[0.0], [1.0], [1.0]])
    report = sg.check_grad(m.loss, wrt=list(m.params), args=list(m.data), values=values)
    assert report.ok, str(report)


def test_logistic_model_gradient_is_the_textbook_formula():
    m = models.logistic_regression()
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((6, 2)), rng.integers(0, 2, (6, 1)).astype(float)
    W, bias = rng.standard_normal((2, 1)), np.array([[0.3]])
    _, (gW, gb) = sg.value_and_grad(m.loss, wrt=list(m.params), args=list(m.data))(W, bias, X, Y)
    residual = 1 / (1 + np.exp(-(X @ W + bias))) - Y
    np.testing.assert_allclose(gW, X.T @ residual / 6, rtol=1e-13)
    np.testing.assert_allclose(gb, residual.mean(keepdims=True), rtol=1e-13)


@pytest.mark.parametrize("call, message", [
    (lambda: models.mlp([2, 3], activation="swish"), "unknown activation 'swish'"),
    (lambda: models.mlp([2]), "at least two widths"),
    (lambda: models.mlp([2, 0, 1]), "must be a positive int or a dimension Symbol"),
    (lambda: models.mlp([2, 3, 1], loss="hinge"), "unknown loss 'hinge'"),
    (lambda: models.linear_regression(features=0, scalar=True), "needs features, a positive int"),
])
def test_bad_model_arguments(call, message):
    with pytest.raises(ArgumentError, match=message):
        call()


# --- CSV in, JSON out ---------------------------------------------------------------------------

def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_reads_named_columns(tmp_path):
    path = write(tmp_path, "\ufeffid,x, y\nA,1,2\n\nB,2.5,-4e-1\n")
    cols = load_csv(path, ["x", "y"])
    np.testing.assert_array_equal(cols["x"], [1.0, 2.5])
    np.testing.assert_array_equal(cols["y"], [2.0, -0.4])


@pytest.mark.parametrize("text, message", [
    ("", r"data\.csv is empty; it needs a header row naming the columns \(x, y\)"),
    ("\n\n", "is empty"),
    ("x,y\n", "has a header but no data rows"),
    ("x,z\n1,2\n", r"data\.csv: no column named y \(the header has: x, z\)"),
    ("x,y,x\n1,2,3\n", "names column x twice"),
    ("x,y\n1,2\n3\n", r"data\.csv, row 3: 1 cells but the header has 2 columns"),
    ("x,y\n1,2\n3,abc\n", r"data\.csv, row 3, column y: 'abc' is not a number"),
    ("x,y\n1,\n", r"row 2, column y: '' is not a number"),
    ("x,y\nnan,2\n", r"row 2, column x: nan is not a finite number"),
    ("x,y\n1,-inf\n", r"row 2, column y: -inf is not a finite number"),
])
def test_load_csv_errors_name_file_row_and_column(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ParseError, match=message) as info:
        load_csv(path, ["x", "y"])
    assert "\n" not in str(info.value)


def test_load_csv_missing_file(tmp_path):
    with pytest.raises(ParseError, match="cannot read .*nothing.csv"):
        load_csv(tmp_path / "nothing.csv", ["x"])


def test_fit_from_csv_and_save_json(tmp_path):
    path = write(tmp_path, "x,y\n" + "".join("%s,%s\n" % p for p in zip(XS, YS)))
    cols = load_csv(path, ["x", "y"])
    res = fit(LINE, {w: 0.0, b: 0.0}, cols, GD(lr=0.01), steps=50)
    out = tmp_path / "result.json"
    save_result_json(out, res)
    saved = json.loads(out.read_text())
    assert saved["params"] == {"w": res.params[w], "b": res.params[b]}
    assert saved["history"] == res.history and saved["steps"] == 50
    with pytest.raises(FileExists):
        save_result_json(out, res)
    m = models.mlp([1, 2, 1])
    matrix = FitResult(params={p: v for p, v in m.init({}).items()}, history=[1.0], final_loss=1.0)
    save_result_json(out, matrix, force=True)
    assert np.shape(json.loads(out.read_text())["params"]["W1"]) == (1, 2)
