"""Element inversion: detected, reported, and never silently integrated.

* A box compressed by more than its own length in one load step cannot stay valid: the
  solver must cut the step back, stop with ConvergenceError naming inverted elements, and
  keep the last converged (valid) state in ``.result``.
* A large but admissible compression in one step (50 %) must survive through cutbacks and
  line search and reproduce the homogeneous uniaxial-stress solution, whose lateral
  stretch is solved here from the constitutive law alone (``biomech.materials.evaluate``).
* A mesh with an inverted cell in the reference configuration is rejected up front with a
  MeshError that names the cell, both by ``biomech.mesh.quality.assert_valid`` and by
  ``Model.solve``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from biomech.errors import ConvergenceError, MeshError
from biomech.materials import evaluate
from biomech.mesh.generate import box
from biomech.mesh.quality import assert_valid
from biomech.model import Model

MATERIAL = ("neo-hookean-compressible", dict(mu=0.06, nu=0.3))


def _compressed_box(kind: str, shortening: float) -> Model:
    model = Model(box((1.0, 1.0, 1.0), (2, 2, 2), kind))
    model.add_material("all", MATERIAL[0], **MATERIAL[1])
    model.fix("xmin", dofs="x")
    model.fix("ymin", dofs="y")
    model.fix("zmin", dofs="z")
    model.fix("xmax", dofs="x", value=-shortening)
    return model


@pytest.mark.parametrize("kind", ["hexahedron", "tetra"])
def test_compression_beyond_zero_volume_reports_inversion(kind):
    model = _compressed_box(kind, shortening=1.2)  # x-length would become -0.2 mm
    with pytest.raises(ConvergenceError) as info:
        model.solve(steps=1, progress=False)
    message = str(info.value)
    assert "inverted" in message
    assert "load factor" in message
    last = info.value.result
    assert last is not None
    # today ``result`` is the internal NewtonResult (u flat, lam); a biomech Result
    # (displacement, summary["load_factor"]) is accepted as well
    if hasattr(last, "summary"):
        assert not last.summary["converged"]
        lam, u = last.summary["load_factor"], np.asarray(last.displacement).reshape(-1, 3)
    else:
        assert not last.converged
        lam, u = last.lam, last.u.reshape(-1, 3)
    # the last converged state is just short of zero length: λ·1.2 < 1
    assert 0.8 < lam < 1.0 / 1.2
    X = model.mesh.points
    xmax = np.isclose(X[:, 0], 1.0)
    assert np.allclose(u[xmax, 0], -1.2 * lam, rtol=0, atol=1e-12)
    # ... and it is a valid state: every element keeps a positive volume
    J = model.compile().element_fields(u.ravel())[0]["J"]
    assert J.min() > 0.0


def test_large_single_step_converges_to_uniaxial_solution():
    """50 % shortening in one step (needs a cutback today): uniaxial stress, lateral stretch
    from σyy = σzz = 0."""
    model = _compressed_box("hexahedron", shortening=0.5)
    result = model.solve(steps=1, progress=False)
    assert result.summary["converged"]
    resolved = model.materials[0].resolved

    def lateral_stress(lam_t: float) -> float:
        return evaluate(resolved, np.diag([0.5, lam_t, lam_t]))["sigma"][1, 1]

    lam_t = brentq(lateral_stress, 1.0, 2.0, xtol=1e-14)
    X = model.mesh.points
    u_exact = X * (np.array([0.5, lam_t, lam_t]) - 1.0)
    assert np.abs(result.displacement - u_exact).max() < 1e-8
    sigma_xx = evaluate(resolved, np.diag([0.5, lam_t, lam_t]))["sigma"][0, 0]
    assert result.cauchy_stress[:, 0] == pytest.approx(sigma_xx, rel=1e-8)


def _inverted_tet_mesh():
    mesh = box((1.0, 1.0, 1.0), (2, 2, 2), "tetra")
    conn = mesh.blocks[0].conn
    conn[5, [1, 2]] = conn[5, [2, 1]]  # mirror one tetrahedron
    return mesh


def test_assert_valid_rejects_inverted_reference_cell():
    with pytest.raises(MeshError, match=r"inverted") as info:
        assert_valid(_inverted_tet_mesh())
    assert "#5" in str(info.value)


def test_solve_rejects_inverted_reference_cell():
    """Model.solve must not start Newton on a tangled mesh (it would only report
    'det F <= 0' at load factor 0 after a cascade of cutbacks)."""
    model = Model(_inverted_tet_mesh())
    model.add_material("all", "neo-hookean", mu=0.06, bulk=6.0)
    model.fix("zmin")
    model.add_pressure("zmax", 0.001)
    with pytest.raises(MeshError, match=r"inverted") as info:
        model.solve(steps=2, progress=False)
    assert "#5" in str(info.value)
