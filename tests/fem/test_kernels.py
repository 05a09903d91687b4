"""Element kernels: consistent tangents vs central finite differences of the forces."""

import numpy as np
import pytest

from biomech.fem.elements import ELEMENTS
from biomech.fem.kernels import solid_element
from biomech.fem.surface import pressure_face
from biomech.materials import get_material

SOLIDS = ("tetra", "tetra10", "hexahedron", "wedge")
MATERIALS = {
    "neo-hookean": {"mu": 0.06, "bulk": 6.0},  # mixed (mean dilatation)
    "neo-hookean-compressible": {"mu": 0.4225, "nu": 0.3},  # coupled
    "hgo": {"mu": 0.00764, "k1": 0.9966, "k2": 5.246, "kappa": 0.226, "angle": 0.872, "bulk": 1.0},
    "raghavan-vorp": {"alpha": 0.174, "beta": 1.881, "bulk": 10.0},
}


def _element_case(etype, seed):
    rng = np.random.default_rng(seed)
    el = ELEMENTS[etype]
    X = el.reference_nodes + 0.05 * rng.standard_normal(el.reference_nodes.shape)
    u = 0.04 * rng.standard_normal(X.shape)
    # a stretch along x so that fibres near the circumferential direction are in tension
    u[:, 0] += 0.15 * X[:, 0]
    return el, X, u


def _forces(X, u, el, spec, r, basis):
    N, dN, w = el.tabulate()
    nd = X.size
    fe, Ke = np.empty(nd), np.empty((nd, nd))
    status = solid_element(X, u, dN, w, spec.model_id, r.params, basis, r.bulk, fe, Ke, True)
    return status, fe, Ke


@pytest.mark.parametrize("etype", SOLIDS)
@pytest.mark.parametrize("model", MATERIALS)
def test_solid_tangent_matches_finite_differences(etype, model):
    el, X, u = _element_case(etype, 1)
    spec = get_material(model)
    r = spec.resolve(MATERIALS[model])
    basis = np.eye(3)
    status, fe, Ke = _forces(X, u, el, spec, r, basis)
    assert status == 0
    h = 1e-6
    Kfd = np.empty_like(Ke)
    uf = u.ravel()
    for c in range(uf.size):
        up, um = uf.copy(), uf.copy()
        up[c] += h
        um[c] -= h
        fp = _forces(X, up.reshape(-1, 3), el, spec, r, basis)[1]
        fm = _forces(X, um.reshape(-1, 3), el, spec, r, basis)[1]
        Kfd[:, c] = (fp - fm) / (2 * h)
    assert np.abs(Ke - Kfd).max() <= 1e-6 * np.abs(Ke).max()
    assert np.allclose(Ke, Ke.T, atol=1e-10 * np.abs(Ke).max())


@pytest.mark.parametrize("etype", SOLIDS)
def test_rigid_motion_gives_no_force(etype):
    el, X, _ = _element_case(etype, 2)
    Q = np.linalg.qr(np.random.default_rng(3).standard_normal((3, 3)))[0]
    Q *= np.sign(np.linalg.det(Q))
    u = X @ Q.T + np.array([1.0, -2.0, 0.5]) - X
    spec = get_material("neo-hookean")
    status, fe, _ = _forces(X, u, el, spec, spec.resolve({"mu": 1.0, "bulk": 100.0}), np.eye(3))
    assert status == 0
    assert np.abs(fe).max() < 1e-10


@pytest.mark.parametrize("etype", SOLIDS)
def test_inverted_element_is_flagged(etype):
    el, X, _ = _element_case(etype, 4)
    u = np.zeros_like(X)
    u[:, 2] = -2.2 * X[:, 2]  # mirror through z: det F < 0
    spec = get_material("neo-hookean")
    status, _, _ = _forces(X, u, el, spec, spec.resolve({"mu": 1.0, "bulk": 100.0}), np.eye(3))
    assert status != 0


@pytest.mark.parametrize("ftype", ["triangle", "triangle6", "quad"])
def test_pressure_load_stiffness_matches_finite_differences(ftype):
    el = ELEMENTS[ftype]
    N, dN, w = el.tabulate()
    rng = np.random.default_rng(5)
    x = np.column_stack([el.reference_nodes, np.zeros(el.n_nodes)]) + 0.1 * rng.standard_normal(
        (el.n_nodes, 3)
    )
    nd = x.size
    fe, Ke, scratch = np.empty(nd), np.empty((nd, nd)), np.empty((nd, nd))
    pressure_face(x, N, dN, w, 0.3, fe, Ke, True, False)
    h, Kfd = 1e-6, np.empty((nd, nd))
    f1, f2 = np.empty(nd), np.empty(nd)
    for c in range(nd):
        xp, xm = x.ravel().copy(), x.ravel().copy()
        xp[c] += h
        xm[c] -= h
        pressure_face(xp.reshape(-1, 3), N, dN, w, 0.3, f1, scratch, False, False)
        pressure_face(xm.reshape(-1, 3), N, dN, w, 0.3, f2, scratch, False, False)
        Kfd[:, c] = -(f1 - f2) / (2 * h)
    assert np.abs(Ke - Kfd).max() <= 1e-7 * np.abs(Ke).max()


@pytest.mark.parametrize("ftype", ["triangle", "triangle6", "quad"])
def test_pressure_force_is_p_times_area_normal(ftype):
    """On a flat face the total force is -p A n (exact quadrature of a constant normal)."""
    el = ELEMENTS[ftype]
    N, dN, w = el.tabulate()
    x = np.column_stack([el.reference_nodes * [3.0, 2.0], np.zeros(el.n_nodes)])
    ref_area = 0.5 if ftype != "quad" else 4.0
    fe, Ke = np.empty(x.size), np.empty((x.size, x.size))
    pressure_face(x, N, dN, w, 0.25, fe, Ke, False, False)
    total = fe.reshape(-1, 3).sum(axis=0)
    assert np.allclose(total, [0, 0, -0.25 * 6.0 * ref_area], rtol=1e-12, atol=1e-14)
