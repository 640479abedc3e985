"""Stage 0, the op registry: every fact about each operation (its SymPy class, derivative
rule, printers, high-precision evaluator, kinks and domain) in one entry. Every later stage
reads it; none keeps its own list."""
