"""Solution verification: inflation of a thick spherical shell (octant).

thick_sphere(A = 10, B = 12) octant (three cubed-sphere patches), symmetry on x = 0,
y = 0, z = 0, follower pressure on the inner face, neo-Hookean μ = 0.06 MPa, κ/μ = 1000.
The pressure is the incompressible closed form (reference/README §5, Ogden 1984 §5.3)
P = μ [2/λb + 1/(2λb⁴) − 2/λa − 1/(2λa⁴)], b³ = B³ + a³ − A³, for a deformed inner
radius a = 12 mm (+20 %).

Measured (relative error of the mean deformed inner radius; outer radius in brackets):
    hexahedron  n_radial=4, n_circ=6 (635 nodes):  −0.046 %  (−0.028 %)
    tetra10     n_radial=2, n_circ=3 (635 nodes):  +0.031 %  (+0.027 %)
TET10's error is almost entirely the compressibility of κ/μ = 1000 (it drops to +0.003 %
at κ/μ = 1e4), HEX8's is discretisation (−0.07 % at κ/μ = 1e4). Coarser HEX8 meshes:
2x3 −0.27 %, 3x4 −0.13 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from biomech.analytic import neo_hookean_dW, sphere_pressure, sphere_pressure_neo_hookean
from biomech.mesh.generate import thick_sphere
from biomech.model import Model

A, B = 10.0, 12.0
MU = 0.06
A_TARGET = 12.0
MESHES = {"hexahedron": (4, 6), "tetra10": (2, 3)}  # (n_radial, n_circ), both 635 nodes
TOL = 2.5e-3  # relative error in a; 5x the measured HEX8 error, 0.5 % asked for


def closed_form(a: float) -> float:
    """README §5 sphere formula, written out here (not taken from biomech.analytic)."""
    b = np.cbrt(B**3 + a**3 - A**3)
    la, lb = a / A, b / B
    return MU * (2 / lb + 0.5 / lb**4 - 2 / la - 0.5 / la**4)


def test_analytic_sphere_pressure_agrees():
    for a in (10.5, 12.0, 13.0):
        p = closed_form(a)
        assert sphere_pressure_neo_hookean(a, A, B, MU) == pytest.approx(p, rel=1e-12)
        assert sphere_pressure(a, A, B, neo_hookean_dW(MU)) == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize("element", sorted(MESHES))
def test_sphere_inflation(element, nodes_of):
    n_radial, n_circ = MESHES[element]
    mesh = thick_sphere(A, B, n_radial, n_circ, element=element)
    model = Model(mesh)
    model.add_material("all", "neo-hookean", mu=MU, bulk=1000 * MU)
    model.fix("xsym", dofs="x")
    model.fix("ysym", dofs="y")
    model.fix("zsym", dofs="z")
    P = closed_form(A_TARGET)
    model.add_pressure("inner", P)
    result = model.solve(steps=4, progress=False)
    assert result.summary["converged"]

    x = mesh.points + result.displacement
    r_in = np.linalg.norm(x[nodes_of(mesh, "inner")], axis=1)
    r_out = np.linalg.norm(x[nodes_of(mesh, "outer")], axis=1)
    b = np.cbrt(B**3 + A_TARGET**3 - A**3)
    err_a = (r_in.mean() - A_TARGET) / A_TARGET
    err_b = (r_out.mean() - b) / b
    assert abs(err_a) < TOL, f"{element}: inner radius error {err_a:+.3e}"
    assert abs(err_b) < TOL, f"{element}: outer radius error {err_b:+.3e}"
    # spherical symmetry is kept although the cubed-sphere cells are not symmetric
    assert np.ptp(r_in) / A_TARGET < 2e-3
    # incompressibility: b³ − B³ = a³ − A³ from the FE radii (volume change ~ p/κ)
    b_kin = np.cbrt(B**3 + r_in.mean() ** 3 - A**3)
    assert abs(r_out.mean() - b_kin) / b_kin < 3e-4
    # the symmetry planes stay planar: nodes on x = 0 keep u_x = 0 etc.
    for axis, name in enumerate(("xsym", "ysym", "zsym")):
        assert np.abs(result.displacement[nodes_of(mesh, name), axis]).max() == 0.0
