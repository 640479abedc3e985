"""Graph ops that only the speed passes build, after differentiation: they are never
derived, evaluated exactly or raised back to SymPy, only printed by codegen (emit.py)."""

__all__ = ["Solve", "LUFactor", "LUSolve", "LULogDet", "LUInverse"]


class Solve:
    """Solve(A, B) = inv(A) @ B, computed by a solve (``np.linalg.solve``)."""


class LUFactor:
    """LUFactor(A): A's LU factorization with partial pivoting, computed once and shared by
    every solve with A or A^T, A's inverse and log det (``scipy.linalg.lu_factor``)."""


class LUSolve:
    """LUSolve(F, B) = inv(A) @ B, or inv(A)^T @ B when the node's extra is "T", for F =
    LUFactor(A) (``scipy.linalg.lu_solve``)."""


class LULogDet:
    """LULogDet(F) = log(det(A)) for F = LUFactor(A); NaN where det(A) <= 0, as ``_logdet``."""


class LUInverse:
    """LUInverse(F) = inv(A) for F = LUFactor(A), from the factors by a solve with the identity
    (2 d^3, where LAPACK getri takes 4/3 d^3 on one core but stalls with two BLAS threads on a
    busy machine: 2-7x slower there in bench_models and benchmarks)."""
