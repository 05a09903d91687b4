"""Co-rotational beam: kinematics, tangent, and large-deflection closed forms."""

import numpy as np
import pytest

from biomech.analytic import cantilever_tip_load
from biomech.structures.beams import BeamModel, section_points, torsion_constant
from biomech.structures.corotational import (
    _perturbed,
    b_matrix,
    element_force_tangent,
    element_forces,
    local_deformation,
    rotation_matrix,
    rotation_vector,
    spin_all,
)
from biomech.structures.static import Equilibrium, follow_path

E = 200e3


def _element(rng):
    X2 = np.array([3.0, 0.5, 0.2])
    l0 = np.linalg.norm(X2)
    e1 = X2 / l0
    y = np.cross(e1, [0, 0, 1.0])
    y /= np.linalg.norm(y)
    R0 = np.column_stack([e1, y, np.cross(e1, y)])
    x1 = rng.normal(size=3) * 0.3
    x2 = X2 + rng.normal(size=3) * 0.3
    R1 = rotation_matrix(rng.normal(size=3) * 0.8)
    R2 = rotation_matrix(rng.normal(size=3) * 0.2) @ R1
    return x1, x2, R1, R2, R0, l0


@pytest.mark.parametrize("angle", [1e-9, 0.3, 2.0, 3.1])
def test_rotation_log_inverts_exp(angle):
    th = np.random.default_rng(0).normal(size=3)
    th *= angle / np.linalg.norm(th)
    assert np.allclose(rotation_vector(rotation_matrix(th)), th, atol=1e-12)


def test_spin_update_is_the_exponential_map():
    """spin_all(R, w) = exp(skew w) R (Rodrigues of rotation_matrix), tiny to large spins."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=(40, 3)) * rng.choice([1e-12, 1e-7, 0.3, 3.0], size=(40, 1))
    R = np.array([rotation_matrix(v) for v in rng.normal(size=(40, 3))])
    ref = np.array([rotation_matrix(w[i]) @ R[i] for i in range(40)])
    assert np.abs(spin_all(R, w) - ref).max() < 1e-14


def test_b_matrix_matches_differences_of_the_local_deformation():
    rng = np.random.default_rng(1)
    for _ in range(5):
        x1, x2, R1, R2, R0, l0 = _element(rng)
        B = b_matrix(x1, x2, R1, R2, R0, l0)
        h = 1e-6
        for k in range(12):
            dp = (local_deformation(*_perturbed(x1, x2, R1, R2, k, h), R0, l0)
                  - local_deformation(*_perturbed(x1, x2, R1, R2, k, -h), R0, l0)) / (2 * h)
            assert np.allclose(B[:, k], dp, atol=1e-8)


@pytest.mark.parametrize("law", ["linear-elastic", "nitinol"])
def test_tangent_matches_differences_of_the_internal_force(law):
    rng = np.random.default_rng(2)
    x1, x2, R1, R2, R0, l0 = _element(rng)
    m = BeamModel(np.array([[0, 0, 0.0], [3.0, 0.5, 0.2]]), np.array([[0, 1]]),
                  np.array([R0[:, 1]]), [0], [0.4], [0.3],
                  {"model": "linear-elastic", "E": 50e3, "nu": 0.3} if law == "linear-elastic"
                  else {"model": "nitinol"})
    old = np.zeros((3, m.spts.shape[1]))
    if law == "nitinol":  # a committed state inside the hysteresis loop
        old[:] = 0.3
    new = old.copy()

    def force(*cfg):
        return element_force_tangent(*cfg, R0, l0, m.spts[0], m.GJ[0], m.law, m.params, old, new)

    x2 = x1 + (x2 - x1) * 0.99 * l0 / np.linalg.norm(x2 - x1)  # modest axial strain
    _f, K = force(x1, x2, R1, R2)
    h = 1e-6
    Kfd = np.column_stack([(force(*_perturbed(x1, x2, R1, R2, k, h))[0]
                            - force(*_perturbed(x1, x2, R1, R2, k, -h))[0]) / (2 * h)
                           for k in range(12)])
    assert np.abs(K - Kfd).max() < 1e-5 * np.abs(K).max()


@pytest.mark.parametrize("law", ["linear-elastic", "nitinol"])
def test_explicit_force_kernel_equals_the_composed_internal_force(law):
    """The fused force-only kernel of explicit relaxation against Bᵀ f_l composed from the
    verified kinematics (B: differences of p_l) and section response, over large rotations
    (nodal triads up to ~2.5 rad apart, θ̄ near 0 and large) and the nitinol history."""
    rng = np.random.default_rng(7)
    mat = ({"model": "linear-elastic", "E": 50e3, "nu": 0.3} if law == "linear-elastic"
           else {"model": "nitinol"})
    cfgs = [_element(rng) for _ in range(40)]
    R0s = np.array([c[4] for c in cfgs])
    m = BeamModel(np.array([[0, 0, 0.0], [3.0, 0.5, 0.2]]), np.array([[0, 1]]),
                  np.array([R0s[0][:, 1]]), [0], [0.4], [0.3], mat)
    n = len(cfgs)
    x = np.vstack([np.vstack([c[0], c[1]]) for c in cfgs])
    R = np.concatenate([np.stack([c[2], c[3]]) for c in cfgs])
    R[2] = np.eye(3)  # one element with θ̄ ≈ 0 at a node (the series branch of T_s⁻¹)
    beams = np.arange(2 * n).reshape(n, 2)
    l0 = np.array([c[5] for c in cfgs])
    spts, GJ = np.repeat(m.spts, n, axis=0), np.repeat(m.GJ, n)
    old = np.full((n, 3, spts.shape[1]), 0.3 if law == "nitinol" else 0.0)
    new = np.empty_like(old)
    F = element_forces(x, R, beams, R0s, l0, spts, GJ, m.law, m.params, old, new)
    for e in range(n):
        a, b = beams[e]
        ref_new = old[e].copy()
        f, _ = element_force_tangent(x[a], x[b], R[a], R[b], R0s[e], l0[e], spts[e], GJ[e],
                                     m.law, m.params, old[e], ref_new)
        assert np.allclose(F[e], f, rtol=1e-10, atol=1e-10 * np.abs(f).max())
        assert np.allclose(new[e], ref_new, rtol=0.0, atol=1e-10)  # the law's history


def _cantilever(n_el=20, L=100.0, w=2.0, t=1.0):
    nodes = np.column_stack([np.linspace(0, L, n_el + 1), np.zeros(n_el + 1), np.zeros(n_el + 1)])
    beams = np.column_stack([np.arange(n_el), np.arange(1, n_el + 1)])
    m = BeamModel(nodes, beams, np.tile([0, 0, 1.0], (n_el, 1)), np.zeros(n_el, int),
                  np.full(n_el, w), np.full(n_el, t), {"model": "linear-elastic", "E": E, "nu": 0.3})
    return m, t * w**3 / 12


def _load(m, f_end, steps):
    eq = Equilibrium(m, fixed=np.arange(6))
    box = {"s": m.initial_state(), "lam": 0.0}
    follow_path(lambda v: box.__setitem__("lam", v),
                lambda: box.__setitem__("s", eq.solve(box["s"], f_end * box["lam"])[0]), 0.0, 1.0, steps)
    return box["s"]


def test_small_tip_load_matches_euler_bernoulli():
    m, I = _cantilever(n_el=4)
    P = 1e-3 * E * I / 100.0**2
    f = np.zeros(m.n_dof)
    f[-5] = P
    s = _load(m, f, 1)
    assert s.x[-1, 1] == pytest.approx(P * 100.0**3 / (3 * E * I), rel=2e-3)


@pytest.mark.parametrize("alpha", [1.0, 10.0])
def test_large_tip_load_matches_the_elastica(alpha):
    """Bisshopp & Drucker (1945): tip position within 0.5 % of L."""
    m, I = _cantilever()
    f = np.zeros(m.n_dof)
    f[-5] = alpha * E * I / 100.0**2
    s = _load(m, f, 10)
    x_ref, y_ref, _ = cantilever_tip_load(alpha)
    assert s.x[-1, 0] / 100.0 == pytest.approx(x_ref, abs=5e-3)
    assert s.x[-1, 1] / 100.0 == pytest.approx(y_ref, abs=5e-3)
    assert y_ref == pytest.approx({1.0: 0.30172, 10.0: 0.81061}[alpha], abs=1e-5)  # published table


def test_end_moment_rolls_the_beam_into_a_circle():
    """M = 2π E I / L: constant curvature 2π/L, the tip returns to the clamp."""
    n = 16
    m, I = _cantilever(n_el=n)
    f = np.zeros(m.n_dof)
    f[-1] = 2 * np.pi * E * I / 100.0
    s = _load(m, f, 8)
    assert np.linalg.norm(s.x[-1]) < 1e-6 * 100.0
    chord_radius = (100.0 / n) / (2 * np.sin(np.pi / n))  # nodes on a circle, chords = l0
    assert s.x[n // 2, 1] == pytest.approx(2 * chord_radius, rel=1e-6)
    assert s.x[n // 2, 1] == pytest.approx(100.0 / np.pi, rel=1e-2)  # the continuum circle


def test_torsion_of_a_round_bar():
    L, d, n = 50.0, 1.0, 4
    nodes = np.column_stack([np.linspace(0, L, n + 1), np.zeros(n + 1), np.zeros(n + 1)])
    m = BeamModel(nodes, np.column_stack([np.arange(n), np.arange(1, n + 1)]),
                  np.tile([0, 1.0, 0], (n, 1)), np.ones(n, int), np.full(n, d), np.full(n, d),
                  {"model": "linear-elastic", "E": E, "nu": 0.3})
    G, J = E / 2.6, np.pi * d**4 / 32
    T = 0.1 * G * J / L  # 0.1 rad
    f = np.zeros(m.n_dof)
    f[-3] = T
    s = _load(m, f, 1)
    assert rotation_vector(s.R[-1])[0] == pytest.approx(0.1, rel=1e-6)
    assert torsion_constant(1, d, d) == pytest.approx(J)


def test_section_points_integrate_area_and_second_moments():
    for kind, w, t, A, Iz in [(0, 0.4, 0.3, 0.12, 0.3 * 0.4**3 / 12),
                              (1, 0.5, 0.5, np.pi * 0.25**2, np.pi * 0.5**4 / 64)]:
        p = section_points(kind, w, t, 4)
        assert p[:, 2].sum() == pytest.approx(A, rel=1e-12)
        assert (p[:, 2] * p[:, 1] ** 2).sum() == pytest.approx(Iz, rel=1e-12)


@pytest.mark.parametrize("device", ["braid", "stent-graft"])
def test_model_tangent_on_its_cached_pattern_matches_differences_of_the_forces(device):
    """BeamModel.forces sums its element blocks into a CSR pattern built once (beams, ties,
    fabric membranes, unit spins of beam-less nodes): along random directions K v equals
    central differences of the internal force, and the pattern is canonical."""
    from biomech.stent.devices import braided, stent_graft
    from biomech.structures.beams import beam_model

    steel = {"model": "linear-elastic", "E": 200e3, "nu": 0.3}
    if device == "braid":
        model = beam_model(braided(6.0, 4.0, 8, 50.0, 0.1, elements_per_segment=2,
                                   material=steel))
        assert len(model.ties)
    else:
        model = beam_model(stent_graft(12, 6, 8, 0.3, 0.3, rings=1, graft_margin=1,
                                       material=steel), fabric=True)
        assert len(model.membranes) and len(model.inert_spins)
    rng = np.random.default_rng(3)
    state = model.moved(model.initial_state(), 0.02 * rng.standard_normal(model.n_dof))
    f, K, _ = model.forces(state)
    assert K.has_sorted_indices and K.nnz == K.tocoo().tocsr().nnz
    np.testing.assert_allclose(f, model.internal_forces(state)[0], rtol=1e-12, atol=1e-12)
    h = 1e-6
    for _ in range(3):
        v = rng.standard_normal(model.n_dof)
        fd = (model.internal_forces(model.moved(state, h * v))[0]
              - model.internal_forces(model.moved(state, -h * v))[0]) / (2 * h)
        live = np.ones(model.n_dof, bool)
        live[model.inert_spins] = False  # unit stiffness there, no force: kept non-singular
        np.testing.assert_allclose((K @ v)[live], fd[live], rtol=1e-5,
                                   atol=1e-6 * np.abs(fd).max())
        np.testing.assert_allclose((K @ v)[~live], v[~live], rtol=1e-12)
