"""symgrad: symbolic gradients for machine learning, generated NumPy code, and three-way verification."""
from .errors import (SymgradError, UnsupportedExpression, ShapeMismatch, ParseError,
                     TrainingDiverged, ProofFailure)
from .nodes import sigmoid, softplus, logsumexp, softmax, msum, mean

__all__ = [
    "SymgradError", "UnsupportedExpression", "ShapeMismatch", "ParseError",
    "TrainingDiverged", "ProofFailure",
    "sigmoid", "softplus", "logsumexp", "softmax", "msum", "mean",
]
