"""symgrad: symbolic gradients for machine learning, generated NumPy code, and three-way verification.

>>> import sympy as sp, symgrad as sg
>>> w, x, y = sp.symbols("w x y")
>>> sg.grad((w*x - y)**2, w)
2*x*(w*x - y)
"""
import sys

from .check.grad import GradCheckReport, check_grad
from .pipeline.function import (CompiledExpression, GradFunction, HessianFunction, compile_expression,
                                value_and_grad, value_grad_hessian)
from .derive.reverse import grad
from .derive.second import hessian, jacobian
from .graph.index_matrix import index_form
from .errors import (ArgumentError, BudgetExceeded, FileExists, MissingDependency, NoText,
                     ParseError, ProofFailure, RuleMismatch, ShapeMismatch, SymgradError, TrainingDiverged,
                     UnsupportedExpression)
from .zoo import losses, models
from .ops.nodes import logsumexp, mean, msum, sigmoid, softmax, softplus
from .ops.derived import logit
from .ops.user import register_function
from .train.newton import LBFGS, Newton
from .train.optim import GD, SGD, Adam, Momentum, Nesterov, Optimizer
from .verification.claims import Claim, run_claims
from .train.fit import FitResult, fit
from .verification.api import Verdict, verify
from .verification.steps import derivation, verify_steps

__version__ = "0.1.0"

# symgrad.losses and symgrad.models are public module paths (import symgrad.losses works)
sys.modules[__name__ + ".losses"] = losses
sys.modules[__name__ + ".models"] = models

__all__ = [
    "grad", "hessian", "jacobian", "value_and_grad", "check_grad", "GradFunction", "GradCheckReport",
    "value_grad_hessian", "HessianFunction",
    "compile_expression", "CompiledExpression",
    "verify", "Verdict", "Claim", "run_claims", "derivation", "verify_steps",
    "index_form",
    "fit", "FitResult", "GD", "SGD", "Momentum", "Nesterov", "Adam", "Newton", "LBFGS", "Optimizer",
    "losses", "models",
    "sigmoid", "softplus", "logsumexp", "softmax", "msum", "mean", "logit", "register_function",
    "SymgradError", "UnsupportedExpression", "ShapeMismatch", "ParseError", "NoText", "ArgumentError",
    "FileExists", "MissingDependency", "TrainingDiverged", "ProofFailure", "RuleMismatch",
    "BudgetExceeded",
]
