"""Linear solvers for the Newton iteration, behind one interface.

Usage (the matrix keeps a FIXED sparsity pattern over the whole analysis)::

    solver = make_linear_solver("auto", n_dofs=n, symmetric=True, coordinates=X)
    solver.factorize(K)     # symbolic analysis only the first time (pattern fixed)
    x = solver.solve(b)     # any number of right-hand sides per factorization
    solver.stats            # timings, counts, pivots / iterations, last residual
    solver.release()

``K`` is a square CSR matrix, float64, with full symmetric storage (both triangles) when
``symmetric=True``; constrained DOFs are identity rows/columns. ``factorize`` copies (or
gathers) the values it needs, so the caller may reassemble into ``K.data`` in place while
an old factorization is still being reused (modified Newton / BFGS).

Kinds
-----
``"pardiso"``  MKL PARDISO through pypardiso's ctypes binding, explicit phases
               11 (analysis, once per pattern) / 22 (numeric) / 33 (solve).
               Symmetric: upper triangle, ``mtype=-2`` by default (see
               :data:`DEFAULT_SYMMETRIC_MTYPE`); non-symmetric: ``mtype=11``.
``"amg"``      pyamg smoothed aggregation (rigid-body near-nullspace from
               ``coordinates``) preconditioning CG (symmetric) or GMRES.
``"superlu"``  ``scipy.sparse.linalg.splu`` -- fallback where MKL is unavailable.
``"auto"``     pardiso up to :data:`AMG_THRESHOLD` DOFs, AMG above (see
               :func:`choose_solver_kind`). ``BIOMECH_LINEAR_SOLVER`` overrides ``auto``.
"""

from __future__ import annotations

import copy
import ctypes
import logging
import os
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

__all__ = [
    "AMG_THRESHOLD",
    "DEFAULT_SYMMETRIC_MTYPE",
    "ENV_VAR",
    "KINDS",
    "LinearSolver",
    "LinearSolverError",
    "SingularMatrixError",
    "NotConvergedError",
    "PardisoSolver",
    "AMGSolver",
    "SuperLUSolver",
    "make_linear_solver",
    "choose_solver_kind",
    "pardiso_available",
    "rigid_body_modes",
]

_logger = logging.getLogger(__name__)

ENV_VAR = "BIOMECH_LINEAR_SOLVER"
KINDS = ("auto", "pardiso", "amg", "superlu", "pardiso-or-amg")

# Above this many DOFs "auto" asks PARDISO's analysis whether its factor fits in memory and
# takes AMG when it does not (PardisoOrAMG); below, PARDISO always fits. Memory decides, not speed:
# on the 24 GB / 2-core reference machine PARDISO's factor of a compact 3-D hex8 cube needs
# ~19 GB at 1.0M DOF (out of memory) and grows ~n^(4/3) (nested dissection, 3-D), so
# ~0.5 * 19 = 9.5 GB at 600k -- still fits next to the model, matrix and Newton vectors,
# with margin for the 1.8x of the unsymmetric path; thin/tubular geometries need far less
# (8.3 GB at 1.0M). Below that size the direct solver is preferred even where AMG is faster
# for one linear solve (cube 105k: AMG 3.7 s vs PARDISO ~9 s): AMG iteration counts blow up
# with near-incompressibility (97 its at nu=0.49) and CG breaks down on the indefinite
# tangents near limit points, whereas one PARDISO factorization is exact, robust and
# reusable for many right-hand sides (modified Newton, line search, BFGS).
AMG_THRESHOLD = 600_000

# SuperLU is only worth it for small systems (cube 30k DOF: 7-9 s, 105k: 100-190 s).
SUPERLU_THRESHOLD = 5_000  # measured: a 12k-DOF nearly incompressible tube took > 10 min in SuperLU; AMG above

# PARDISO matrix type for symmetric matrices (-2 = real symmetric indefinite, Bunch-
# Kaufman LDL^T; 2 = SPD Cholesky, with automatic fallback to -2 on error -4). -2 is the
# default: on the 108k-DOF hex8 cube (same METIS ordering, same 104M factor entries) it
# costs ~3 % more CPU time in the numeric factorization than 2 (13.5 vs 13.1 s, 1 thread)
# and ~10 % more per solve -- within run-to-run noise on a busy 2-core machine -- but it
# never wastes a factorization (plus a re-analysis) when the tangent turns indefinite
# (limit points, follower loads, mixed u-p), and it reports the inertia
# (``stats["negative_eigenvalues"]``), which Newton can use to detect instability.
DEFAULT_SYMMETRIC_MTYPE = -2


# --------------------------------------------------------------------------- errors
try:  # pragma: no cover - depends on what other modules exist
    from biomech.errors import BiomechError as _ErrorBase  # type: ignore
except ImportError:  # pragma: no cover
    _ErrorBase = RuntimeError

try:
    class LinearSolverError(_ErrorBase, RuntimeError):  # type: ignore[misc, valid-type]
        """A linear solver failed (PARDISO error code, singular matrix, no convergence)."""

        def __init__(self, message: str, code: int | None = None):
            super().__init__(message)
            self.code = code
except TypeError:  # pragma: no cover - incompatible base layouts

    class LinearSolverError(RuntimeError):  # type: ignore[no-redef]
        """A linear solver failed (PARDISO error code, singular matrix, no convergence)."""

        def __init__(self, message: str, code: int | None = None):
            super().__init__(message)
            self.code = code


class SingularMatrixError(LinearSolverError):
    """The matrix is (numerically) singular -- typically missing boundary conditions."""


class NotConvergedError(LinearSolverError):
    """The iterative solver did not reach its tolerance within ``maxiter``."""


class FactorTooLargeError(LinearSolverError):
    """PARDISO's analysis predicts more memory for the factor than the limit allows."""

    def __init__(self, message: str, predicted_gb: float, limit_gb: float):
        super().__init__(message)
        self.predicted_gb = predicted_gb
        self.limit_gb = limit_gb


def available_memory_gb() -> float | None:
    """MemAvailable from /proc/meminfo in GB (1e9 bytes); None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 / 1e9
    except (OSError, ValueError, IndexError):
        pass
    return None


_UNDERCONSTRAINED = ("the model may be under-constrained: fix rigid-body motion "
                     "(or the tangent is singular at a limit/bifurcation point)")

_PARDISO_ERRORS = {
    -1: "input inconsistent",
    -2: "not enough memory",
    -3: "reordering problem",
    -4: "zero pivot, numerical factorization or iterative refinement problem",
    -5: "unclassified (internal) error",
    -6: "reordering failed (non-symmetric matrices only)",
    -7: "diagonal matrix is singular",
    -8: "32-bit integer overflow problem",
    -9: "not enough memory for out-of-core solver",
    -10: "error opening out-of-core files",
    -11: "read/write error with out-of-core files",
    -12: "pardiso_64 called from 32-bit library",
    -13: "interrupted by the (mkl_progress) callback",
    -15: "reordering failed",
}


# --------------------------------------------------------------------------- helpers
def _emit(log: Any, msg: str) -> None:
    if log is None:
        _logger.debug(msg)
    elif hasattr(log, "info"):
        log.info(msg)
    else:
        log(msg)


def _check_square_csr(K: Any, n: int | None) -> sp.csr_matrix:
    if not sp.issparse(K):
        raise TypeError(f"expected a scipy sparse CSR matrix, got {type(K).__name__}")
    if K.format != "csr":
        K = K.tocsr()
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"matrix must be square, got shape {K.shape}")
    if n is not None and K.shape[0] != n:
        raise ValueError(f"matrix has {K.shape[0]} rows, solver was made for n_dofs={n}")
    return K


def _as_rhs(b: Any, n: int) -> np.ndarray:
    b = np.asarray(b)
    if b.shape[0] != n or b.ndim not in (1, 2):
        raise ValueError(f"right-hand side of shape {b.shape} does not match n={n}")
    return b


def _rel_residual(matvec: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                  b: np.ndarray) -> float:
    """max over columns of ||b - A x|| / ||b|| (0 for b = 0)."""
    r = b - matvec(x)
    if b.ndim == 1:
        nb = np.linalg.norm(b)
        return float(np.linalg.norm(r) / nb) if nb > 0 else float(np.linalg.norm(r))
    nb = np.linalg.norm(b, axis=0)
    nr = np.linalg.norm(r, axis=0)
    return float(np.max(np.where(nb > 0, nr / np.where(nb > 0, nb, 1.0), nr)))


def rigid_body_modes(coordinates: np.ndarray, fixed: np.ndarray | None = None) -> np.ndarray:
    """The six rigid-body modes (n_nodes*3, 6), node-major DOFs (dof = 3*node + comp).

    Rotations are taken about the centroid and scaled to the translations' size (better
    conditioned aggregates). Rows flagged in ``fixed`` (bool, per DOF) are zeroed.
    """
    X = np.asarray(coordinates, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 3:
        raise ValueError(f"coordinates must be (n_nodes, 3), got {X.shape}")
    c = X - X.mean(axis=0)
    scale = np.abs(c).max()
    if scale > 0:
        c = c / scale
    nn = X.shape[0]
    B = np.zeros((nn, 3, 6))
    for k in range(3):
        B[:, k, k] = 1.0
    x, y, z = c[:, 0], c[:, 1], c[:, 2]
    # rotation about x: (0, -z, y); about y: (z, 0, -x); about z: (-y, x, 0)
    B[:, 1, 3], B[:, 2, 3] = -z, y
    B[:, 0, 4], B[:, 2, 4] = z, -x
    B[:, 0, 5], B[:, 1, 5] = -y, x
    B = B.reshape(3 * nn, 6)
    if fixed is not None:
        B[np.asarray(fixed, dtype=bool)] = 0.0
    return B


def _identity_rows(K: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Bool per row: the row's only non-zero value is on the diagonal (constrained DOF)."""
    n = K.shape[0]
    nz = K.data != 0.0
    count = np.bincount(rows[nz], minlength=n)
    offdiag = np.bincount(rows[nz & (rows != K.indices)], minlength=n)
    return (count == 1) & (offdiag == 0)


# --------------------------------------------------------------------------- base
class LinearSolver:
    """Common interface: ``factorize(K)``, ``solve(b)``, ``release()``, ``name``, ``stats``."""

    name = "base"

    def __init__(self, n_dofs: int | None = None, symmetric: bool = True, log: Any = None):
        self.n_dofs = None if n_dofs is None else int(n_dofs)
        self.symmetric = bool(symmetric)
        self.log = log
        self.stats: dict[str, Any] = {
            "analyse_s": 0.0,
            "factor_s": 0.0,
            "solve_s": 0.0,
            "factorizations": 0,
            "solves": 0,
            "iterations": 0,
            "residual": float("nan"),
        }
        self._pattern: tuple[np.ndarray, np.ndarray] | None = None

    # pattern bookkeeping -------------------------------------------------------------
    def _same_pattern(self, K: sp.csr_matrix) -> bool:
        if self._pattern is None:
            return False
        indptr, indices = self._pattern
        if K.indptr is indptr and K.indices is indices:
            return True
        return (K.indptr.shape == indptr.shape and K.indices.shape == indices.shape
                and np.array_equal(K.indptr, indptr) and np.array_equal(K.indices, indices))

    def _remember_pattern(self, K: sp.csr_matrix) -> None:
        self._pattern = (K.indptr, K.indices)

    # interface -----------------------------------------------------------------------
    def factorize(self, K: sp.csr_matrix) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def load(self, K: sp.csr_matrix) -> None:
        """First half of ``factorize``: take K. Solvers that copy its values (PARDISO)
        let the caller free K before ``factor()``; the others keep K until then."""
        self._loaded = K

    def factor(self) -> None:
        """Second half of ``factorize``: factorize what ``load`` took."""
        K, self._loaded = getattr(self, "_loaded", None), None
        if K is None:
            raise LinearSolverError("factor() called before load()")
        self.factorize(K)

    def release_factor(self) -> None:
        """Free the factorization before the next ``factorize`` (no-op unless it helps)."""

    def solve(self, b: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def release(self) -> None:  # pragma: no cover - abstract
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} n_dofs={self.n_dofs}>"


# --------------------------------------------------------------------------- PARDISO
_PARDISO_TEMPLATE: Any = None     # one loaded pypardiso.PyPardisoSolver, or False


def _pardiso_template() -> Any:
    """A loaded ``pypardiso.PyPardisoSolver`` (its constructor searches for mkl_rt, which
    takes ~0.5 s, so it is done once per process); None when unavailable."""
    global _PARDISO_TEMPLATE
    if _PARDISO_TEMPLATE is None:
        try:
            import pypardiso

            _PARDISO_TEMPLATE = pypardiso.PyPardisoSolver()
        except Exception:  # ImportError, OSError (no mkl_rt), ...
            _PARDISO_TEMPLATE = False
    return _PARDISO_TEMPLATE or None


def pardiso_available() -> bool:
    """True when pypardiso imports and MKL's ``pardiso`` symbol can be loaded."""
    return _pardiso_template() is not None


@njit(cache=True)
def _row_tails(src, ia, indptr):
    """True when the gathered entries of row r (src[ia[r]:ia[r+1]]) are exactly the tail
    indptr[r+1] - (ia[r+1] - ia[r]) .. indptr[r+1] - 1 of the full CSR row r."""
    for r in range(ia.shape[0] - 1):
        m = ia[r + 1] - ia[r]
        first = indptr[r + 1] - m
        for k in range(m):
            if src[ia[r] + k] != first + k:
                return False
    return True


@njit(cache=True)
def _copy_row_tails(data, indptr, first, out):
    """out = the concatenation of data[first[r]:indptr[r+1]] over the rows r."""
    k = 0
    for r in range(first.shape[0]):
        for p in range(first[r], indptr[r + 1]):
            out[k] = data[p]
            k += 1


class PardisoSolver(LinearSolver):
    """MKL PARDISO with explicit phases: 11 once per pattern, 22 per factorize, 33 per solve.

    Parameters
    ----------
    mtype : None, 2, -2, 11 or "auto"
        None: :data:`DEFAULT_SYMMETRIC_MTYPE` when symmetric, 11 otherwise. ``2`` (SPD
        Cholesky) falls back to ``-2`` automatically -- and permanently for this solver --
        when PARDISO reports a non-positive pivot (error -4). ``"auto"`` is ``2`` with
        that fallback.
    matching : bool or "auto"
        Symmetric weighted matching + scaling (iparm[10]=iparm[12]=1) for ``mtype=-2``;
        "auto" turns it on when the matrix has zero diagonal entries (saddle point, e.g.
        Lagrange multipliers / mixed u-p); it costs analysis time and is computed from the
        values of the first matrix (phase 11).
    residual_tol : float or None
        After each solve the relative residual ``||b - A x|| / ||b||`` is computed (one
        matvec on the stored copy); above this a :class:`SingularMatrixError` is raised
        (PARDISO perturbs tiny pivots instead of failing, so singularity shows up here).
        None disables the check.
    ordering : int
        iparm[1]: 2 = METIS nested dissection, 3 = OpenMP-parallel METIS, 0 = min degree.
    iparm : dict
        Extra 0-based iparm overrides.
    memory_limit_gb : float or None
        When the analysis (phase 11) predicts a peak memory above this (GB), raise
        :class:`FactorTooLargeError` before factorizing (``stats["predicted_memory_gb"]``
        holds the prediction in any case).

    Threads: MKL's own (``MKL_NUM_THREADS``); reported in ``stats["threads"]``.
    """

    name = "pardiso"

    def __init__(self, n_dofs: int | None = None, symmetric: bool = True, log: Any = None, *,
                 mtype: int | str | None = None, matching: bool | str = "auto",
                 residual_tol: float | None = 1e-6, ordering: int = 2,
                 iparm: dict[int, int] | None = None, msglvl: int = 0,
                 memory_limit_gb: float | None = None):
        super().__init__(n_dofs, symmetric, log)
        self.memory_limit_gb = memory_limit_gb
        template = _pardiso_template()
        if template is None:  # pragma: no cover - non-x86 machines
            raise LinearSolverError("pypardiso (MKL PARDISO) is not importable/loadable here; "
                                    "use kind='superlu' or 'amg'")
        # own solver object (own handle pt, iparm, perm) sharing the loaded MKL library
        self._ps = copy.copy(template)
        self._ps.pt = np.zeros(64, dtype=template._pt_type[1])
        self._ps.iparm = np.zeros(64, dtype=np.int32)
        self._ps.perm = np.zeros(0, dtype=np.int32)
        self._fn = self._ps._mkl_pardiso
        if symmetric:
            if mtype is None:
                mtype = DEFAULT_SYMMETRIC_MTYPE
            if mtype == "auto":
                mtype = 2
            if mtype not in (2, -2):
                raise ValueError(f"symmetric PARDISO needs mtype 2 or -2, got {mtype!r}")
        else:
            if mtype not in (None, 11, "auto"):
                raise ValueError(f"non-symmetric PARDISO needs mtype 11, got {mtype!r}")
            mtype = 11
        self.mtype = int(mtype)
        self.matching = matching
        self.residual_tol = residual_tol
        self.ordering = int(ordering)
        self._iparm_user = dict(iparm or {})
        self.msglvl = int(msglvl)
        self._analysed = False
        self._factorized = False
        self._a: np.ndarray | None = None       # values handed to PARDISO (owned copy)
        self._ia: np.ndarray | None = None
        self._ja: np.ndarray | None = None
        self._gather: np.ndarray | None = None  # full-CSR data index per upper entry
        self._gather_pad = False
        self._row_first: np.ndarray | None = None  # or: where each row's upper part starts
        self._diag_pos: np.ndarray | None = None
        self._U: sp.csr_matrix | None = None    # view on (_a, _ja, _ia) for residuals
        self._dummy = np.zeros(1)
        self.stats.update(mtype=self.mtype, perturbed_pivots=0, negative_eigenvalues=None,
                          factor_nnz=None, factor_memory_mb=None, threads=self._threads(),
                          refinement_steps=0, mtype_fallbacks=0, matching=False)

    # low level -----------------------------------------------------------------------
    def _threads(self) -> int | None:
        try:
            return int(self._ps.libmkl.MKL_Get_Max_Threads())
        except Exception:  # pragma: no cover
            return None

    def _set_iparm(self, zero_diag: bool) -> None:
        ip = self._ps.iparm
        ip[:] = 0
        ip[0] = 1                    # do not use the solver defaults, use these
        ip[1] = self.ordering        # 2: METIS nested dissection
        ip[7] = 0                    # iterative refinement: auto (2 steps when perturbed)
        ip[17] = -1                  # report nnz(factor) in iparm[17]
        ip[20] = 1                   # 1x1 and 2x2 Bunch-Kaufman pivoting (mtype -2)
        ip[26] = 0                   # no matrix checker (we build ia/ja ourselves)
        ip[34] = 1                   # zero-based ia/ja
        use_matching = False
        if self.mtype == 11:
            ip[9] = 13               # pivot perturbation 1e-13
            ip[10] = 1               # scaling
            ip[12] = 1               # weighted matching
        else:
            ip[9] = 8                # pivot perturbation 1e-8
            if self.mtype == -2:
                use_matching = (self.matching is True or
                                (self.matching == "auto" and zero_diag))
                if use_matching:
                    ip[10] = 1
                    ip[12] = 1
        for k, v in self._iparm_user.items():
            ip[int(k)] = int(v)
        self.stats["matching"] = bool(ip[12])

    def _call(self, phase: int, nrhs: int = 1, b: np.ndarray | None = None,
              x: np.ndarray | None = None) -> int:
        err = ctypes.c_int32(0)
        i32p = ctypes.POINTER(ctypes.c_int32)
        f64p = ctypes.POINTER(ctypes.c_double)
        a = self._a if self._a is not None else self._dummy
        ia = self._ia if self._ia is not None else np.zeros(2, np.int32)
        ja = self._ja if self._ja is not None else np.zeros(1, np.int32)
        b = self._dummy if b is None else b
        x = self._dummy if x is None else x
        n = 0 if self.n_dofs is None else self.n_dofs
        self._fn(self._ps.pt.ctypes.data_as(ctypes.POINTER(self._ps._pt_type[0])),
                 ctypes.byref(ctypes.c_int32(1)),             # maxfct
                 ctypes.byref(ctypes.c_int32(1)),             # mnum
                 ctypes.byref(ctypes.c_int32(self.mtype)),
                 ctypes.byref(ctypes.c_int32(phase)),
                 ctypes.byref(ctypes.c_int32(n)),
                 a.ctypes.data_as(f64p),
                 ia.ctypes.data_as(i32p),
                 ja.ctypes.data_as(i32p),
                 self._ps.perm.ctypes.data_as(i32p),
                 ctypes.byref(ctypes.c_int32(nrhs)),
                 self._ps.iparm.ctypes.data_as(i32p),
                 ctypes.byref(ctypes.c_int32(self.msglvl)),
                 b.ctypes.data_as(f64p),
                 x.ctypes.data_as(f64p),
                 ctypes.byref(err))
        return int(err.value)

    def _raise(self, code: int, phase: int) -> None:
        what = {11: "analysis", 22: "numerical factorization", 33: "solve"}.get(phase, str(phase))
        meaning = _PARDISO_ERRORS.get(code, "unknown error")
        msg = f"PARDISO {what} failed with error {code} ({meaning}; mtype={self.mtype})"
        if code in (-4, -7):
            row = int(self._ps.iparm[29])
            if row > 0:
                msg += f"; first bad pivot in equation {row - 1} (0-based)"
            msg += f": the matrix is singular -- {_UNDERCONSTRAINED}"
            raise SingularMatrixError(msg, code)
        if code in (-2, -9):
            msg += "; use kind='amg' for this size"
        raise LinearSolverError(msg, code)

    # pattern -------------------------------------------------------------------------
    def _build_pattern(self, K: sp.csr_matrix) -> None:
        n = K.shape[0]
        nnz = K.nnz
        if nnz >= 2**31 - 1:
            raise LinearSolverError(f"nnz={nnz} exceeds PARDISO's 32-bit interface")
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(K.indptr))
        cols = K.indices.astype(np.int64, copy=False)
        if self.symmetric:
            sel = np.flatnonzero(cols >= rows)
            r, c, src = rows[sel], cols[sel], sel
            # PARDISO needs every diagonal entry in the symmetric structure
            has_diag = np.zeros(n, dtype=bool)
            has_diag[r[r == c]] = True
            missing = np.flatnonzero(~has_diag)
            if missing.size:
                r = np.concatenate([r, missing])
                c = np.concatenate([c, missing])
                src = np.concatenate([src, np.full(missing.size, nnz, dtype=np.int64)])
        else:
            r, c, src = rows, cols, np.arange(nnz, dtype=np.int64)
            if np.any(np.diff(K.indptr) == 0):
                raise SingularMatrixError(
                    f"matrix has empty rows: it is singular -- {_UNDERCONSTRAINED}")
        same_row = np.diff(r) == 0
        dc = np.diff(c)
        if np.any(same_row & (dc <= 0)):      # unsorted, duplicates or inserted diagonals
            order = np.lexsort((c, r))
            r, c, src = r[order], c[order], src[order]
            if np.any((np.diff(r) == 0) & (np.diff(c) == 0)):
                raise ValueError("matrix has duplicate entries: call K.sum_duplicates() once")
        del same_row, dc
        ia = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(r, minlength=n), out=ia[1:])
        self._ia = ia
        self._ja = c.astype(np.int32)
        self._gather, self._row_first = None, None
        self._gather_pad = bool(self.symmetric and src.size and src.max() >= nnz)
        if self.symmetric and not self._gather_pad and _row_tails(src, ia, K.indptr):
            # each row's upper part is the tail of the full row from its diagonal on: keep
            # one start per row, not one index per entry (165 MB less at 1e6 TET10 DOF)
            self._row_first = src[ia[:-1]].astype(np.int64)
        elif self.symmetric or not np.array_equal(src, np.arange(nnz)):
            self._gather = src.astype(np.int32)  # 32-bit: nnz < 2**31 was checked above
        self._a = np.zeros(self._ja.size)
        self._diag_pos = np.flatnonzero(r == c) if self.symmetric else None
        self._U = sp.csr_matrix((self._a, self._ja, self._ia), shape=(n, n), copy=False)
        self._remember_pattern(K)
        self.stats["matrix_nnz"] = int(self._ja.size)

    def _load_values(self, K: sp.csr_matrix) -> None:
        data = K.data
        if data.dtype != np.float64:
            data = data.astype(np.float64)
        if self._row_first is not None:
            _copy_row_tails(data, K.indptr, self._row_first, self._a)
        elif self._gather is None:  # identity map
            np.copyto(self._a, data)
        elif self._gather_pad:       # inserted structural zero diagonals
            np.take(np.append(data, 0.0), self._gather, out=self._a)
        else:
            np.take(data, self._gather, out=self._a)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        U = self._U
        if not self.symmetric:
            return U @ x
        y = U @ x + U.T @ x
        d = self._a[self._diag_pos]
        y -= d[:, None] * x if x.ndim == 2 else d * x
        return y

    # public ----------------------------------------------------------------------------
    def factorize(self, K: sp.csr_matrix) -> None:
        self.load(K)
        self.factor()

    def load(self, K: sp.csr_matrix) -> None:
        """Copy K's upper triangle (the caller may free K afterwards) and analyse its
        pattern once (raises FactorTooLargeError here when over ``memory_limit_gb``)."""
        K = _check_square_csr(K, self.n_dofs)
        if self.n_dofs is None:
            self.n_dofs = K.shape[0]
        new_pattern = not self._same_pattern(K)
        if new_pattern:
            if self._analysed:
                self._free(everything=True)
            t0 = time.perf_counter()
            self._build_pattern(K)
            self.stats["pattern_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self._load_values(K)
        self.stats["gather_s"] = self.stats.get("gather_s", 0.0) + time.perf_counter() - t0
        if not np.isfinite(self._a).all():
            raise LinearSolverError("matrix contains NaN or Inf")
        self._factorized = False
        if not self._analysed:
            self._analyse()
        self._values_loaded = True

    def factor(self) -> None:
        """Numerical factorization (phase 22) of the values ``load`` copied."""
        if not getattr(self, "_values_loaded", False):
            raise LinearSolverError("factor() called before load()")
        self._values_loaded = False
        t1 = time.perf_counter()
        err = self._call(22)
        if err == -4 and self.mtype == 2:
            # not positive definite: switch to symmetric indefinite for good
            _emit(self.log, "PARDISO mtype 2: non-positive pivot, retrying with mtype -2")
            self.stats["mtype_fallbacks"] += 1
            self._free(everything=True)
            self.mtype = -2
            self.stats["mtype"] = -2
            self._analyse()
            t1 = time.perf_counter()
            err = self._call(22)
        if err != 0:
            self._raise(err, 22)
        t2 = time.perf_counter()
        ip = self._ps.iparm
        self._factorized = True
        st = self.stats
        st["factor_s"] += t2 - t1
        st["last_factor_s"] = t2 - t1
        st["factorizations"] += 1
        st["perturbed_pivots"] = int(ip[13])
        st["factor_nnz"] = int(ip[17])
        st["factor_memory_mb"] = max(int(ip[14]), int(ip[15]) + int(ip[16])) / 1024.0
        if st["perturbed_pivots"]:
            _emit(self.log, f"PARDISO: {st['perturbed_pivots']} perturbed pivots "
                            "(near-singular matrix?); the solve checks the residual")
        if self.mtype == -2:
            st["negative_eigenvalues"] = int(ip[22])
        elif self.mtype == 2:
            st["negative_eigenvalues"] = 0


    def release_factor(self) -> None:
        """Free the L and U factors (phase 0), keeping the analysis: the old factor is
        then not held beside the next tangent (0.6 GB at 1e6 TET10 DOF)."""
        if self._factorized:
            self._free(everything=False)

    def _analyse(self) -> None:
        t = time.perf_counter()
        zero_diag = bool(self.symmetric and np.any(self._a[self._diag_pos] == 0.0))
        self._set_iparm(zero_diag)
        err = self._call(11)
        if err != 0:
            self._raise(err, 11)
        self._analysed = True
        ip = self._ps.iparm
        predicted = max(int(ip[14]), int(ip[15]) + int(ip[16])) * 1024 / 1e9  # KB -> GB
        self.stats["predicted_memory_gb"] = predicted
        if self.memory_limit_gb is not None and predicted > self.memory_limit_gb:
            self._free(everything=True)
            raise FactorTooLargeError(
                f"PARDISO's factor would need {predicted:.1f} GB, more than the "
                f"{self.memory_limit_gb:.1f} GB allowed", predicted, self.memory_limit_gb)
        dt = time.perf_counter() - t
        self.stats["analyse_s"] += dt
        self.stats["last_analyse_s"] = dt
        self.stats["analyses"] = self.stats.get("analyses", 0) + 1
        _emit(self.log, f"PARDISO analysis n={self.n_dofs} nnz={self._ja.size} "
                        f"mtype={self.mtype} {dt:.3f} s")

    def solve(self, b: np.ndarray) -> np.ndarray:
        if not self._factorized:
            raise LinearSolverError("solve() called before a successful factorize()")
        b = _as_rhs(b, self.n_dofs)
        t = time.perf_counter()
        bf = np.array(b, dtype=np.float64, order="F", copy=True)
        x = np.zeros_like(bf, order="F")
        nrhs = 1 if bf.ndim == 1 else bf.shape[1]
        err = self._call(33, nrhs, bf, x)
        if err != 0:
            self._raise(err, 33)
        x = np.ascontiguousarray(x)
        st = self.stats
        st["refinement_steps"] = int(self._ps.iparm[6])
        if self.residual_tol is not None:
            res = _rel_residual(self._matvec, x, bf)
            st["residual"] = res
            if not np.isfinite(x).all() or not res <= self.residual_tol:
                raise SingularMatrixError(
                    f"PARDISO solution has relative residual {res:.3g} > {self.residual_tol:g} "
                    f"({st['perturbed_pivots']} perturbed pivots, mtype={self.mtype}): "
                    f"the matrix is numerically singular -- {_UNDERCONSTRAINED}")
        st["solve_s"] += time.perf_counter() - t
        st["solves"] += 1
        return x

    def _free(self, everything: bool) -> None:
        if self._analysed:
            self._call(-1 if everything else 0)
        if everything:
            self._ps.pt[:] = 0
            self._analysed = False
        self._factorized = False

    def release(self) -> None:
        """Free PARDISO's memory (factor and analysis) and the stored matrix copy."""
        try:
            self._free(everything=True)
        finally:
            self._a = self._ia = self._ja = self._gather = self._U = None
            self._diag_pos = self._row_first = None
            self._pattern = None

    def __del__(self) -> None:  # free MKL memory when garbage-collected
        try:
            if getattr(self, "_analysed", False):
                self._free(everything=True)
        except Exception:
            pass


# --------------------------------------------------------------------------- AMG
class _CoarseLU:
    """Sparse LU coarse-grid solver for pyamg, tolerant of all-zero coarse rows.

    Aggregates made only of constrained DOFs (whose near-nullspace rows are zeroed) give
    zero columns in the tentative prolongator, hence zero rows/columns in the coarse
    matrix; they get a unit diagonal (their correction is zero). pyamg's default "pinv"
    does a dense SVD, which is slow, and pathologically so with multi-threaded OpenBLAS on
    a busy machine.
    """

    def __init__(self) -> None:
        self._key: int | None = None
        self._lu: Any = None

    def __call__(self, A: Any, b: np.ndarray) -> np.ndarray:
        if self._key != id(A):
            C = sp.csc_matrix(A)
            empty = np.asarray(abs(C).sum(axis=1)).ravel() == 0.0
            if empty.any():
                C = (C + sp.diags(empty.astype(np.float64))).tocsc()
            self._lu = spla.splu(C, permc_spec="MMD_AT_PLUS_A")
            self._key = id(A)
        return self._lu.solve(np.asarray(b, dtype=np.float64))


class AMGSolver(LinearSolver):
    """pyamg smoothed aggregation (rigid-body near-nullspace) preconditioning CG / GMRES.

    Parameters
    ----------
    coordinates : (n_nodes, 3) array
        Node coordinates, DOF = 3*node + comp. Without them only the three translations
        are used as near-nullspace (much slower convergence).
    rtol : float
        Stop at ``||b - A x|| <= rtol * ||b||`` (Krylov recurrence; the true residual is
        checked afterwards and must be within 10 * rtol).
    maxiter : int
        Raise :class:`NotConvergedError` beyond this many Krylov iterations.
    reuse_hierarchy : bool
        Keep the previous hierarchy on ``factorize`` (only the fine-level matrix and its
        smoother are updated); it is rebuilt when a solve needs more than ``reuse_factor``
        times the iterations of the freshly built hierarchy (or fails). Measured on a
        108k-DOF cube with element moduli changed by up to +-30 %: iterations unchanged,
        0.2 s update instead of a 0.9-2 s setup, i.e. ~20 % of a factorize+solve at
        nu=0.3 and ~10 % at nu=0.49 (solve-dominated). Off by default; worth it for
        modified Newton with small increments.

    Dense BLAS (OpenBLAS) runs CG's dot products: set ``OPENBLAS_NUM_THREADS`` (1 on a
    shared 2-core machine), multi-threaded OpenBLAS under contention is several x slower.
    amg_options : dict
        Overrides for ``pyamg.smoothed_aggregation_solver``.
    """

    name = "amg"

    def __init__(self, n_dofs: int | None = None, symmetric: bool = True, log: Any = None, *,
                 coordinates: np.ndarray | None = None, rtol: float = 1e-10,
                 maxiter: int = 1000, reuse_hierarchy: bool = False,
                 reuse_factor: float = 1.5, restart: int = 50,
                 amg_options: dict[str, Any] | None = None):
        super().__init__(n_dofs, symmetric, log)
        import pyamg  # noqa: F401  (fail early)

        self.coordinates = None if coordinates is None else np.asarray(coordinates, float)
        if self.coordinates is not None and n_dofs is not None and \
                3 * self.coordinates.shape[0] != n_dofs:
            raise ValueError(f"coordinates give {3 * self.coordinates.shape[0]} DOFs, "
                             f"n_dofs={n_dofs}: AMG needs 3 DOFs per node, node-major")
        self.rtol = float(rtol)
        self.maxiter = int(maxiter)
        self.reuse_hierarchy = bool(reuse_hierarchy)
        self.reuse_factor = float(reuse_factor)
        self.restart = int(restart)
        self.amg_options = dict(amg_options or {})
        self._ml = None
        self._A: sp.csr_matrix | None = None
        self._rows: np.ndarray | None = None
        self._fresh_iterations: int | None = None
        self._reused = False
        self.stats.update(setups=0, levels=None, operator_complexity=None,
                          iterations_total=0, hierarchy_reuses=0)

    def _setup(self) -> None:
        import pyamg

        t = time.perf_counter()
        A = self._A
        n = A.shape[0]
        fixed = _identity_rows(A, self._rows)
        if self.coordinates is not None:
            B = rigid_body_modes(self.coordinates, fixed)
        else:
            _emit(self.log, "AMG without coordinates: translations only as near-nullspace "
                            "(pass coordinates for the rigid-body rotations)")
            B = np.zeros((n, 3))
            for k in range(3):
                B[k::3, k] = 1.0
            B[fixed] = 0.0
        blocked = n % 3 == 0
        Ab = A.tobsr(blocksize=(3, 3)) if blocked else A
        opts: dict[str, Any] = dict(
            symmetry="hermitian" if self.symmetric else "nonsymmetric",
            strength="symmetric",
            smooth=("jacobi", {"omega": 4.0 / 3.0}),
            improve_candidates=None,   # rigid-body modes are exact; smoothing them costs
            max_coarse=500,
            coarse_solver=_CoarseLU(),
        )
        opts.update(self.amg_options)
        self._ml = pyamg.smoothed_aggregation_solver(Ab, B=B, **opts)
        self._fresh_iterations = None
        self._reused = False
        dt = time.perf_counter() - t
        st = self.stats
        st["analyse_s"] += dt
        st["last_setup_s"] = dt
        st["setups"] += 1
        st["levels"] = len(self._ml.levels)
        st["operator_complexity"] = float(self._ml.operator_complexity())
        _emit(self.log, f"AMG setup n={n}: {st['levels']} levels, operator complexity "
                        f"{st['operator_complexity']:.2f}, {dt:.2f} s")

    def _update_fine_level(self) -> None:
        from pyamg.relaxation.smoothing import change_smoothers

        ml = self._ml
        A = self._A
        ml.levels[0].A = A.tobsr(blocksize=(3, 3)) if A.shape[0] % 3 == 0 else A
        pre = self.amg_options.get("presmoother", ("block_gauss_seidel", {"sweep": "symmetric"}))
        post = self.amg_options.get("postsmoother", ("block_gauss_seidel", {"sweep": "symmetric"}))
        change_smoothers(ml, pre, post)
        self._reused = True
        self.stats["hierarchy_reuses"] += 1

    def factorize(self, K: sp.csr_matrix) -> None:
        K = _check_square_csr(K, self.n_dofs)
        if self.n_dofs is None:
            self.n_dofs = K.shape[0]
        t = time.perf_counter()
        new_pattern = not self._same_pattern(K)
        # own copy of the values: the caller may reassemble K in place
        self._A = sp.csr_matrix((K.data.astype(np.float64, copy=True), K.indices, K.indptr),
                                shape=K.shape, copy=False)
        if new_pattern:
            self._rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
            self._remember_pattern(K)
        if not np.isfinite(self._A.data).all():
            raise LinearSolverError("matrix contains NaN or Inf")
        setup_before = self.stats["analyse_s"]
        if self._ml is not None and self.reuse_hierarchy and not new_pattern:
            self._update_fine_level()
        else:
            self._setup()
        self.stats["factorizations"] += 1
        # analyse_s: hierarchy setups; factor_s: the rest (copy, fine-level update)
        self.stats["factor_s"] += (time.perf_counter() - t
                                   - (self.stats["analyse_s"] - setup_before))

    def _krylov(self, b: np.ndarray, maxiter: int) -> tuple[np.ndarray, int, int]:
        A = self._A
        M = self._ml.aspreconditioner(cycle="V")
        its = [0]
        if self.symmetric:
            def cb(_xk):
                its[0] += 1
            x, info = spla.cg(A, b, rtol=self.rtol, atol=0.0, maxiter=maxiter, M=M,
                              callback=cb)
        else:
            def cb(_pr):
                its[0] += 1
            restart = min(self.restart, maxiter)
            x, info = spla.gmres(A, b, rtol=self.rtol, atol=0.0, restart=restart,
                                 maxiter=max(1, -(-maxiter // restart)), M=M,
                                 callback=cb, callback_type="pr_norm")
        return x, int(info), its[0]

    def _solve1(self, b: np.ndarray) -> np.ndarray:
        nb = np.linalg.norm(b)
        if nb == 0:
            return np.zeros_like(b)
        maxiter = self.maxiter
        if self._reused and self._fresh_iterations is not None:
            maxiter = min(maxiter, int(self.reuse_factor * self._fresh_iterations) + 1)
        x, info, its = self._krylov(b, maxiter)
        res = float(np.linalg.norm(b - self._A @ x) / nb)
        if self._reused and (info != 0 or res > 10 * self.rtol):
            _emit(self.log, f"AMG: reused hierarchy needed > {maxiter} iterations, rebuilding")
            self._setup()
            x, info, its2 = self._krylov(b, self.maxiter)
            self._fresh_iterations = its2
            its += its2
            res = float(np.linalg.norm(b - self._A @ x) / nb)
        elif not self._reused and self._fresh_iterations is None:
            self._fresh_iterations = its
        self.stats["iterations"] = its
        self.stats["iterations_total"] += its
        self.stats["residual"] = res
        if info != 0 or not np.isfinite(res) or res > 10 * self.rtol:
            method = "CG" if self.symmetric else "GMRES"
            hint = (" (matrix indefinite? use kind='pardiso')" if self.symmetric else "")
            raise NotConvergedError(
                f"AMG-{method} did not converge: {its} iterations (maxiter {self.maxiter}), "
                f"relative residual {res:.3g} > rtol {self.rtol:g}{hint}", info)
        return x

    def solve(self, b: np.ndarray) -> np.ndarray:
        if self._ml is None:
            raise LinearSolverError("solve() called before factorize()")
        b = _as_rhs(b, self.n_dofs).astype(np.float64, copy=False)
        t = time.perf_counter()
        if b.ndim == 1:
            x = self._solve1(b)
        else:
            x = np.column_stack([self._solve1(b[:, j]) for j in range(b.shape[1])])
        self.stats["solve_s"] += time.perf_counter() - t
        self.stats["solves"] += 1
        return x

    def release(self) -> None:
        self._ml = None
        self._A = None
        self._rows = None
        self._pattern = None


# --------------------------------------------------------------------------- SuperLU
class SuperLUSolver(LinearSolver):
    """``scipy.sparse.linalg.splu`` (permc_spec "MMD_AT_PLUS_A"); no symbolic reuse."""

    name = "superlu"

    def __init__(self, n_dofs: int | None = None, symmetric: bool = True, log: Any = None, *,
                 permc_spec: str = "MMD_AT_PLUS_A", residual_tol: float | None = 1e-6):
        super().__init__(n_dofs, symmetric, log)
        self.permc_spec = permc_spec
        self.residual_tol = residual_tol
        self._lu = None
        self._A: sp.csc_matrix | None = None

    def factorize(self, K: sp.csr_matrix) -> None:
        K = _check_square_csr(K, self.n_dofs)
        if self.n_dofs is None:
            self.n_dofs = K.shape[0]
        t = time.perf_counter()
        self._lu = None
        A = K.tocsc(copy=True).astype(np.float64, copy=False)
        if not np.isfinite(A.data).all():
            raise LinearSolverError("matrix contains NaN or Inf")
        try:
            # (SymmetricMode + small diag_pivot_thresh gives the same fill on elasticity
            # and was not faster, so the default partial pivoting is kept)
            self._lu = spla.splu(A, permc_spec=self.permc_spec)
        except RuntimeError as exc:
            raise SingularMatrixError(f"SuperLU factorization failed ({exc}): the matrix is "
                                      f"singular -- {_UNDERCONSTRAINED}") from exc
        self._A = A
        self.stats["factorizations"] += 1
        self.stats["factor_s"] += time.perf_counter() - t
        self.stats["factor_nnz"] = int(self._lu.L.nnz + self._lu.U.nnz)

    def solve(self, b: np.ndarray) -> np.ndarray:
        if self._lu is None:
            raise LinearSolverError("solve() called before a successful factorize()")
        b = _as_rhs(b, self.n_dofs).astype(np.float64, copy=False)
        t = time.perf_counter()
        x = self._lu.solve(b)
        if self.residual_tol is not None:
            res = _rel_residual(lambda v: self._A @ v, x, b)
            self.stats["residual"] = res
            if not np.isfinite(x).all() or not res <= self.residual_tol:
                raise SingularMatrixError(
                    f"SuperLU solution has relative residual {res:.3g} > {self.residual_tol:g}"
                    f": the matrix is numerically singular -- {_UNDERCONSTRAINED}")
        self.stats["solve_s"] += time.perf_counter() - t
        self.stats["solves"] += 1
        return x

    def release(self) -> None:
        self._lu = None
        self._A = None


# --------------------------------------------------------------------------- PARDISO or AMG
# Share of the memory available at the first factorization that PARDISO's predicted peak
# may take before "auto" turns to AMG for a large model (the rest: model, matrix copies,
# Newton vectors, other processes).
MEMORY_SHARE = 0.75


class PardisoOrAMG(LinearSolver):
    """PARDISO when the peak memory its own analysis predicts fits, AMG otherwise.

    The choice is made once, at the first factorization: PARDISO's analysis (phase 11,
    a few seconds at 10^6 DOF) predicts the factor's peak memory, which is compared with
    ``memory_limit_gb`` (default :data:`MEMORY_SHARE` of the memory available then).
    The geometry decides what fits (a thin tube of 10^6 DOF needs ~8 GB, a compact cube
    ~19 GB), not the DOF count alone. ``name`` and ``stats`` are those of the solver
    chosen; ``choice`` says why.
    """

    def __init__(self, n_dofs: int | None = None, symmetric: bool = True, log: Any = None, *,
                 coordinates: np.ndarray | None = None, memory_limit_gb: float | None = None,
                 pardiso_options: dict[str, Any] | None = None,
                 amg_options: dict[str, Any] | None = None):
        self.n_dofs = None if n_dofs is None else int(n_dofs)
        self.symmetric = bool(symmetric)
        self.log = log
        self.coordinates = coordinates
        self.memory_limit_gb = memory_limit_gb
        self._pardiso_options = dict(pardiso_options or {})
        self._amg_options = dict(amg_options or {})
        self.active: LinearSolver | None = None
        self.choice = "not chosen yet (at the first factorization)"

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.active.name if self.active is not None else "pardiso-or-amg"

    @property
    def stats(self) -> dict[str, Any]:  # type: ignore[override]
        return self.active.stats if self.active is not None else {}

    def factorize(self, K: sp.csr_matrix) -> None:
        self.load(K)
        self.factor()

    def load(self, K: sp.csr_matrix) -> None:
        if self.active is None:
            self.active = self._choose(K)
        else:
            self.active.load(K)

    def factor(self) -> None:
        if self.active is None:
            raise LinearSolverError("factor() called before load()")
        self.active.factor()

    def release_factor(self) -> None:
        if self.active is not None:
            self.active.release_factor()

    def _choose(self, K: sp.csr_matrix) -> LinearSolver:
        """Load K into PARDISO, whose analysis predicts its memory; into AMG when too much."""
        limit = self.memory_limit_gb
        if limit is None:
            avail = available_memory_gb()
            limit = None if avail is None else MEMORY_SHARE * avail
        pardiso = PardisoSolver(self.n_dofs, self.symmetric, self.log, memory_limit_gb=limit,
                                **self._pardiso_options)
        try:
            pardiso.load(K)
        except FactorTooLargeError as exc:
            pardiso.release()
            self.choice = f"AMG: {exc}"
            _emit(self.log, f"linear solver: {self.choice}")
            amg = AMGSolver(self.n_dofs, self.symmetric, self.log,
                            coordinates=self.coordinates, **self._amg_options)
            amg.load(K)
            return amg
        predicted = pardiso.stats.get("predicted_memory_gb", float("nan"))
        self.choice = (f"PARDISO: its factor needs {predicted:.1f} GB"
                       + (f", within the {limit:.1f} GB allowed" if limit is not None else ""))
        _emit(self.log, f"linear solver: {self.choice}")
        return pardiso

    def solve(self, b: np.ndarray) -> np.ndarray:
        if self.active is None:
            raise LinearSolverError("solve() called before a successful factorize()")
        return self.active.solve(b)

    def release(self) -> None:
        if self.active is not None:
            self.active.release()


# --------------------------------------------------------------------------- factory
def choose_solver_kind(n_dofs: int, coordinates: np.ndarray | None = None, *,
                       amg_threshold: int = AMG_THRESHOLD,
                       have_pardiso: bool | None = None) -> str:
    """The kind ``"auto"`` resolves to (ignoring the environment variable).

    pardiso if available and ``n_dofs <= amg_threshold``; above it "pardiso-or-amg"
    (:class:`PardisoOrAMG`: PARDISO if its predicted factor fits in memory); superlu if
    pardiso is missing and ``n_dofs <= SUPERLU_THRESHOLD``; else amg. (AMG without
    ``coordinates`` only has the translations as near-nullspace and converges much more
    slowly: pass coordinates.)
    """
    if have_pardiso is None:
        have_pardiso = pardiso_available()
    if have_pardiso and n_dofs <= amg_threshold:
        return "pardiso"
    if have_pardiso:
        return "pardiso-or-amg"
    if not have_pardiso and n_dofs <= SUPERLU_THRESHOLD:
        return "superlu"
    return "amg"


def make_linear_solver(kind: str = "auto", n_dofs: int | None = None, symmetric: bool = True,
                       coordinates: np.ndarray | None = None, log: Any = None, *,
                       amg_threshold: int = AMG_THRESHOLD, **options: Any) -> LinearSolver:
    """Create a linear solver.

    ``kind``: "auto", "pardiso", "amg", "superlu" or "pardiso-or-amg" (:class:`PardisoOrAMG`,
    what "auto" gives above ``amg_threshold``). With "auto" the environment variable
    ``BIOMECH_LINEAR_SOLVER`` (one of the same names) overrides the choice; otherwise
    :func:`choose_solver_kind`. ``log``: None, a logger (``.info``) or a callable(str).
    ``options`` go to the solver class (e.g. ``mtype=2`` for pardiso, ``rtol``,
    ``maxiter``, ``reuse_hierarchy`` for amg) -- options not meant for the chosen class are
    dropped, so callers may pass a union of them with ``kind="auto"``; names no
    solver knows raise ``TypeError``.
    """
    kind = (kind or "auto").lower()
    if kind not in KINDS:
        raise ValueError(f"unknown linear solver kind {kind!r}; choose from {KINDS}")
    reason = "requested"
    if kind == "auto":
        env = os.environ.get(ENV_VAR, "").strip().lower()
        if env and env != "auto":
            if env not in KINDS:
                raise ValueError(f"{ENV_VAR}={env!r} is not one of {KINDS}")
            kind, reason = env, f"from {ENV_VAR}"
        else:
            if n_dofs is None:
                raise ValueError("kind='auto' needs n_dofs")
            kind = choose_solver_kind(int(n_dofs), coordinates, amg_threshold=amg_threshold)
            reason = f"auto (n_dofs={n_dofs}, amg_threshold={amg_threshold})"
    known = set().union(*(_params(c) for c in (PardisoSolver, AMGSolver, SuperLUSolver)))
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"unknown linear solver option(s): {sorted(unknown)}")
    if kind == "pardiso-or-amg":
        pardiso_kw = {k: v for k, v in options.items() if k in _params(PardisoSolver)}
        amg_kw = {k: v for k, v in options.items()
                  if k in _params(AMGSolver) and k != "coordinates"}
        limit = pardiso_kw.pop("memory_limit_gb", None)
        _emit(log, f"linear solver: pardiso, or amg if its factor does not fit ({reason})")
        return PardisoOrAMG(n_dofs, symmetric, log, coordinates=coordinates,
                            memory_limit_gb=limit, pardiso_options=pardiso_kw,
                            amg_options=amg_kw)
    cls: type[LinearSolver] = {"pardiso": PardisoSolver, "amg": AMGSolver,
                                "superlu": SuperLUSolver}[kind]
    kw = {k: v for k, v in options.items() if k in _params(cls)}
    if kind == "amg":
        kw["coordinates"] = coordinates
    solver = cls(n_dofs, symmetric, log, **kw)
    _emit(log, f"linear solver: {solver.name} ({reason})")
    return solver


def _params(cls: type) -> set[str]:
    """Keyword parameters of a solver class's constructor."""
    import inspect

    return set(inspect.signature(cls.__init__).parameters) - {"self", "n_dofs", "symmetric", "log"}
    cls: type[LinearSolver] = {"pardiso": PardisoSolver, "amg": AMGSolver,
                                "superlu": SuperLUSolver}[kind]
    import inspect

    def params(c: type) -> set[str]:
        return set(inspect.signature(c.__init__).parameters) - {"self"}

    unknown = set(options) - set().union(*(params(c) for c in (PardisoSolver, AMGSolver,
                                                               SuperLUSolver)))
    if unknown:
        raise TypeError(f"unknown linear solver option(s): {sorted(unknown)}")
    accepted = params(cls)
    kw = {k: v for k, v in options.items() if k in accepted}
    if kind == "amg":
        kw["coordinates"] = coordinates
    solver = cls(n_dofs, symmetric, log, **kw)
    _emit(log, f"linear solver: {solver.name} ({reason})")
    return solver
