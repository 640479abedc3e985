"""Deadlines checked inside long evaluations, not only between them.

One evaluation (a closed form of an MLP gradient at 8 x 8 matrices, a ball of a
polynomial of degree 10^4) can take minutes, so a caller's time budget must be
checked while it runs. ``until(t)`` sets a deadline (a ``time.monotonic()`` value)
for the code it wraps, in a context variable (so threads and nested calls each see
their own; a nested deadline never extends an outer one); the evaluators call
``check()`` per node or per step, which raises ``OutOfTime`` once it has passed.
``OutOfTime`` derives from BaseException, like KeyboardInterrupt, so a handler that
turns failures into "no answer" (``except Exception``) does not swallow it: it
reaches the caller that set the deadline, which decides what "out of time" means.

>>> import time
>>> with until(time.monotonic() - 1):
...     try:
...         check()
...     except OutOfTime as e:
...         print(type(e).__name__)
OutOfTime
>>> check()        # no deadline set: never raises
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager

__all__ = ["OutOfTime", "until", "check", "remaining", "current"]

_DEADLINE = contextvars.ContextVar("symgrad_deadline", default=None)


class OutOfTime(BaseException):
    """The deadline set by ``until`` has passed (raised by ``check``)."""


def current() -> "float | None":
    """The deadline in force (a ``time.monotonic()`` value), or None."""
    return _DEADLINE.get()


@contextmanager
def until(deadline: "float | None"):
    """Run the block under ``deadline`` (None: only the outer one, if any)."""
    outer = _DEADLINE.get()
    if deadline is None or (outer is not None and outer < deadline):
        deadline = outer
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check() -> None:
    """Raise ``OutOfTime`` when the deadline in force has passed."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        raise OutOfTime("the time budget ran out")


def remaining() -> float:
    """Seconds left before the deadline in force (inf without one; may be negative)."""
    deadline = _DEADLINE.get()
    return float("inf") if deadline is None else deadline - time.monotonic()
