"""``fit(..., backend="jax" | "torch")``: the training loop on generated JAX or PyTorch code.

Both runs are ``Run`` (``loop.py``) with the loop replaced, so results, divergence messages
and the final losses are the NumPy run's. The optimizers' pure ``step`` (``optim.py``) is
the update, in the backend's array module.

- torch: ``Run``'s own loop over tensors; the mini-batches are the NumPy run's (the same
  seeded shuffles, indexing tensors).
- JAX: the steps run in jitted ``lax.scan`` calls, the loss of every step an output of the
  scan. Full batch: one scan over all the steps. Mini-batches: the NumPy run's batches,
  gathered on the device by index; one scan per run of equal-sized batches (an epoch's
  short last batch is its own). Divergence and early stopping are found after the scan, at
  the step the NumPy loop would have stopped, with its message and its best parameters (the
  scan's carry tracks the best loss, step and parameters as ``Run._monitor`` does).
- Data memory-mapped from a file (``np.memmap``) with a mini-batch optimizer is streamed:
  each epoch visits windows of ``WINDOW_BYTES`` of rows in a seeded order, shuffles the rows
  of a window and scans its batches; the window's pages are released after it. Memory stays
  bounded by a window, whatever the file's size. The final loss is a weighted mean over the
  windows (the loss is a per-sample mean).
- With several JAX devices, data are sharded along the sample axis over all of them
  (``jax.sharding``, parameters replicated) when the count divides evenly; XLA reduces the
  means across devices. The same program runs on one CPU, many CPU devices, a GPU or a TPU.
"""

import math
import mmap

import numpy as np

from ..pipeline.backend_arrays import require, to_backend
from .loop import GROWTH, Run

__all__ = ["backend_run", "WINDOW_BYTES", "MAX_SCAN"]

WINDOW_BYTES = 8 << 20      # rows read from a memory-mapped file at a time
MAX_SCAN = 4096             # steps per lax.scan call on mini-batches (bounds the index arrays)


def backend_run(f, optimizer, start, train, val, batches, patience, progress) -> Run:
    """The run of ``fit`` on ``f.backend`` ("jax" or "torch")."""
    cls = JaxRun if f.backend == "jax" else TorchRun
    return cls(f, optimizer, start, train, val, batches, patience, progress)


class TorchRun(Run):
    """``Run`` on tensors: the loop is NumPy's, the update is the optimizer's step in torch."""

    def __init__(self, f, optimizer, start, train, val, batches, patience, progress):
        torch = require("torch")
        start, train = to_backend("torch", start), to_backend("torch", train)
        val = None if val is None else to_backend("torch", val)
        if batches is not None:
            batches.full = train
        super().__init__(f, optimizer, start, train, val, batches, patience, progress)
        state = [optimizer.initial(start, torch)]

        def update(values, grads):
            grads = [g.reshape(v.shape) if torch.is_tensor(g) else g for v, g in zip(values, grads)]
            state[0], new = optimizer.step(state[0], values, grads, torch)
            return new
        self.update = update

    def _loop(self, steps):
        torch = require("torch")
        with torch.no_grad():
            super()._loop(steps)
        numpy = lambda values: [v.numpy() if torch.is_tensor(v) else v for v in values]  # noqa
        self.values, self.grads = numpy(self.values), numpy(self.grads)   # FitResult holds NumPy
        self.best = self.best[:2] + (numpy(self.best[2]),)

    def _losses_at(self, values):
        return super()._losses_at(to_backend("torch", values))


class JaxRun(Run):
    """``Run`` whose steps are jitted ``lax.scan`` calls (see the module docstring)."""

    def __init__(self, f, optimizer, start, train, val, batches, patience, progress):
        super().__init__(f, optimizer, start, train, val, batches, patience, progress)
        self.jnp, self.optimizer = require("jax"), optimizer
        from .sharding import Placement
        self.place = Placement(batches.idx if batches is not None else _sample_arrays(f, train))
        self.streamed = batches is not None and any(_memmap(a) is not None for a in train)
        self.host_train = train
        if self.streamed:          # the sample columns come in the scan's xs, window by window
            self.train = self.place.data([None if i in batches.idx else a for i, a in enumerate(train)])
        else:
            self.train = self.place.data(train)
            if batches is not None:
                batches.full = self.train
        self.val = None if val is None else self.place.data(val)
        self.values = self.place.replicated([self.jnp.asarray(v) for v in start])

    # --- the loop --------------------------------------------------------------------

    def _loop(self, steps):
        jnp = self.jnp
        state = _tree(self.optimizer.initial(self.values, jnp), jnp.asarray)
        watch = () if self.patience is None else (
            jnp.asarray(0), jnp.asarray(np.inf), jnp.asarray(0), list(self.values), jnp.asarray(False))
        carry = (self.values, state, [jnp.zeros_like(v) for v in self.values], watch)
        parts = []
        for mode, xs in self._chunks(steps):
            carry, out = self._scan(mode, len(xs[0]) if mode != "full" else xs)(
                carry, xs if mode != "full" else None, self.train, self.val)
            parts.append([np.asarray(o) for o in out])
            done = sum(len(p[0]) for p in parts)
            if 0 <= self.progress.next <= done - 1:
                self.progress.next = self.progress.tick(done - 1, float(parts[-1][0][-1]))
            if parts[-1][3].any():
                break
        losses, bad, val, halts = (np.concatenate([p[k] for p in parts]) for k in range(4))
        self.values, _, self.grads, watch = carry
        if halts.any():                       # NumPy's loop stops after this step's loss
            stop = int(np.argmax(halts)) + 1
            losses, bad, val = losses[:stop], bad[:stop], val[:stop]
            self.stopped_early = True
        self._diverged(losses, bad, val)
        if self.patience is not None:
            self.best = (float(watch[1]), int(watch[2]), watch[3])
        self.history.extend(losses.tolist())
        if self.val_history is not None:
            self.val_history.extend(val.tolist())

    def _chunks(self, steps):
        """(mode, xs) per scan call: ("full", step count), ("index", (batch indices,)) or
        ("stream", (batch data...)), in step order, ``steps`` steps in all."""
        if self.batches is None:
            yield "full", steps
            return
        source = _stream_batches(self.batches, self.host_train) if self.streamed \
            else _index_batches(self.batches)
        run, left = [], steps
        for batch, flush in source:
            if run and (len(batch[0]) != len(run[-1][0]) or len(run) == MAX_SCAN):
                yield self._stack(run)
                run = []
            run.append(batch)
            left -= 1
            if left == 0 or (flush and run):
                yield self._stack(run)
                run = []
            if left == 0:
                return

    def _stack(self, run):
        mode = "stream" if self.streamed else "index"
        xs = tuple(np.stack(col) for col in zip(*run))
        return mode, self.place.batches(xs) if mode == "stream" else tuple(map(self.jnp.asarray, xs))

    def _scan(self, mode, length):
        """The jitted scan for ``mode`` (JAX compiles it again per new length)."""
        # kept on f, so another fit of the same GradFunction reuses JAX's compiled scans
        key = (mode, type(self.optimizer), repr(self.optimizer), self.val is not None, self.patience,
               self.place.count, tuple(sorted(self.batches.idx)) if self.batches else ())
        scans = self.f.__dict__.setdefault("_jitted_scans", {})
        if key not in scans:
            from .sharding import scan_function
            scans[key] = scan_function(self.f, self.optimizer, mode, self.batches,
                                       self.val is not None, self.place, self.patience)
        fn = scans[key]
        if mode == "full":
            return lambda carry, xs, data, val: fn(carry, self.jnp.zeros(length), data, val)
        return fn

    def _diverged(self, losses, bad, val):
        """Raise what NumPy's loop raises at the first step it would have stopped at."""
        limit = GROWTH * max(1.0, abs(float(losses[0])))
        wrong = ~(np.abs(losses) < limit)
        wrong[0] = not np.isfinite(losses[0])
        val_wrong = ~np.isfinite(val) if self.val is not None else np.zeros(len(losses), bool)
        if not (wrong.any() or val_wrong.any()):
            return
        step = int(np.argmax(wrong | val_wrong))
        self.history.extend(losses[:step].tolist())
        if wrong[step]:
            grads = None if step == 0 else [math.nan if i == bad[step - 1] else 0.0
                                            for i in range(len(self.f.wrt))]
            self._non_finite(step, float(losses[step]), grads)
        from ..errors import TrainingDiverged
        raise TrainingDiverged("training diverged at step %d: the validation loss became %s"
                               % (step, float(val[step])), step=step)

    def _losses_at(self, values):
        """The loss on all the training data (streamed windows when memory-mapped), and on
        the validation data (or None)."""
        from .sharding import value_function
        value = value_function(self.f)
        if self.streamed:
            train = _streamed_mean(value, values, self.host_train, self.batches.idx, self.place)
        elif self.batches is not None:
            train = float(value(values, self.batches.full))
        else:
            train = float(value(values, self.train))
        return train, None if self.val is None else float(value(values, self.val))


# --- batches ----------------------------------------------------------------------------

def _index_batches(batches):
    """The NumPy run's batches as index arrays: the same seeded permutation per epoch."""
    while True:
        order = batches.rng.permutation(batches.total)
        for s in range(0, batches.total, batches.size):
            yield (order[s:s + batches.size],), False


def _stream_batches(batches, arrays):
    """Batches read window by window from memory-mapped arrays: (sample columns, end of window)."""
    idx = sorted(batches.idx)
    row_bytes = sum(arrays[i].dtype.itemsize * int(np.prod(arrays[i].shape[1:])) for i in idx)
    window = max(batches.size, WINDOW_BYTES // max(row_bytes, 1) // batches.size * batches.size)
    starts = list(range(0, batches.total, window))
    while True:
        for w in batches.rng.permutation(len(starts)):
            lo = starts[w]
            hi = min(lo + window, batches.total)
            rows = [_read(arrays[i], lo, hi) for i in idx]
            order = batches.rng.permutation(hi - lo)
            rows = [r[order] for r in rows]
            count = math.ceil((hi - lo) / batches.size)
            for k, s in enumerate(range(0, hi - lo, batches.size)):
                yield tuple(r[s:s + batches.size] for r in rows), k == count - 1


def _streamed_mean(value, values, arrays, idx, place):
    """The mean loss over all samples, window by window (the loss is a per-sample mean)."""
    idx = sorted(idx)
    total = arrays[idx[0]].shape[0]
    row_bytes = sum(arrays[i].dtype.itemsize * int(np.prod(arrays[i].shape[1:])) for i in idx)
    window = max(1, WINDOW_BYTES // max(row_bytes, 1))
    acc = 0.0
    for lo in range(0, total, window):
        hi = min(lo + window, total)
        part = [_read(a, lo, hi) if i in idx else a for i, a in enumerate(arrays)]
        acc += float(value(values, place.data(part))) * (hi - lo)
    return acc / total


def _read(array, lo, hi):
    """Rows lo:hi copied out of a (memory-mapped) array; the mapped pages released after."""
    rows = np.array(array[lo:hi])
    root = _memmap(array)
    if root is not None and isinstance(root.base, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        base = root.ctypes.data - root.offset % mmap.ALLOCATIONGRANULARITY    # the mapping's start
        start = array.ctypes.data + lo * array.strides[0] - base
        first = start - start % mmap.PAGESIZE
        try:
            root.base.madvise(mmap.MADV_DONTNEED, first, start - first + rows.nbytes)
        except (OSError, ValueError):       # best effort: the OS reclaims file pages anyway
            pass
    return rows


def _memmap(array):
    """The np.memmap that owns the mapping an array views (its base is the mmap), or None."""
    found = None
    while isinstance(array, np.ndarray):
        if isinstance(array, np.memmap):
            found = array
        array = array.base
    return found if found is not None and isinstance(found.base, mmap.mmap) else None


def _sample_arrays(f, train):
    """Indices of the data arrays with a sample axis (sharded over several devices)."""
    from .data import sample_axis
    return sample_axis(f, f.wrt, f.args, train)[0] if not isinstance(train, dict) else []


def _tree(state, fn):
    if isinstance(state, (list, tuple)):
        return type(state)(_tree(s, fn) for s in state)
    return fn(state)
