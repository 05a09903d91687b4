"""Tests of biomech.fem.linear on small hex8 linear-elasticity matrices built here."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from biomech.fem.linear import (
    AMG_THRESHOLD,
    ENV_VAR,
    SUPERLU_THRESHOLD,
    AMGSolver,
    FactorTooLargeError,
    LinearSolverError,
    NotConvergedError,
    PardisoOrAMG,
    PardisoSolver,
    SingularMatrixError,
    SuperLUSolver,
    available_memory_gb,
    choose_solver_kind,
    make_linear_solver,
    pardiso_available,
    rigid_body_modes,
)

needs_pardiso = pytest.mark.skipif(not pardiso_available(), reason="pypardiso/MKL missing")


# ----------------------------------------------------------------------------- matrices
def _hex8_stiffness(nu: float) -> np.ndarray:
    """24x24 stiffness of a unit-cube hex8 (E = 1), 2x2x2 Gauss, dof = 3*node + comp."""
    lam = nu / ((1 + nu) * (1 - 2 * nu))
    mu = 1 / (2 * (1 + nu))
    D = np.zeros((6, 6))
    D[:3, :3] = lam
    D[range(3), range(3)] += 2 * mu
    D[range(3, 6), range(3, 6)] = mu
    xi = np.array([[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
                   [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], float)
    g = 1 / np.sqrt(3)
    Ke = np.zeros((24, 24))
    for q in np.array(np.meshgrid([-g, g], [-g, g], [-g, g])).reshape(3, -1).T:
        f = 1 + xi * q                                            # (8, 3)
        dN = xi * np.prod(f, axis=1)[:, None] / f / 8 * 2         # d/dx, cell size 1
        B = np.zeros((6, 24))
        for k, (dx, dy, dz) in enumerate(dN):
            B[:, 3 * k:3 * k + 3] = [[dx, 0, 0], [0, dy, 0], [0, 0, dz],
                                     [dy, dx, 0], [0, dz, dy], [dz, 0, dx]]
        Ke += B.T @ D @ B / 8
    return Ke


def hex8_cube(n: int, nu: float = 0.3, emod: np.ndarray | None = None):
    """Free (singular) stiffness of an n^3 hex8 block; returns (K csr, coordinates)."""
    m = n + 1
    ijk = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3)
    c = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    corners = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                        [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]])
    e = c[:, None, :] + corners[None]
    conn = (e[..., 0] * m + e[..., 1]) * m + e[..., 2]            # (ne, 8)
    dofs = (3 * conn[:, :, None] + np.arange(3)).reshape(-1, 24)
    if emod is None:
        emod = np.ones(len(conn))
    vals = emod[:, None, None] * _hex8_stiffness(nu)[None]
    N = 3 * m**3
    K = sp.csr_matrix((vals.ravel(), (np.repeat(dofs, 24, 1).ravel(), np.tile(dofs, 24).ravel())),
                      shape=(N, N))
    K.sum_duplicates()
    K.sort_indices()
    return K, ijk.astype(float)


def with_bc(K: sp.csr_matrix, fixed: np.ndarray) -> sp.csr_matrix:
    """Identity rows/columns on the fixed DOFs, keeping the sparsity pattern."""
    K = K.copy()
    m = np.zeros(K.shape[0], bool)
    m[fixed] = True
    rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
    K.data[m[rows] | m[K.indices]] = 0.0
    K.data[m[rows] & (rows == K.indices)] = 1.0
    return K


def clamp_x0(X: np.ndarray) -> np.ndarray:
    return (3 * np.flatnonzero(X[:, 0] == 0)[:, None] + np.arange(3)).ravel()


@pytest.fixture(scope="module")
def problem():
    """3993-DOF cube, heterogeneous modulus, face x=0 clamped, two value sets."""
    n = 10
    rng = np.random.default_rng(1)
    ne = n**3
    K0, X = hex8_cube(n, 0.3, emod=rng.uniform(0.5, 2.0, ne))
    fixed = clamp_x0(X)
    K1 = with_bc(K0, fixed)
    K2 = with_bc(hex8_cube(n, 0.3, emod=rng.uniform(0.5, 2.0, ne))[0], fixed)
    assert np.array_equal(K1.indices, K2.indices) and np.array_equal(K1.indptr, K2.indptr)
    b = rng.standard_normal(K1.shape[0])
    b[fixed] = 0.0
    ref = spla.spsolve(K1.tocsc(), b)
    return dict(K=K1, K2=K2, Kfree=K0, X=X, fixed=fixed, b=b, n=K1.shape[0], ref=ref)


def relres(K, x, b):
    return np.linalg.norm(K @ x - b) / np.linalg.norm(b)


def _solver(kind: str, pb, **kw):
    return make_linear_solver(kind, n_dofs=pb["n"], symmetric=True, coordinates=pb["X"], **kw)


KINDS = [pytest.param("pardiso", {}, marks=needs_pardiso, id="pardiso-default"),
         pytest.param("pardiso", {"mtype": 2}, marks=needs_pardiso, id="pardiso-mtype2"),
         pytest.param("pardiso", {"mtype": -2}, marks=needs_pardiso, id="pardiso-mtype-2"),
         pytest.param("amg", {}, id="amg"),
         pytest.param("superlu", {}, id="superlu")]


# ----------------------------------------------------------------------------- tests
def test_hex8_matrix_sanity(problem):
    K, X = problem["Kfree"], problem["X"]
    B = rigid_body_modes(X)
    assert abs(K - K.T).max() < 1e-12
    assert np.abs(K @ B).max() < 1e-10 * abs(K).max()    # rigid modes in the null space


@pytest.mark.parametrize("kind, kw", KINDS)
def test_solve_matches_spsolve(problem, kind, kw):
    K, b, ref = problem["K"], problem["b"], problem["ref"]
    s = _solver(kind, problem, **kw)
    assert s.name == kind
    s.factorize(K)
    x = s.solve(b)
    assert x.shape == b.shape
    assert relres(K, x, b) < 1e-8
    assert np.linalg.norm(x - ref) <= 1e-7 * np.linalg.norm(ref)
    st = s.stats
    assert st["factorizations"] == 1 and st["solves"] == 1
    assert st["residual"] < 1e-8
    for key in ("analyse_s", "factor_s", "solve_s", "iterations"):
        assert key in st
    s.release()


@pytest.mark.parametrize("kind, kw", KINDS)
def test_refactorize_same_pattern_no_stale_factor(problem, kind, kw):
    K1, K2, b = problem["K"], problem["K2"], problem["b"]
    s = _solver(kind, problem, **kw)
    Kw = K1.copy()                      # the Newton solver reassembles into one array
    s.factorize(Kw)
    x1 = s.solve(b)
    Kw.data[:] = K2.data                # in place, same pattern
    x1_again = s.solve(b)               # still the old factorization (values were copied)
    assert np.allclose(x1_again, x1, rtol=1e-7, atol=1e-12 * np.abs(x1).max())
    s.factorize(Kw)
    x2 = s.solve(b)
    assert relres(K2, x2, b) < 1e-8
    assert relres(K1, x1, b) < 1e-8
    assert np.linalg.norm(x2 - x1) > 1e-3 * np.linalg.norm(x1)
    assert s.stats["factorizations"] == 2
    if kind == "pardiso":
        assert s.stats["analyses"] == 1          # symbolic analysis only once


@pytest.mark.parametrize("kind, kw", KINDS)
def test_many_rhs_one_factorization(problem, kind, kw):
    K = problem["K"]
    rng = np.random.default_rng(7)
    Bm = rng.standard_normal((problem["n"], 4))
    Bm[problem["fixed"]] = 0.0
    s = _solver(kind, problem, **kw)
    s.factorize(K)
    Xm = s.solve(Bm)
    assert Xm.shape == Bm.shape
    for j in range(Bm.shape[1]):
        assert relres(K, Xm[:, j], Bm[:, j]) < 1e-8
        xj = s.solve(Bm[:, j])
        assert np.allclose(xj, Xm[:, j], rtol=1e-6, atol=1e-10 * np.abs(xj).max())
    assert s.stats["factorizations"] == 1 and s.stats["solves"] == 5


@needs_pardiso
def test_pardiso_int64_indices_and_pattern_change(problem):
    K = problem["K"]
    K64 = K.copy()
    K64.indices = K64.indices.astype(np.int64)            # scipy may downcast on construction
    K64.indptr = K64.indptr.astype(np.int64)
    assert K64.indices.dtype == np.int64
    s = PardisoSolver(problem["n"], symmetric=True)
    s.factorize(K64)
    assert relres(K, s.solve(problem["b"]), problem["b"]) < 1e-10
    # a different pattern (structural zeros dropped) triggers a new analysis, not garbage
    Kd = K.copy()
    Kd.eliminate_zeros()
    s.factorize(Kd)
    assert relres(K, s.solve(problem["b"]), problem["b"]) < 1e-10
    assert s.stats["analyses"] == 2


@needs_pardiso
def test_pardiso_unsorted_indices(problem):
    K = problem["K"]
    Ku = K.copy()
    for i in range(K.shape[0]):                       # reverse the columns of every row
        a, z = Ku.indptr[i], Ku.indptr[i + 1]
        Ku.indices[a:z] = Ku.indices[a:z][::-1]
        Ku.data[a:z] = Ku.data[a:z][::-1]
    Ku.has_sorted_indices = False
    s = PardisoSolver(problem["n"])
    s.factorize(Ku)
    assert relres(K, s.solve(problem["b"]), problem["b"]) < 1e-10


@pytest.mark.parametrize("kind, kw", KINDS)
def test_load_then_factor_equals_factorize(problem, kind, kw):
    K, b, ref = problem["K"], problem["b"], problem["ref"]
    s = _solver(kind, problem, **kw)
    with pytest.raises(LinearSolverError, match="before load"):
        s.factor()
    Kw = K.copy()
    s.load(Kw)
    Kw.data[:] = np.nan  # what the caller does with K after load is PARDISO's business only
    if kind != "pardiso":
        Kw.data[:] = K.data  # the others keep K until factor()
    s.factor()
    assert np.linalg.norm(s.solve(b) - ref) <= 1e-7 * np.linalg.norm(ref)
    s.release_factor()
    s.load(K)
    s.factor()
    assert np.linalg.norm(s.solve(b) - ref) <= 1e-7 * np.linalg.norm(ref)
    assert s.stats["factorizations"] == 2


@needs_pardiso
def test_pardiso_release_factor_keeps_the_analysis(problem):
    K, b = problem["K"], problem["b"]
    s = PardisoSolver(problem["n"], symmetric=True)
    s.factorize(K)
    s.release_factor()
    with pytest.raises(LinearSolverError, match="before a successful factorize"):
        s.solve(b)
    s.factorize(K)
    assert relres(K, s.solve(b), b) < 1e-10
    assert s.stats["analyses"] == 1


@needs_pardiso
def test_pardiso_upper_triangle_gather_modes(problem):
    """Sorted rows with every diagonal: the upper triangle is each row's tail (one start
    per row is kept); unsorted rows or a missing diagonal: one index per entry."""
    K, b = problem["K"], problem["b"]
    s = PardisoSolver(problem["n"], symmetric=True)
    s.factorize(K)
    assert s._row_first is not None and s._gather is None
    np.testing.assert_array_equal(s._U.toarray(), sp.triu(K).toarray())
    assert relres(K, s.solve(b), b) < 1e-10
    Kz = K.tolil()
    Kz[3, 3] = 0.0  # a zero that stays in the pattern keeps the row-tail mode
    Kz = Kz.tocsr()
    Kz.eliminate_zeros()  # ... dropping it leaves row 3 without its diagonal
    s2 = PardisoSolver(problem["n"], symmetric=True)
    s2._build_pattern(Kz)
    assert s2._row_first is None and s2._gather is not None and s2._gather_pad


@needs_pardiso
def test_pardiso_indefinite_shifted(problem):
    K, b = problem["K"], problem["b"]
    Ks = (K - 0.05 * sp.eye(K.shape[0], format="csr")).tocsr()
    Ks.sort_indices()
    ref = spla.spsolve(Ks.tocsc(), b)
    s = PardisoSolver(problem["n"], symmetric=True, mtype=-2)
    s.factorize(Ks)
    x = s.solve(b)
    assert relres(Ks, x, b) < 1e-8
    assert np.linalg.norm(x - ref) < 1e-7 * np.linalg.norm(ref)
    assert s.stats["negative_eigenvalues"] > 0           # inertia reported
    # mtype 2 (SPD) hits a non-positive pivot (-4) and falls back to -2 by itself
    s2 = PardisoSolver(problem["n"], symmetric=True, mtype=2)
    s2.factorize(K)
    assert s2.stats["mtype"] == 2 and s2.stats["negative_eigenvalues"] == 0
    s2.factorize(Ks)
    assert s2.stats["mtype"] == -2 and s2.stats["mtype_fallbacks"] == 1
    assert relres(Ks, s2.solve(b), b) < 1e-8


@needs_pardiso
def test_pardiso_saddle_point(problem):
    """[[K, C^T], [C, 0]]: Lagrange multipliers clamp face x=0 of the free cube; the zero
    block is not stored at all (PARDISO needs the diagonal: the solver inserts it)."""
    Kf, fixed = problem["Kfree"], problem["fixed"]
    n, m = Kf.shape[0], fixed.size
    C = sp.csr_matrix((np.ones(m), (np.arange(m), fixed)), shape=(m, n))
    A = sp.bmat([[Kf, C.T], [C, None]], format="csr")
    A.sort_indices()
    rng = np.random.default_rng(3)
    rhs = rng.standard_normal(n + m)
    ref = spla.spsolve(A.tocsc(), rhs)
    s = make_linear_solver("pardiso", n_dofs=n + m, symmetric=True)
    s.factorize(A)
    x = s.solve(rhs)
    assert relres(A, x, rhs) < 1e-8
    assert np.linalg.norm(x - ref) < 1e-7 * np.linalg.norm(ref)
    assert s.stats["mtype"] == -2 and s.stats["matching"]
    assert s.stats["negative_eigenvalues"] == m


@needs_pardiso
@pytest.mark.parametrize("mtype", [2, -2])
def test_pardiso_singular_raises_clear_error(problem, mtype):
    Kf = problem["Kfree"]                                  # no boundary conditions
    b = np.random.default_rng(0).standard_normal(problem["n"])
    s = PardisoSolver(problem["n"], symmetric=True, mtype=mtype)
    with pytest.raises(SingularMatrixError, match="under-constrained") as info:
        s.factorize(Kf)
        s.solve(b)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, LinearSolverError)
    try:
        from biomech.errors import BiomechError
    except ImportError:
        pass
    else:
        assert isinstance(info.value, BiomechError)


def test_superlu_singular_raises(problem):
    b = np.random.default_rng(0).standard_normal(problem["n"])
    s = SuperLUSolver(problem["n"])
    with pytest.raises(SingularMatrixError, match="under-constrained"):
        s.factorize(problem["Kfree"])
        s.solve(b)


@pytest.mark.parametrize("kind", [pytest.param("pardiso", marks=needs_pardiso), "amg", "superlu"])
def test_nonsymmetric(problem, kind):
    """Follower-load-like non-symmetric perturbation of the same pattern."""
    K = problem["K"].copy()
    rng = np.random.default_rng(5)
    rows = np.repeat(np.arange(K.shape[0]), np.diff(K.indptr))
    off = rows != K.indices
    K.data[off] *= 1 + 0.05 * rng.uniform(-1, 1, off.sum())
    assert abs(K - K.T).max() > 1e-3
    b = problem["b"]
    s = make_linear_solver(kind, n_dofs=problem["n"], symmetric=False, coordinates=problem["X"])
    s.factorize(K)
    x = s.solve(b)
    assert relres(K, x, b) < 1e-8
    if kind == "pardiso":
        assert s.stats["mtype"] == 11
    # new values, same pattern (scaling/matching of the analysis are reused by PARDISO)
    K.data[off] *= 1 + 0.3 * rng.uniform(-1, 1, off.sum())
    s.factorize(K)
    assert relres(K, s.solve(b), b) < 1e-8


def test_amg_rigid_body_nullspace_iterations():
    n = 13                                                  # 8,232 DOF
    K0, X = hex8_cube(n, 0.3)
    fixed = clamp_x0(X)
    K = with_bc(K0, fixed)
    b = np.zeros(K.shape[0])
    b[3 * np.flatnonzero(X[:, 0] == n) + 2] = -1.0         # bending load on the free face
    s = AMGSolver(K.shape[0], symmetric=True, coordinates=X)
    s.factorize(K)
    x = s.solve(b)
    assert relres(K, x, b) < 1e-9
    its_rbm = s.stats["iterations"]
    assert its_rbm <= 30, its_rbm
    # without the rotations the same preconditioner needs clearly more iterations
    s3 = AMGSolver(K.shape[0], symmetric=True, coordinates=None)
    s3.factorize(K)
    s3.solve(b)
    assert s3.stats["iterations"] > its_rbm
    # reuse of the hierarchy for slightly changed values
    r = AMGSolver(K.shape[0], symmetric=True, coordinates=X, reuse_hierarchy=True)
    r.factorize(K)
    r.solve(b)
    K2 = K.copy()
    K2.data *= 1.05
    r.factorize(K2)
    assert r.stats["setups"] == 1 and r.stats["hierarchy_reuses"] == 1
    assert relres(K2, r.solve(b), b) < 1e-9


def test_amg_not_converged_raises(problem):
    s = _solver("amg", problem, maxiter=2)
    s.factorize(problem["K"])
    with pytest.raises(NotConvergedError, match="2 iterations"):
        s.solve(problem["b"])


def test_amg_needs_matching_coordinates(problem):
    with pytest.raises(ValueError, match="3 DOFs per node"):
        AMGSolver(problem["n"] + 3, coordinates=problem["X"])


def test_solve_before_factorize_and_release(problem):
    for kind in (["pardiso"] if pardiso_available() else []) + ["amg", "superlu"]:
        s = _solver(kind, problem)
        with pytest.raises(LinearSolverError):
            s.solve(problem["b"])
        s.factorize(problem["K"])
        s.release()
        with pytest.raises(LinearSolverError):
            s.solve(problem["b"])
        s.factorize(problem["K"])                          # usable again after release
        assert relres(problem["K"], s.solve(problem["b"]), problem["b"]) < 1e-8


def test_choose_solver_kind():
    X = np.zeros((10, 3))
    assert choose_solver_kind(1000, X, have_pardiso=True) == "pardiso"
    assert choose_solver_kind(AMG_THRESHOLD, X, have_pardiso=True) == "pardiso"
    assert choose_solver_kind(AMG_THRESHOLD + 1, X, have_pardiso=True) == "pardiso-or-amg"
    assert choose_solver_kind(AMG_THRESHOLD + 1, None, have_pardiso=True) == "pardiso-or-amg"
    assert choose_solver_kind(1000, None, have_pardiso=False) == "superlu"
    assert choose_solver_kind(SUPERLU_THRESHOLD + 1, X, have_pardiso=False) == "amg"
    assert choose_solver_kind(SUPERLU_THRESHOLD + 1, None, have_pardiso=False) == "amg"
    assert choose_solver_kind(5000, X, amg_threshold=1000, have_pardiso=True) == "pardiso-or-amg"


def test_make_auto_and_env_override(problem, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    n, X = problem["n"], problem["X"]
    s = make_linear_solver("auto", n_dofs=n, coordinates=X)
    assert s.name == ("pardiso" if pardiso_available() else "superlu")
    monkeypatch.setenv(ENV_VAR, "amg")
    s = make_linear_solver("auto", n_dofs=n, coordinates=X)
    assert s.name == "amg"
    # options meant for another kind are dropped
    s = make_linear_solver("auto", n_dofs=n, coordinates=X, mtype=-2, rtol=1e-9)
    assert isinstance(s, AMGSolver) and s.rtol == 1e-9
    monkeypatch.delenv(ENV_VAR)
    with pytest.raises(TypeError, match="unknown linear solver option"):
        make_linear_solver("auto", n_dofs=n, coordinates=X, rtoll=1e-9)
    monkeypatch.setenv(ENV_VAR, "superlu")
    assert make_linear_solver("auto", n_dofs=n, coordinates=X).name == "superlu"
    monkeypatch.setenv(ENV_VAR, "AMG")
    assert make_linear_solver(n_dofs=n, coordinates=X).name == "amg"
    assert make_linear_solver("superlu", n_dofs=n).name == "superlu"   # explicit kind wins
    monkeypatch.setenv(ENV_VAR, "cholmod")
    with pytest.raises(ValueError, match=ENV_VAR):
        make_linear_solver("auto", n_dofs=n)
    with pytest.raises(ValueError, match="unknown linear solver"):
        make_linear_solver("mumps", n_dofs=n)


def test_log_receives_choice(problem):
    msgs: list[str] = []
    s = make_linear_solver("superlu", n_dofs=problem["n"], log=msgs.append)
    s.factorize(problem["K"])
    assert any("superlu" in m for m in msgs)


@pytest.mark.skipif(not pardiso_available(), reason="needs PARDISO")
def test_auto_above_the_threshold_takes_amg_only_when_the_factor_does_not_fit(problem, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    n, X, K, b = problem["n"], problem["X"], problem["K"], problem["b"]
    roomy = make_linear_solver("auto", n_dofs=n, coordinates=X, amg_threshold=n - 1,
                               mtype=-2, rtol=1e-9)
    assert isinstance(roomy, PardisoOrAMG) and roomy.name == "pardiso-or-amg"
    roomy.factorize(K)
    assert roomy.name == "pardiso" and roomy.active.mtype == -2
    predicted = roomy.stats["predicted_memory_gb"]
    assert 0.0 < predicted < available_memory_gb()
    assert "PARDISO" in roomy.choice and f"{predicted:.1f} GB" in roomy.choice
    assert relres(K, roomy.solve(b), b) < 1e-8
    # a limit below PARDISO's own prediction: AMG, with the options meant for it
    tight = make_linear_solver("auto", n_dofs=n, coordinates=X, amg_threshold=n - 1,
                               memory_limit_gb=0.5 * predicted, rtol=1e-9)
    tight.factorize(K)
    assert tight.name == "amg" and tight.active.rtol == 1e-9
    assert "AMG" in tight.choice and "more than" in tight.choice
    assert relres(K, tight.solve(b), b) < 1e-7
    tight.factorize(K)                                     # the choice is kept
    assert tight.name == "amg"
    roomy.release()
    tight.release()


@pytest.mark.skipif(not pardiso_available(), reason="needs PARDISO")
def test_pardiso_refuses_a_factor_above_its_memory_limit(problem):
    s = PardisoSolver(problem["n"], True, memory_limit_gb=1e-6)
    with pytest.raises(FactorTooLargeError, match="GB") as info:
        s.factorize(problem["K"])
    assert info.value.predicted_gb > 1e-6 == info.value.limit_gb
