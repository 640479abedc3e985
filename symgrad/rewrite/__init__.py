"""Stage 3, rewrite: stable forms on the graph before code generation.

One named function per rewrite (``layout``, ``logs``, ``sums``, ``products``,
``powers``, ``branches``), registered in ``database``; ``stabilize.stabilize`` and
``stabilize.cleanup`` run the two phases. ``names()`` lists the rewrites in the
order they are tried; each phase takes ``exclude=`` to switch some off."""
from . import stabilize as _phases  # noqa: F401  (imports every rewrite, in order)
from .database import describe, names

__all__ = ["names", "describe"]
