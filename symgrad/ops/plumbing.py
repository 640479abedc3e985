"""The graph's own markers: ops that are not SymPy classes (see ``symgrad.graph.ir``)."""

__all__ = ["Leaf", "Const", "Broadcast", "SumTo", "Fill"]


class Leaf:
    """Marker op: a symbol (extra = the SymPy Symbol or MatrixSymbol)."""


class Const:
    """Marker op: a SymPy number or boolean constant (extra = (type name, value))."""


class Broadcast:
    """Marker op: stretch a scalar, row or column to ``shape``."""


class SumTo:
    """Marker op: sum a matrix down to ``shape`` (a scalar, row or column)."""


class Fill:
    """Marker op: an Identity matrix (extra = (sp.Identity, shape))."""
