"""Loads with closed-form answers: ground springs, dead tractions, total forces."""

import numpy as np
import pytest

from biomech.mesh.generate import box
from biomech.model import Model


@pytest.mark.parametrize("element", ["hexahedron", "tetra10"])
def test_box_on_springs_settles_by_traction_over_stiffness(element):
    mesh = box((2.0, 1.0, 1.0), (2, 2, 2), element=element)
    model = Model(mesh)
    model.add_material("all", "neo-hookean", mu=1.0, bulk=100.0)
    k, t = 0.5, 1e-4  # N/mm³, MPa
    model.add_spring("zmin", k)
    model.add_traction("zmax", [0.0, 0.0, t])
    result = model.solve(steps=1, progress=False)
    # force balance: Σ k A_a u_a = t A, i.e. the area-weighted settlement is t / k exactly
    area = model._nodal_area("zmin")
    settle = (area * result.displacement[:, 2]).sum() / area.sum()
    assert settle == pytest.approx(t / k, rel=1e-6)
    bottom = area > 0  # nearly uniform (the springs also resist the Poisson contraction)
    assert np.allclose(result.displacement[bottom, 2], t / k, rtol=0.02)


def test_total_force_is_spread_over_the_faces():
    mesh = box((2.0, 1.0, 1.0), (4, 2, 2), element="hexahedron")
    model = Model(mesh)
    model.add_material("all", "linear-elastic", E=1000.0, nu=0.3)
    model.fix("xmin")
    model.add_traction("xmax", force=["0.5 N", 0, 0])
    problem = model.compile()
    free = ~problem.constrained
    R, _, _ = problem.assemble(np.zeros(problem.n_dofs), 1.0, False)
    assert -R[0::3].sum() == pytest.approx(0.5, rel=1e-12)  # dead load sums to the force
    assert np.abs(R[1::3]).max() < 1e-14 and free.any()
    # small-strain bar: u = F L / (E A) at the loaded end (Poisson contraction is free
    # except at the clamp, so allow a few per cent)
    result = model.solve(steps=1, progress=False)
    tip = np.isclose(mesh.points[:, 0], 2.0)
    assert result.displacement[tip, 0].mean() == pytest.approx(0.5 * 2.0 / (1000.0 * 1.0), rel=0.05)
