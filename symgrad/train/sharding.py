"""Jitted JAX training steps, and where their arrays live when there are several devices.

``scan_function`` builds the jitted ``lax.scan`` behind ``fit(..., backend="jax")``: per step
the generated ``value_and_grad``, the optimizer's pure ``step`` in ``jax.numpy``, and as
outputs the loss, the first parameter whose gradient is not finite (for divergence
messages) and the validation loss. ``Placement`` puts data on the devices: with one device
as they are; with several, sample arrays sharded along their first axis over a one-axis
``Mesh`` of every device (when the count divides evenly) and everything else replicated,
so XLA computes each device's share of the per-sample means and all-reduces them.
"""

from functools import partial

import numpy as np

from ..pipeline.backend_arrays import require

__all__ = ["Placement", "scan_function", "value_function"]


class Placement:
    """Where arrays go: sample arrays (indices ``sample_idx`` of the data) split over devices."""

    def __init__(self, sample_idx):
        require("jax")
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec
        self.jax, self.idx = jax, set(sample_idx)
        devices = jax.devices()
        self.count = len(devices)
        if self.count > 1:
            mesh = Mesh(np.array(devices), ("data",))
            self.split = NamedSharding(mesh, PartitionSpec("data"))
            self.split_steps = NamedSharding(mesh, PartitionSpec(None, "data"))
            self.whole = NamedSharding(mesh, PartitionSpec())

    def _divides(self, array, axis=0):
        return np.ndim(array) > axis and np.shape(array)[axis] % self.count == 0

    def data(self, arrays: list) -> list:
        """Data arrays on the devices (None entries stay None)."""
        if self.count == 1:
            return [None if a is None else self.jax.numpy.asarray(a) for a in arrays]
        return [None if a is None else self.jax.device_put(
            a, self.split if i in self.idx and self._divides(a) else self.whole)
            for i, a in enumerate(arrays)]

    def replicated(self, arrays: list) -> list:
        if self.count == 1:
            return arrays
        return [self.jax.device_put(a, self.whole) for a in arrays]

    def batches(self, columns: tuple) -> tuple:
        """Stacked batches (steps, batch, ...) on the devices, split along the batch axis."""
        if self.count == 1:
            return tuple(self.jax.numpy.asarray(c) for c in columns)
        return tuple(self.jax.device_put(c, self.split_steps if self._divides(c, 1) else self.whole)
                     for c in columns)

    def constrain(self, batch):
        """Inside jit: a gathered batch split over the devices (when its size divides)."""
        if self.count == 1 or not self._divides(batch):
            return batch
        return self.jax.lax.with_sharding_constraint(batch, self.split)


def scan_function(f, optimizer, mode: str, batches, has_val: bool, place: Placement, patience=None):
    """The jitted ``run(carry, xs, data, val) -> (carry, (losses, bad, val_losses, halts))``.

    ``mode``: "full" (xs only counts the steps), "index" (xs: one row of sample indices per
    step) or "stream" (xs: the batches' sample columns, one row per step). The carry is
    (parameters, optimizer state, last gradients, monitor); with ``patience`` the monitor is
    (step, best loss, best step, best parameters, stopped), updated as ``Run._monitor`` does,
    and ``halts`` marks the step where the NumPy loop would have stopped early."""
    jax = place.jax
    jnp = jax.numpy
    raw, raw_value = f.raw, f.raw_value
    idx = sorted(batches.idx) if batches is not None else []

    def batch_of(data, x):
        if mode == "full":
            return data
        if mode == "index":
            return [place.constrain(jnp.take(a, x[0], axis=0)) if i in idx else a
                    for i, a in enumerate(data)]
        columns = dict(zip(idx, x))
        return [columns[i] if i in columns else a for i, a in enumerate(data)]

    def monitor(watch, loss, values):
        if patience is None:
            return watch, jnp.zeros((), bool)
        step, best_loss, best_step, best_values, stopped = watch
        improved = (loss < best_loss) & ~stopped
        halt = ~stopped & ~improved & (step - best_step >= patience)
        best_values = [jnp.where(improved, v, b) for v, b in zip(values, best_values)]
        return (step + 1, jnp.where(improved, loss, best_loss), jnp.where(improved, step, best_step),
                best_values, stopped | halt), halt

    def body(data, val, carry, x):
        values, state, _, watch = carry
        loss, grads = raw(*values, *batch_of(data, x))
        grads = [jnp.broadcast_to(jnp.asarray(g, v.dtype), v.shape) for g, v in zip(grads, values)]
        bad = jnp.argmax(jnp.array([~jnp.all(jnp.isfinite(g)) for g in grads] + [True]))
        val_loss = raw_value(*values, *val) if has_val else jnp.zeros((), loss.dtype)
        watch, halt = monitor(watch, val_loss if has_val else loss, values)
        state, new = optimizer.step(state, values, grads, jnp)
        new = [jnp.asarray(n, v.dtype) for n, v in zip(new, values)]
        return (new, state, grads, watch), (loss, bad, val_loss, halt)

    @jax.jit
    def run(carry, xs, data, val):
        return jax.lax.scan(partial(body, data, val), carry, xs)
    return run


def value_function(f):
    """``f``'s generated loss, jitted once per GradFunction: ``value(params, data)``."""
    cached = f.__dict__.get("_jitted_value")
    if cached is None:
        import jax
        raw_value = f.raw_value
        cached = f.__dict__["_jitted_value"] = jax.jit(lambda values, data: raw_value(*values, *data))
    return cached
