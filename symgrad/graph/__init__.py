"""Stage 1, the expression graph: hash-consed nodes (ir), SymPy -> graph (lower), and
graph -> SymPy for results shown to people (raising)."""
