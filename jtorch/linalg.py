"""torch.linalg: linear algebra functions (kernels in ``_ops/linalg_ops.py``)."""
from ._ops.blas import matmul
from ._ops.ldl import ldl_factor, ldl_factor_ex, ldl_solve
from ._ops.linalg_factors import householder_product, lu_factor_ex
from ._ops.linalg_ops import (LinAlgError, cholesky, cholesky_ex, cond, cross, det, diagonal, eig, eigh, eigvals,
                              eigvalsh, inv, inv_ex, lstsq, lu, lu_factor, lu_solve, matrix_exp, matrix_norm,
                              matrix_power, matrix_rank, multi_dot, norm, pinv, qr, slogdet, solve, solve_ex, solve_triangular, svd, svdvals,
                              tensorinv, tensorsolve, vander, vecdot, vector_norm)

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals",
           "eigvalsh", "inv", "inv_ex", "lstsq", "lu", "lu_factor", "lu_solve", "matmul", "matrix_exp",
           "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular",
           "svd", "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm", "householder_product",
           "lu_factor_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve"]
