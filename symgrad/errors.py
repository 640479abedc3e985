"""symgrad's exception family.

Every error symgrad raises on purpose is a ``SymgradError``. Each message names
the node, symbol or shape at fault and says what to do about it.
"""

import threading

import sympy as sp

__all__ = [
    "SymgradError",
    "UnsupportedExpression",
    "ShapeMismatch",
    "ParseError",
    "NoText",
    "ArgumentError",
    "FileExists",
    "MissingDependency",
    "TrainingDiverged",
    "ProofFailure",
    "RuleMismatch",
    "BudgetExceeded",
]


class SymgradError(Exception):
    """Base class of every error symgrad raises on purpose."""


class UnsupportedExpression(SymgradError, TypeError):
    """An expression node has no derivative rule or no code printer."""


class ShapeMismatch(SymgradError, ValueError):
    """An array's shape, or a sample count, does not match what the expression needs."""


class ParseError(SymgradError, ValueError):
    """User text (command line, data file) is malformed or not allowed."""


class NoText(SymgradError, ValueError):
    """An expression has a node the parser's syntax cannot write (``to_text``)."""


class ArgumentError(SymgradError, TypeError, ValueError):
    """API misuse: a call got the wrong number, kind or value of arguments."""


class FileExists(SymgradError, FileExistsError):
    """The target file exists and overwriting was not allowed."""


class MissingDependency(SymgradError, ImportError):
    """An optional package a feature needs is not installed."""


class TrainingDiverged(SymgradError, FloatingPointError):
    """The loss became NaN or infinite during training."""

    def __init__(self, message, step=None, max_stable_lr=None):
        super().__init__(message)
        self.step = step
        self.max_stable_lr = max_stable_lr


class ProofFailure(SymgradError):
    """A claim in proofs/ did not reach its expected verdict."""


# --- arguments of the API -------------------------------------------------------------------

def whole_number(name: str, value, low: int = 0, high: "int | None" = None) -> int:
    """``value`` as an int in [low, high], or ArgumentError naming ``name`` (a seed, a count of
    points or steps: bools, floats and text are refused, never rounded or parsed).

    >>> whole_number("seed", 3)
    3
    """
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < low or (high is not None and value > high):
        raise ArgumentError("%s must be an int from %d%s, got %r"
                            % (name, low, " to %d" % high if high is not None else " up", value))
    return int(value)


# --- where a node sits, for messages ------------------------------------------------------

def describe_path(path):
    """'argument 1 of log(...), argument 0 of Add' style location text."""
    if not path:
        return "at the top of the expression"
    parts = ["argument %d of %s" % (i, short_text(p)) for p, i in reversed(path)]
    return "in " + ", in ".join(parts[:4]) + (" ..." if len(parts) > 4 else "")


def short_text(expr, limit=60):
    text = plain_text(expr)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def plain_text(expr) -> str:
    """``sympy.sstr(expr)``, without its cost on large matrix products: SymPy's printer asks
    each MatMul whether it can extract a minus sign, which multiplies the whole product out
    again (``MatMul(-1, M).doit()``), so printing a transformer block took seconds. Here a
    MatMul's precedence reads its coefficient instead; the text is the same.

    >>> A, B = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("B", 2, 2)
    >>> plain_text(A - 2*A*B)
    'A - 2*A*B'
    """
    import sympy.printing.str as printer           # the module whose precedence is swapped
    with _PRINT_LOCK:
        saved, printer.precedence = printer.precedence, _precedence
        try:
            return sp.sstr(expr)
        finally:
            printer.precedence = saved


def _precedence(item):
    from sympy.printing.precedence import PRECEDENCE, precedence
    if isinstance(item, sp.MatMul):
        c = item.args[0]
        return PRECEDENCE["Add"] if c.is_Number and c.is_extended_negative else PRECEDENCE["Mul"]
    return precedence(item)


_PRINT_LOCK = threading.RLock()


class RuleMismatch(SymgradError, ValueError):
    """A registered derivative rule disagrees with its function's implementation.

    ``point`` is where they differ, ``expected`` the numeric derivative of the
    implementation there and ``got`` the value of the given derivative.
    """

    def __init__(self, message, point=None, expected=None, got=None):
        super().__init__(message)
        self.point, self.expected, self.got = point, expected, got


class BudgetExceeded(SymgradError, TimeoutError):
    """A long operation (check_grad's budget=) ran past its time budget."""
