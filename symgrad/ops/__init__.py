"""Stage 0, the op registry: every fact about each operation (its SymPy class, derivative
rule, printers, high-precision evaluator, kinks and domain) in one entry. Every later stage
reads it; none keeps its own list. Importing this package fills the registry."""
from . import elementwise, matrix  # noqa: F401  (the entries)
from .registry import (UNKNOWN_DERIVATIVE, BUILTIN, CONDITION, ELEMENTWISE, MATRIX, PLUMBING, VOCABULARY, Op,
                       entries, is_analytic, is_elementwise, kinks_in, lookup, replaced,
                       require)

__all__ = ["UNKNOWN_DERIVATIVE", "Op", "lookup", "replaced", "require", "entries", "is_elementwise", "kinks_in", "is_analytic",
           "ELEMENTWISE", "MATRIX", "CONDITION", "PLUMBING", "VOCABULARY", "BUILTIN"]
