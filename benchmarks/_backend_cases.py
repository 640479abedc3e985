"""symgrad's JAX and PyTorch code for the benchmarks: the same derived graph printed for each.

``backend_cases(build, values, jax, torch)`` compiles the loss again with
``backend="jax"`` and ``"torch"`` (``build(backend)`` returns the GradFunction) and returns
{row name: (loss + grads, loss alone)} closures on that library's own arrays: JAX's on the
device, jitted (what ``f.raw`` is for JAX), ``block_until_ready``; torch's under
``torch.no_grad()`` (the generated code needs no autograd). Each is checked against the
NumPy reference first (rtol 1e-8), so the rows do the same work.
"""

PEERS = {"symgrad-JAX": "JAX jit", "symgrad-torch": "PyTorch"}


def backend_cases(build, values, jax, torch, check):
    """{name: (value_and_grad, value)} for the installed libraries; ``check(reference, other,
    name)`` compares results (NumPy arrays) with symgrad's NumPy ones."""
    reference = build("numpy")(*values)
    cases = {}
    if jax is not None:
        fj = build("jax")
        arrays = [jax.device_put(a) for a in fj.prepare(values)[0]]
        vg = lambda: jax.block_until_ready(fj.raw(*arrays))            # noqa: E731
        loss = lambda: jax.block_until_ready(fj.raw_value(*arrays))    # noqa: E731
        check(reference, _numpy(vg()), "symgrad-JAX")
        cases["symgrad-JAX"] = (vg, loss)
    if torch is not None:
        ft = build("torch")
        tensors = [torch.as_tensor(a) for a in ft.prepare(values)[0]]

        def vg():
            with torch.no_grad():
                return ft.raw(*tensors)

        def loss():
            with torch.no_grad():
                return ft.raw_value(*tensors)
        check(reference, _numpy(vg()), "symgrad-torch")
        cases["symgrad-torch"] = (vg, loss)
    return cases


def _numpy(result):
    import numpy as np
    value, grads = result
    return float(value), [np.asarray(g) for g in grads]
