"""symgrad: symbolic gradients for machine learning, generated NumPy code, and three-way verification.

>>> import sympy as sp, symgrad as sg
>>> w, x, y = sp.symbols("w x y")
>>> sg.grad((w*x - y)**2, w)
2*x*(w*x - y)
"""
from .check import GradCheckReport, check_grad
from .compile import GradFunction, value_and_grad
from .derive import grad, hessian
from .errors import (ArgumentError, ParseError, ProofFailure, ShapeMismatch, SymgradError,
                     TrainingDiverged, UnsupportedExpression)
from . import losses, models
from .nodes import logsumexp, mean, msum, sigmoid, softmax, softplus
from .optim import GD, SGD, Adam, Momentum, Nesterov, Optimizer
from .prove import Claim, run_claims
from .train import FitResult, fit
from .verify import Verdict, verify

__version__ = "0.1.0"

__all__ = [
    "grad", "hessian", "value_and_grad", "check_grad", "GradFunction", "GradCheckReport",
    "verify", "Verdict", "Claim", "run_claims",
    "fit", "FitResult", "GD", "SGD", "Momentum", "Nesterov", "Adam", "Optimizer", "losses", "models",
    "sigmoid", "softplus", "logsumexp", "softmax", "msum", "mean",
    "SymgradError", "UnsupportedExpression", "ShapeMismatch", "ParseError", "ArgumentError",
    "TrainingDiverged", "ProofFailure",
]
