"""Code verification: large-deformation patch tests on distorted meshes.

A homogeneous deformation x = F X lies in the trial space of every isoparametric element,
so the exact discrete solution of a problem whose boundary data come from x = F X is that
field, whatever the (valid) element shapes: interior nodes must land on F X, every element
must carry the stress of the constitutive law at F (computed independently of the FE
assembly by ``biomech.materials.evaluate``), and the nodal internal forces must be
statically equivalent to that stress. Nodes are randomly perturbed so the elements are
genuinely distorted (non-affine hexahedra and wedges, skewed tetrahedra).

Two boundary-value problems:

* ``test_triaxial_stretch_public_api``: F = diag(λ1, λ2, λ3) through the public Model API.
  Each face gets only its normal displacement (u_x = 0 on xmin, (λ1 − 1) Lx on xmax, ...);
  the tangential components are free. For F diagonal and the materials used (isotropic, or
  anisotropic with the axes along x, y, z, or two symmetric fibre families) the 2nd PK
  stress is diagonal, so the homogeneous state has zero tangential traction on every face
  and is the exact solution of that mixed problem.
* ``test_general_deformation_all_boundary_nodes``: a general F (stretch, shear, rotation)
  prescribed at every boundary node. ``Model.fix`` only takes one constant value per face
  selector, so this test builds the Dirichlet data at the ``Problem`` level from the
  compiled model (public classes of biomech.fem) and drives ``solve_incremental``; the
  material axes are rotated away from x, y, z so that anisotropic stresses are full.

Tolerances: displacement 1e-8 relative, stresses 1e-6 relative (Newton is run to
1e-11 relative residual; measured errors are 1e-16 .. 1e-10).
"""

from __future__ import annotations

import numpy as np
import pytest

from biomech.fem.elements import element as reference_element
from biomech.fem.linear import make_linear_solver
from biomech.fem.newton import NewtonOptions, solve_incremental
from biomech.fem.problem import Problem
from biomech.materials import evaluate
from biomech.mesh.generate import box
from biomech.mesh.quality import check_mesh
from biomech.model import Model

L = np.array([2.0, 1.5, 1.0])  # box size, mm
N_DIV = 3
ELEMENTS = ("tetra", "tetra10", "hexahedron", "wedge")
TIGHT = dict(rtol=1e-11, atol=1e-14, etol=1e-14)
U_TOL = 1e-8
S_TOL = 1e-6
_TET10_EDGES = ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def perturbed_box(kind: str, seed: int = 0, amplitude: float = 0.2):
    """Box [0, L] with N_DIV^3 hexes split into ``kind``; every corner node moved by up to
    ``amplitude`` x the cell size, staying on its face / edge (so the outer box is exact);
    tetra10 mid-edge nodes are put back at the middle of their (straight) edge."""
    m = box(tuple(L), (N_DIV,) * 3, kind)
    conn = m.blocks[0].conn
    corners = np.unique(conn[:, : reference_element(kind).corner_nodes])
    X = m.points.copy()
    rng = np.random.default_rng(seed)
    d = rng.uniform(-amplitude, amplitude, size=(len(corners), 3)) * (L / N_DIV)
    d[np.isclose(X[corners], 0.0) | np.isclose(X[corners], L)] = 0.0
    X[corners] += d
    if kind == "tetra10":
        for k, (i, j) in enumerate(_TET10_EDGES):
            X[conn[:, 4 + k]] = 0.5 * (X[conn[:, i]] + X[conn[:, j]])
    m.points = X
    return m


def _voigt(s: np.ndarray) -> np.ndarray:
    return np.array([s[0, 0], s[1, 1], s[2, 2], s[0, 1], s[1, 2], s[0, 2]])


# name -> (parameters, kind of basis); parameters keep the isochoric and volumetric parts of
# the stress of similar size (k/mu ~ 10) so that neither can hide an error in the other.
MATERIALS = {
    "neo-hookean": (dict(mu=0.06, bulk=0.6), None),
    "neo-hookean-compressible": (dict(mu=0.06, nu=0.3), None),
    "mooney-rivlin": (dict(c10=0.03, c01=0.01, bulk=0.8), None),
    "hgo": (dict(mu=0.01, k1=0.05, k2=2.0, kappa=0.1, angle="0.6 rad", bulk=0.5), "cells"),
    "guccione": (dict(C=0.002, bf=8.0, bt=2.0, bfs=4.0, bulk=0.05), "fibre"),
}


def _add_material(model: Model, name: str, basis: np.ndarray) -> None:
    params, how = MATERIALS[name]
    if how == "cells":  # hgo: uniform (circ, axial, radial) rows given as cell data
        model.mesh.cell_data["basis"] = [np.tile(basis.ravel(), (model.mesh.n_cells, 1))]
        model.add_material("all", name, **params)
    elif how == "fibre":
        model.add_material("all", name, fibre=basis[0], sheet=basis[1], **params)
    else:
        model.add_material("all", name, **params)


def _check_homogeneous(kind, name, X, u, fields, internal_force, F, resolved, basis):
    """Interior displacement, element stress and J, and the static moment of the nodal
    forces Σ_a f_a ⊗ X_a = V0 P (exact for a homogeneous first PK stress P)."""
    u_exact = X @ (F - np.eye(3)).T
    u_err = np.abs(u - u_exact).max() / np.abs(u_exact).max()
    assert u_err < U_TOL, f"{kind}/{name}: displacement not linear, rel. error {u_err:.2e}"

    ref = evaluate(resolved, F, basis)
    sig = _voigt(ref["sigma"])
    scale = np.abs(sig).max()
    assert scale > 1e-4, "reference stress vanishes: the test would be vacuous"
    s_err = np.abs(fields["cauchy_stress"] - sig).max() / scale
    assert s_err < S_TOL, f"{kind}/{name}: element stress != sigma(F), rel. error {s_err:.2e}"
    j_err = np.abs(fields["J"] - np.linalg.det(F)).max()
    assert j_err < S_TOL, f"{kind}/{name}: element J off by {j_err:.2e}"

    P = F @ ref["S"]
    moment = internal_force.reshape(-1, 3).T @ X  # Σ_a f_ai X_aJ
    m_err = np.abs(moment - np.prod(L) * P).max() / (np.prod(L) * np.abs(P).max())
    assert m_err < S_TOL, f"{kind}/{name}: nodal forces not equivalent to P, rel. {m_err:.2e}"


@pytest.mark.parametrize("kind", ELEMENTS)
def test_perturbed_mesh_is_valid_and_distorted(kind):
    """Precondition of the patch tests: no inverted cell, but clearly non-ideal shapes."""
    report = check_mesh(perturbed_box(kind))
    assert report.n_inverted == 0
    ideal = check_mesh(box(tuple(L), (N_DIV,) * 3, kind)).min_scaled_jacobian
    assert report.min_scaled_jacobian < 0.85 * ideal


@pytest.mark.parametrize("name", sorted(MATERIALS))
@pytest.mark.parametrize("kind", ELEMENTS)
def test_triaxial_stretch_public_api(kind, name):
    stretch = np.array([1.2, 0.9, 0.95])  # J = 1.026; hgo fibres (±0.6 rad in x-y) in tension
    F = np.diag(stretch)
    basis = np.eye(3)
    mesh = perturbed_box(kind)
    model = Model(mesh)
    _add_material(model, name, basis)
    for axis, (low, high) in enumerate((("xmin", "xmax"), ("ymin", "ymax"), ("zmin", "zmax"))):
        dof = "xyz"[axis]
        model.fix(low, dofs=dof)
        model.fix(high, dofs=dof, value=(stretch[axis] - 1.0) * L[axis])
    result = model.solve(options=NewtonOptions(steps=2, **TIGHT), progress=False)
    assert result.summary["converged"]
    fields = {"cauchy_stress": result.cauchy_stress, "J": result.field("J")}
    f_int = result.problem.assemble(result.displacement.ravel(), 1.0, False)[0]
    _check_homogeneous(
        kind, name, mesh.points, result.displacement, fields, f_int, F,
        model.materials[0].resolved, basis,
    )


@pytest.mark.parametrize("name", ["neo-hookean", "neo-hookean-compressible", "hgo", "guccione"])
@pytest.mark.parametrize("kind", ELEMENTS)
def test_general_deformation_all_boundary_nodes(kind, name):
    F = np.array([[1.15, 0.12, 0.05], [-0.10, 0.92, -0.08], [0.06, 0.10, 1.04]])  # det 1.118
    basis = _rotation(5)  # material axes (rows) oblique to the box
    mesh = perturbed_box(kind, seed=1)
    model = Model(mesh)
    _add_material(model, name, basis)
    compiled = model.compile()
    X = mesh.points
    on_boundary = (np.isclose(X, 0.0) | np.isclose(X, L)).any(axis=1)
    assert 0 < on_boundary.sum() < len(X)  # some nodes are free
    u_exact = X @ (F - np.eye(3)).T
    problem = Problem(
        compiled.X, compiled.solids, [], np.repeat(on_boundary, 3), u_exact.ravel().copy()
    )
    solver = make_linear_solver("auto", n_dofs=problem.n_dofs, symmetric=True, coordinates=X)
    try:
        newton = solve_incremental(problem, solver, NewtonOptions(steps=2, **TIGHT))
    finally:
        solver.release()
    fields = problem.element_fields(newton.u)[0]
    f_int = problem.assemble(newton.u, 1.0, False)[0]
    _check_homogeneous(
        kind, name, X, newton.u.reshape(-1, 3), fields, f_int, F,
        model.materials[0].resolved, basis,
    )
