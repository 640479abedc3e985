"""Time budgets: a ``Deadline`` that long operations check inside their expensive steps.

>>> Deadline(None).left()
inf
"""

from __future__ import annotations

import time

from ..errors import BudgetExceeded

__all__ = ["Deadline"]


class Deadline:
    """A time budget: ``check(what)`` raises BudgetExceeded, naming ``what``, once it is spent."""

    def __init__(self, seconds: "float | None") -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def check(self, what: str = "") -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise BudgetExceeded("check_grad ran past its budget of %g s%s; pass a larger "
                                 "budget=, fewer points=, or mode=\"directional\""
                                 % (self.seconds, " (in %s)" % what if what else ""))

    def left(self) -> float:
        return float("inf") if self.end is None else self.end - time.monotonic()
