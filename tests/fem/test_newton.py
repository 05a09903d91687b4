"""Nonlinear solver: quadratic convergence of Newton, BFGS agreement, load stepping."""

import numpy as np
import pytest

from biomech import analytic
from biomech.fem.linear import make_linear_solver
from biomech.fem.newton import NewtonOptions, solve_incremental
from biomech.mesh.generate import tube
from biomech.model import Model

A, B, MU = 10.0, 12.0, 0.06


def _tube_model(a_target=12.0, element="hexahedron"):
    mesh = tube(A, B, 2.0, 3, 8, 1, element=element, sector="quarter")
    model = Model(mesh)
    model.add_material("all", "neo-hookean", mu=MU, bulk=1000 * MU)
    for faces, dof in (("xsym", "x"), ("ysym", "y"), ("zmin", "z"), ("zmax", "z")):
        model.fix(faces, dofs=dof)
    model.add_pressure("inner", analytic.tube_pressure_neo_hookean(a_target, A, B, MU))
    return mesh, model


def _inner_radius(mesh, result):
    inner = np.isclose(np.hypot(*mesh.points[:, :2].T), A)
    return np.hypot(*result.deformed_points[inner, :2].T).mean()


def test_newton_converges_quadratically():
    """With the consistent tangent (material, geometric, volumetric and follower-pressure
    stiffness) the residual of a single load step falls quadratically."""
    mesh, model = _tube_model(11.0)
    problem = model.compile()
    solver = make_linear_solver("auto", n_dofs=problem.n_dofs, symmetric=True)
    opts = NewtonOptions(steps=1, rtol=1e-10, etol=1e-18, atol=0.0, line_search=False, min_increment=0.5)
    out = solve_incremental(problem, solver, opts)
    r = np.array(out.steps[0].residuals)
    r = r[r > 1e-11 * r[0]]  # above round-off
    assert len(r) >= 4
    rates = np.log(r[2:] / r[0]) / np.log(r[1:-1] / r[0])
    assert rates[-1] > 1.8, r  # order of convergence ≈ 2


@pytest.mark.parametrize("method", ["newton", "bfgs"])
def test_methods_reach_the_analytic_radius(method):
    mesh, model = _tube_model(12.0)
    result = model.solve(options=NewtonOptions(steps=4, method=method), progress=False)
    assert result.summary["converged"]
    assert _inner_radius(mesh, result) == pytest.approx(12.0, rel=2e-3)


def test_bfgs_saves_factorizations():
    mesh, model = _tube_model(12.0)
    problem = model.compile()
    counts = {}
    for method in ("newton", "bfgs"):
        solver = make_linear_solver("auto", n_dofs=problem.n_dofs, symmetric=True)
        out = solve_incremental(problem, solver, NewtonOptions(steps=4, method=method))
        assert out.timings["factorizations"] == solver.stats["factorizations"]
        counts[method] = solver.stats["factorizations"]
    assert 0 < counts["bfgs"] < counts["newton"]


def test_bfgs_factorizes_without_the_tangent_buffer_or_the_old_factor():
    """Peak memory of large solves: the old factor is freed before a new tangent is
    assembled, and the problem's tangent buffer before the new factorization."""
    mesh, model = _tube_model(12.0)
    problem = model.compile()
    solver = make_linear_solver("auto", n_dofs=problem.n_dofs, symmetric=True)
    seen = []
    factor, release_factor = solver.factor, solver.release_factor
    assemble = problem.assemble

    def spy_factor():
        seen.append(("factor", problem._data is None))
        factor()

    def spy_release():
        seen.append(("release_factor", None))
        release_factor()

    def spy_assemble(u, lam, want_K):
        if want_K:
            seen.append(("tangent", None))
        return assemble(u, lam, want_K)

    solver.factor, solver.release_factor, problem.assemble = spy_factor, spy_release, spy_assemble
    out = solve_incremental(problem, solver, NewtonOptions(steps=4, method="bfgs"))
    assert out.converged
    factors = [s for s in seen if s[0] == "factor"]
    assert factors and all(freed for _, freed in factors)
    for k, (what, _) in enumerate(seen):  # every tangent assembly follows a release
        if what == "tangent":
            assert seen[k - 1][0] == "release_factor"
    x = mesh.points + out.u.reshape(-1, 3)
    inner = np.isclose(np.hypot(*mesh.points[:, :2].T), A)
    assert np.hypot(*x[inner, :2].T).mean() == pytest.approx(12.0, rel=2e-3)


def test_load_steps_grow_after_easy_steps():
    mesh, model = _tube_model(11.0)
    result = model.solve(steps=10, progress=False)
    assert result.summary["steps"] < 10  # 0.1, 0.2, 0.4 ... doubling after easy steps
    lams = [lam for lam, _ in result.step_displacements]
    assert lams[-1] == pytest.approx(1.0)
    assert np.all(np.diff(lams) > 0)
