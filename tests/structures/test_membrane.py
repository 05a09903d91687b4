"""Tension-field membrane (graft fabric): tangent vs finite differences in every state,
homogeneous states against the closed forms of plane stress and tension-field theory, and
an assembled fabric tube pulled along its axis against the uniaxial closed form."""

import numpy as np
import pytest

from biomech.structures.beams import BeamModel
from biomech.structures.membrane import (
    element_force_tangent,
    principal_stresses,
    reference_gradients,
    relaxed_stress,
)
from biomech.structures.static import Equilibrium

Y, NU, T = 1000.0, 0.35, 0.1  # MPa, -, mm
F_PS = Y / (1.0 - NU**2)


def _triangle():
    X = np.array([[0.0, 0.0, 0.0], [2.0, 0.3, 0.1], [0.4, 1.7, -0.2]])
    dN, area = reference_gradients(X, np.array([[0, 1, 2]]))
    return X, dN[0], area[0]


def _strain(e11, e22, e12=0.0):
    return np.array([e11, e22, e12])


@pytest.mark.parametrize("F", [
    np.array([[1.10, 0.05, 0.0], [0.02, 1.05, 0.0], [0.0, 0.0, 1.0]]),    # taut
    np.array([[1.10, 0.05, 0.0], [0.02, 0.90, 0.0], [0.0, 0.0, 1.0]]),    # wrinkled
    np.array([[0.90, 0.05, 0.0], [0.02, 0.80, 0.0], [0.0, 0.0, 1.0]]),    # slack
    np.array([[1.004, 0.001, 0.0], [0.0, 0.999, 0.0], [0.0, 0.0, 1.0]]),  # inside the toe
    np.eye(3) + 0.2 * np.random.default_rng(3).standard_normal((3, 3)),  # anything
])
@pytest.mark.parametrize("half_toe", [0.0, 0.005])
def test_tangent_equals_finite_differences_of_the_force(F, half_toe):
    X, dN, area = _triangle()
    x = X @ F.T + 0.3

    def force(y):
        return element_force_tangent(y.reshape(3, 3), dN, area, T, Y, NU, 1e-5, half_toe)[0]

    f, K = element_force_tangent(x, dN, area, T, Y, NU, 1e-5, half_toe)
    h = 1e-7
    Kfd = np.column_stack([(force(x.ravel() + h * e) - force(x.ravel() - h * e)) / (2 * h)
                           for e in np.eye(9)])
    assert np.abs(K - Kfd).max() <= 1e-6 * np.abs(K).max()
    assert np.abs(f.reshape(3, 3).sum(axis=0)).max() <= 1e-12 * np.abs(f).max() + 1e-300


def test_taut_states_follow_plane_stress_and_the_toe_only_shifts_them():
    E = _strain(0.04, 0.02, 0.005)
    exact = F_PS * np.array([E[0] + NU * E[1], E[1] + NU * E[0], (1 - NU) * E[2]])
    S, D = relaxed_stress(E, Y, NU, 0.0, 0.0)
    assert np.allclose(S, exact, rtol=1e-12)
    assert np.allclose(D, F_PS * np.array([[1, NU, 0], [NU, 1, 0], [0, 0, (1 - NU) / 2]]))
    # equibiaxial beyond the toe: S = Y/(1 - nu) (e - delta)
    S, _ = relaxed_stress(_strain(0.03, 0.03), Y, NU, 0.0, 0.005)
    assert np.allclose(S[:2], Y / (1 - NU) * (0.03 - 0.005), rtol=1e-12) and abs(S[2]) < 1e-12


def test_wrinkled_state_carries_uniaxial_tension_only():
    """Stretched along a 30° direction, squeezed across it more than Poisson's ratio would:
    tension-field theory gives S = Y E1 n1 ⊗ n1 (no compressive stress)."""
    th = np.radians(30.0)
    n1, n2 = np.array([np.cos(th), np.sin(th)]), np.array([-np.sin(th), np.cos(th)])
    E1, E2 = 0.05, -0.04  # E2 < -nu E1 = -0.0175
    Et = E1 * np.outer(n1, n1) + E2 * np.outer(n2, n2)
    S, _ = relaxed_stress(_strain(Et[0, 0], Et[1, 1], Et[0, 1]), Y, NU, 0.0, 0.0)
    St = Y * E1 * np.outer(n1, n1)
    assert np.allclose(S, [St[0, 0], St[1, 1], St[0, 1]], rtol=1e-12, atol=1e-12)
    # the plane-stress law would have put a compression across the wrinkles
    assert F_PS * (E2 + NU * E1) < -10.0


def test_slack_state_keeps_only_the_residual_stiffness():
    E = _strain(-0.02, -0.05, 0.003)
    S, D = relaxed_stress(E, Y, NU, 1e-5, 0.005)
    S_ps = F_PS * np.array([E[0] + NU * E[1], E[1] + NU * E[0], (1 - NU) * E[2]])
    assert np.allclose(S, 1e-5 * S_ps, rtol=1e-10)
    assert np.abs(D).max() <= 1e-5 * F_PS * 1.0000001
    assert not relaxed_stress(E, Y, NU, 0.0, 0.005)[0].any()


def _tube(radius=5.0, length=8.0, around=24, levels=9):
    theta = 2 * np.pi * np.arange(around) / around
    z = np.linspace(0.0, length, levels)
    tt, zz = np.meshgrid(theta, z)
    pts = np.column_stack([radius * np.cos(tt.ravel()), radius * np.sin(tt.ravel()), zz.ravel()])
    i, k = np.meshgrid(np.arange(levels - 1), np.arange(around), indexing="ij")
    a = (i * around + k).ravel()
    b = (i * around + (k + 1) % around).ravel()
    tri = np.concatenate([np.column_stack([a, b, b + around]), np.column_stack([a, b + around, a + around])])
    return pts, tri


def _fabric_model(points, triangles, toe):
    """A BeamModel made of fabric only (one short dummy beam far away keeps the beam part)."""
    far = np.array([[100.0, 0.0, 0.0], [101.0, 0.0, 0.0]])
    nodes = np.vstack([far, points])
    return BeamModel(nodes, np.array([[0, 1]]), np.array([[0.0, 1.0, 0.0]]), np.array([0]),
                     np.array([0.5]), np.array([0.5]), {"model": "linear-elastic", "E": 1e3, "nu": 0.3},
                     membranes=triangles + 2, membrane_thickness=T,
                     membrane_material={"model": "linear-elastic", "E": Y, "nu": NU, "toe_strain": toe})


@pytest.mark.parametrize("toe", [0.0, 0.01])
def test_fabric_tube_pulled_along_its_axis_matches_the_uniaxial_closed_form(toe):
    """A tube stretched axially (Green strain E = 0.05) with its ends free to narrow: axial
    force = λ Y (E − toe/2) t P (first Piola stress × the reference section: P the perimeter
    of the 24-gon), hoop strain −ν E or less (the hoop direction may wrinkle)."""
    R, L = 5.0, 8.0
    pts, tri = _tube(R, L)
    model = _fabric_model(pts, tri, toe)
    E = 0.05
    lam = np.sqrt(1 + 2 * E)
    state = model.initial_state()
    ids = np.arange(len(pts)) + 2
    z = pts[:, 2]
    bottom, top = ids[z == 0.0], ids[z == L]
    state.x[top, 2] = L * lam
    state.x[ids, 2] = z * lam
    fixed = [6 * n + 2 for n in np.concatenate([bottom, top])]
    theta = np.arctan2(pts[:, 1], pts[:, 0])
    for ang, comp in ((0.0, 1), (np.pi / 2, 0), (np.pi, 1)):  # rigid modes, ends free to narrow
        n = ids[(z == 0.0) & np.isclose(np.cos(theta - ang), 1.0)][0]
        fixed.append(6 * n + comp)
    fixed += list(range(12))  # the dummy beam
    eq = Equilibrium(model, fixed=np.array(fixed))
    state, info = eq.solve(state)
    f, _, _ = model.forces(state)
    force = f[6 * top + 2].sum()
    perimeter = 24 * 2 * R * np.sin(np.pi / 24)
    expected = lam * Y * (E - 0.5 * toe) * T * perimeter
    assert force == pytest.approx(expected, rel=1e-5)
    assert info.iterations > 2 and info.residual < 1e-5  # N, on a 150 N pull
    r = np.hypot(state.x[ids, 0], state.x[ids, 1])
    hoop = 0.5 * ((r / R) ** 2 - 1)
    # narrowed as Poisson says (within 1e-4 strain: the toe's tension fades quadratically to 0)
    assert np.all(np.abs(hoop + NU * E) < 1e-4)


def test_inert_spins_and_links_of_a_fabric_model():
    pts, tri = _tube(levels=3)
    model = _fabric_model(pts, tri, 0.01)
    assert len(model.inert_spins) == 3 * len(pts)
    assert len(model.links) == 1 + 3 * len(tri)
    half = model.half_thickness()
    assert np.allclose(half[2:], 0.5 * T) and np.allclose(half[:2], 0.25)


def test_principal_stresses_of_a_wrinkled_triangle():
    """Stretched 5 % (Green) along x and squeezed across: (Y E, 0) beyond a zero toe."""
    X = np.array([[0.0, 0.0, 0.0], [2.0, 0.3, 0.0], [0.4, 1.7, 0.0]])
    dN, _ = reference_gradients(X, np.array([[0, 1, 2]]))
    lam = np.sqrt(1.1)
    x = X @ np.diag([lam, 0.9, 1.0]).T
    s = principal_stresses(x, np.array([[0, 1, 2]]), dN, Y, NU, 0.0, 0.0)[0]
    assert s == pytest.approx([Y * 0.05, 0.0], abs=1e-9)


def test_pressure_load_derivative_equals_central_differences():
    from biomech.structures.membrane import pressure_loads

    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 3))
    tri = np.array([[0, 1, 2]])
    F, K = pressure_loads(x, tri, 0.02)
    h, fd = 1e-6, np.empty((9, 9))
    for j in range(9):
        xp, xm = x.copy(), x.copy()
        xp.flat[j] += h
        xm.flat[j] -= h
        fd[:, j] = (pressure_loads(xp, tri, 0.02)[0][0] - pressure_loads(xm, tri, 0.02)[0][0]) / (2 * h)
    assert np.abs(K[0] - fd).max() < 1e-8 * np.abs(K[0]).max()


def test_pressure_on_a_closed_surface_has_no_resultant_and_each_face_carries_p_a_n():
    """A tetrahedron's four faces, oriented outward: the forces sum to zero (a closed
    surface under uniform pressure); one face carries p A n, shared equally by its nodes."""
    from biomech.structures.membrane import pressure_loads

    x = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.5]])
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    F, _ = pressure_loads(x, faces, 0.5)
    total = np.zeros((4, 3))
    np.add.at(total, faces.ravel(), F.reshape(-1, 3))
    assert np.abs(total.sum(axis=0)).max() < 1e-14
    assert np.allclose(F[0].reshape(3, 3), [0.0, 0.0, -0.5 * 3.0 / 3.0])  # A = 3 mm², n = −z
