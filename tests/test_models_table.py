"""The model table of benchmarks/bench_models.py, checked for correctness (no timing here):
each generated loss and gradient equals the expert hand-written NumPy version at small sizes,
and at extreme inputs where a softmax is reached through a transpose."""

import os
import re
import sys

import numpy as np
import pytest

import symgrad as sg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import model_table_linalg  # noqa: E402  (completes model_table.MODELS)

MODELS = {m.name: m for m in model_table_linalg.MODELS}
RTOL = 1e-9


def compiled(model, _cache={}):
    if model.name not in _cache:
        _cache[model.name] = sg.value_and_grad(model.loss, wrt=model.wrt, args=model.args)
    return _cache[model.name]


def assert_same(model, got, want, rtol=RTOL):
    (value, grads), (ref_value, ref_grads) = got, want
    ref_grads = ref_grads if isinstance(ref_grads, tuple) else (ref_grads,)
    np.testing.assert_allclose(value, ref_value, rtol=rtol, err_msg=model.name)
    assert len(grads) == len(ref_grads) == len(model.wrt)
    for w, g, r in zip(model.wrt, grads, ref_grads):
        assert np.shape(g) == np.shape(r), (model.name, w)
        scale = float(np.max(np.abs(r)))
        np.testing.assert_allclose(g, r, rtol=rtol, atol=rtol * scale,
                                   err_msg="%s: gradient of %s" % (model.name, w))


def test_the_table_has_at_least_20_models():
    assert len(MODELS) >= 20 and len(set(MODELS)) == len(model_table_linalg.MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_generated_gradient_equals_the_hand_version(name):
    model = MODELS[name]
    f = compiled(model)
    for seed, bigger in ((0, 0), (1, 2)):       # one compiled function, two sizes
        sizes = {key: value + bigger for key, value in model.sizes(small=True).items()}
        values = model.data(np.random.default_rng(seed), sizes)
        assert_same(model, f(*values), model.hand(*values))


# logits far from 0, reached through transposes: (X W)^T in a hand-written softmax, the
# scores Q K^T of attention, the similarities of InfoNCE at a small temperature
EXTREME = {
    "softmax written by hand, through a transpose": (0, 300.0),
    "self-attention, one head": (0, 40.0),
    "contrastive (InfoNCE)": (0, 25.0),
}


@pytest.mark.parametrize("name", sorted(EXTREME))
def test_gradients_at_extreme_logits_through_transposes(name):
    model = MODELS[name]
    index, scale = EXTREME[name]
    values = model.data(np.random.default_rng(2), model.sizes(small=True))
    values[index] = values[index] * scale
    got, want = compiled(model)(*values), model.hand(*values)
    assert np.isfinite(got[0]) and all(np.all(np.isfinite(g)) for g in got[1])
    assert_same(model, got, want, rtol=1e-7)


def test_the_rnn_frees_each_temporary_after_its_last_use():
    # a long function keeps no array it no longer needs: the RNN's pre-activations and
    # reverse-pass arrays are deleted after their last use, so its peak memory stays near the
    # hand version's (and glibc does not hand the pages back to the kernel after every call)
    body = compiled(MODELS["RNN, three tanh steps"]).source.split("def value_and_grad")[1]
    lines = [line.strip() for line in body.splitlines()]
    assigned = {line.split(" = ")[0] for line in lines if re.match(r"[tg]\d+ = ", line)}
    deleted = {name for line in lines if line.startswith("del ") for name in line[4:].split(", ")}
    assert len(assigned) >= 10 and assigned == deleted, body
    first_del = next(k for k, line in enumerate(lines) if line.startswith("del "))
    assert first_del < next(k for k, line in enumerate(lines) if line.startswith("grad_W ="))
