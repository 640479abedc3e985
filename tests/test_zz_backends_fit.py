"""fit(..., backend="jax" | "torch"), value_grad_hessian and the command line on every backend.

The JAX and torch runs take the NumPy run's batches, so their parameters and histories must
equal NumPy's (1e-12 relative in float64). Memory-mapped data are streamed window by window;
the 4-device sharded run (XLA_FLAGS=--xla_force_host_platform_device_count=4, in a child
process so no other test sees four devices) must equal the 1-device run.

Named to run last, after the tests that fork (see test_zz_backends.py)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import symgrad as sg
from symgrad.train import accelerated

HAVE = {name: importlib.util.find_spec(name) is not None for name in ("jax", "torch")}
BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(not HAVE[name], reason="%s not installed" % name))
            for name in ("jax", "torch")]
needs_jax = pytest.mark.skipif(not HAVE["jax"], reason="jax not installed")

w, b, x, y = sp.symbols("w b x y")
LINE = (w * x + b - y)**2
n, d = sp.symbols("n d", integer=True, positive=True)
X, Y, W = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("Y", n, 1), sp.MatrixSymbol("W", d, 1)
LOGISTIC = sg.msum((X * W).applyfunc(sg.softplus) - sp.HadamardProduct(Y, X * W)) / n


def _same(a, b, rtol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape and np.all(np.abs(a - b) <= rtol * np.maximum(1.0, np.abs(b))), (a, b)


def _moons(count=96, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, count)
    upper = rng.random(count) < 0.5
    points = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    points += rng.normal(scale=0.1, size=points.shape)
    return np.c_[points, np.ones(count)], upper.astype(float)[:, None]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_seed_regression_on_every_backend(backend):
    res = sg.fit(LINE, {w: 0.0, b: 0.0}, {x: [1, 2, 3, 4], y: [2, 4, 6, 8]}, sg.GD(lr=0.01),
                 steps=1000, backend=backend)
    assert abs(res.params[w] - 1.9896587550255742) <= 1e-9
    assert abs(res.params[b] - 0.030404521305361965) <= 1e-9
    want = sg.fit(LINE, {w: 0.0, b: 0.0}, {x: [1, 2, 3, 4], y: [2, 4, 6, 8]}, sg.GD(lr=0.01), steps=1000)
    _same(res.history, want.history)
    _same(res.final_loss, want.final_loss)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", [sg.SGD(lr=0.05, batch_size=24), sg.Adam(lr=0.05, batch_size=32),
                                       sg.Nesterov(lr=0.02)], ids=["sgd", "adam", "nesterov"])
def test_mini_batches_and_validation_equal_numpy(optimizer, backend):
    rng = np.random.default_rng(1)
    xs = rng.normal(size=90)
    ys = 3 * xs + 1 + rng.normal(scale=0.1, size=90)
    runs = [sg.fit(LINE, {w: 0.0, b: 0.0}, {x: xs, y: ys}, optimizer, steps=120, validation=0.2,
                   backend=name) for name in ("numpy", backend)]
    want, got = runs
    for s in (w, b):
        _same(got.params[s], want.params[s])
    _same(got.history, want.history)
    _same(got.val_history, want.val_history)
    assert got.best_step == want.best_step


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_moons_logistic_model_trains_alike(backend):
    features, labels = _moons()
    start = {W: np.zeros((3, 1))}
    runs = [sg.fit(LOGISTIC, start, {X: features, Y: labels}, sg.Adam(lr=0.1, batch_size=32),
                   steps=60, backend=name) for name in ("numpy", backend)]
    _same(runs[1].params[W], runs[0].params[W])
    accuracy = [np.mean((features @ r.params[W] > 0) == (labels > 0.5)) for r in runs]
    assert accuracy[0] == accuracy[1] and accuracy[0] > 0.8


@pytest.mark.parametrize("backend", BACKENDS)
def test_divergence_is_reported_as_numpy_reports_it(backend):
    data = {x: [1, 2, 3, 4], y: [2, 4, 6, 8]}
    messages = []
    for name in ("numpy", backend):
        with pytest.raises(sg.TrainingDiverged) as info:
            sg.fit(LINE, {w: 0.0, b: 0.0}, data, sg.GD(lr=0.3), steps=200, backend=name)
        messages.append((str(info.value), info.value.step))
    assert messages[0] == messages[1]
    assert "stable only for lr < 0.119756" in messages[0][0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_early_stopping_stops_where_numpy_stops(backend):
    rng = np.random.default_rng(6)
    xs = rng.normal(size=60)
    ys = 3 * xs + 1 + rng.normal(scale=1.0, size=60)
    for validation in (0.3, None):
        runs = [sg.fit(LINE, {w: 0.0, b: 0.0}, {x: xs, y: ys}, sg.SGD(lr=0.2, batch_size=8),
                       steps=400, validation=validation, early_stopping=5, seed=3, backend=name)
                for name in ("numpy", backend)]
        want, got = runs
        assert want.stopped_early and got.stopped_early and len(want.history) < 400
        assert (got.best_step, len(got.history)) == (want.best_step, len(want.history))
        _same(got.history, want.history)
        for s in (w, b):
            _same(got.params[s], want.params[s])
        _same(got.final_loss, want.final_loss)


@needs_jax
def test_what_runs_on_numpy_only_is_refused():
    data = {x: [1.0, 2.0], y: [2.0, 4.0]}
    with pytest.raises(sg.ArgumentError, match="numpy backend only"):
        sg.fit(LINE, {w: 0.0, b: 0.0}, data, sg.Newton(), steps=5, backend="jax")
    f = sg.value_and_grad(LINE, [w, b], [x, y], backend="jax")
    with pytest.raises(sg.ArgumentError, match="compiled for backend 'jax', not 'torch'"):
        sg.fit(f, {w: 0.0, b: 0.0}, data, steps=5, backend="torch")
    assert sg.fit(f, {w: 0.0, b: 0.0}, data, steps=5).history[0] == 10.0    # f's own backend


@needs_jax
def test_memory_mapped_data_are_streamed_in_windows(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    count = 4000
    table = np.lib.format.open_memmap(tmp_path / "rows.npy", mode="w+", dtype=float, shape=(2, count))
    table[0] = rng.normal(size=count)
    table[1] = 2 * table[0] - 0.5 + rng.normal(scale=0.01, size=count)
    table.flush()
    del table
    rows = np.load(tmp_path / "rows.npy", mmap_mode="r")
    monkeypatch.setattr(accelerated, "WINDOW_BYTES", 16 * 500)       # 500 rows a window: 8 windows
    reads = []
    read = accelerated._read
    monkeypatch.setattr(accelerated, "_read", lambda a, lo, hi: reads.append((lo, hi)) or read(a, lo, hi))
    res = sg.fit(LINE, {w: 0.0, b: 0.0}, {x: rows[0], y: rows[1]}, sg.SGD(lr=0.1, batch_size=50),
                 steps=200, backend="jax")
    assert abs(res.params[w] - 2) < 0.01 and abs(res.params[b] + 0.5) < 0.01
    assert max(hi - lo for lo, hi in reads) == 500            # never more than a window in memory
    f = sg.value_and_grad(LINE, [w, b], [x, y])
    _same(res.final_loss, f.value(res.params[w], res.params[b], np.array(rows[0]), np.array(rows[1])))


CHILD = r"""
import json, sys
import numpy as np, sympy as sp, jax
import symgrad as sg
from symgrad.train.sharding import Placement
n, d = sp.symbols("n d", integer=True, positive=True)
X, Y, W = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("Y", n, 1), sp.MatrixSymbol("W", d, 1)
loss = sg.msum(sp.HadamardPower(X * W - Y, 2)) / n
rng = np.random.default_rng(5)
features = rng.normal(size=(64, 3))
targets = features @ np.array([[1.0], [-2.0], [0.5]]) + rng.normal(scale=0.1, size=(64, 1))
shards = len(Placement([0]).data([features])[0].sharding.device_set)
out = {"devices": jax.device_count(), "shards": shards}
for name, opt in (("gd", sg.GD(lr=0.1)), ("adam", sg.Adam(lr=0.05, batch_size=16))):
    res = sg.fit(loss, {W: np.zeros((3, 1))}, {X: features, Y: targets}, opt, steps=100, backend="jax")
    out[name] = [res.params[W].ravel().tolist(), res.history]
print(json.dumps(out))
"""


@needs_jax
def test_the_sharded_run_on_four_devices_equals_the_one_device_run():
    children = []
    for count in (4, 1):
        env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=%d" % count,
                   JAX_PLATFORMS="cpu", PYTHONPATH=os.getcwd())
        children.append(subprocess.Popen([sys.executable, "-c", CHILD], env=env, text=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    four, one = [json.loads(c.communicate(timeout=300)[0]) for c in children]
    assert (four["devices"], four["shards"]) == (4, 4) and (one["devices"], one["shards"]) == (1, 1)
    for name in ("gd", "adam"):
        _same(four[name][0], one[name][0])
        _same(four[name][1], one[name][1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_command_line_backend(backend, tmp_path):
    from symgrad.cli.main import main
    data = tmp_path / "line.csv"
    data.write_text("x,y\n1,2\n2,4\n3,6\n4,8\n")
    out = tmp_path / "fit.json"
    assert main(["fit", "(w*x + b - y)**2", "--params", "w=0", "b=0", "--data", str(data),
                 "--steps", "1000", "--lr", "0.01", "--backend", backend, "--out", str(out)]) == 0
    params = json.loads(out.read_text())["params"]
    assert abs(params["w"] - 1.9896587550255742) <= 1e-9
    module = tmp_path / "module.py"
    assert main(["codegen", "sinc(w*x)", "--wrt", "w", "--backend", backend, "-o", str(module)]) == 0
    assert ("import jax" if backend == "jax" else "import torch") in module.read_text()
    assert main(["derive", "log(1 + exp(w*x))", "--wrt", "w", "--backend", backend]) == 0
