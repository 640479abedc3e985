"""NumPy source of the helpers for the factorization nodes the speed passes build
(``rewrite/linalg_nodes.py``): a log determinant and an inverse from one LU factorization."""

__all__ = ["LINALG_HELPERS"]

LINALG_HELPERS = {
    "_logdet_lu": """def _logdet_lu(factors):
    \"\"\"log(det(A)) from scipy.linalg.lu_factor(A); NaN where det(A) <= 0, as _logdet.\"\"\"
    lu, pivots = factors
    diagonal = np.diag(lu)
    swaps = np.count_nonzero(pivots != np.arange(len(pivots)))
    negative = np.count_nonzero(diagonal < 0) + swaps
    logabsdet = np.sum(np.log(np.abs(diagonal)))
    return logabsdet if negative % 2 == 0 and np.all(diagonal != 0) else np.nan""",
    "_inverse_lu": """def _inverse_lu(factors):
    \"\"\"inv(A) from scipy.linalg.lu_factor(A), by a solve with the identity: two threaded
    triangular solves (LAPACK getri takes fewer flops, but its column blocks stall when BLAS
    threads outnumber free cores); LinAlgError if A is singular.\"\"\"
    lu, pivots = factors
    if not np.all(np.diagonal(lu)):
        raise np.linalg.LinAlgError("Singular matrix")
    return scipy.linalg.lu_solve(factors, np.eye(len(pivots), dtype=lu.dtype))""",
}
