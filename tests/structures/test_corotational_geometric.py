"""Co-rotational beam: the closed-form geometric tangent is the exact derivative of f = Bᵀ f_l.

Checked against central differences of the element internal force and of B (at fixed f_l)
over all 12 global variables (translations; spins applied as R ← exp(h w) R), on large
rigid rotations, bent and twisted elements and both section laws, and against the forward
differences of B that it replaced.
"""

import numpy as np
import pytest

from biomech.structures.beams import BeamModel
from biomech.structures.corotational import (
    _global_force_tangent,
    _kinematics,
    _perturbed,
    _ts_blocks,
    _ts_inverse_t_derivative,
    b_matrix,
    element_force_tangent,
    local_deformation,
    local_response,
    rotation_matrix,
    ts_inverse,
)

MATERIALS = {"linear-elastic": {"model": "linear-elastic", "E": 50e3, "nu": 0.3},
             "nitinol": {"model": "nitinol"}}
X2 = np.array([3.0, 0.5, 0.2])  # reference chord (mm)


def _reference_frame():
    l0 = np.linalg.norm(X2)
    e1 = X2 / l0
    y = np.cross(e1, [0, 0, 1.0])
    y /= np.linalg.norm(y)
    return np.column_stack([e1, y, np.cross(e1, y)]), l0


def _configuration(rng, bend, twist, stretch):
    """Element nodes after a large rigid rotation, a stretch of the chord and nodal triads
    turned relative to it: random bending rotations of size ``bend`` (rad) and twists
    ``twist`` (rad) about the axis, opposite at the two ends."""
    R0, l0 = _reference_frame()
    Q = rotation_matrix(rng.normal(size=3) * 1.5)
    x1 = rng.normal(size=3)
    x2 = x1 + Q @ (X2 * stretch + 0.1 * rng.normal(size=3))
    turn = [rotation_matrix(bend * rng.normal(size=3) + s * twist * R0[:, 0]) for s in (1, -1)]
    return (x1, x2, Q @ turn[0], Q @ turn[1]), R0, l0


CASES = [(0.0, 0.0, 1.0), (1e-9, 1e-9, 1.0), (1e-3, 0.0, 0.98), (0.3, 0.2, 1.01),
         (0.7, 0.6, 0.97), (1.0, 1.1, 1.03), (0.1, 1.4, 1.0)]  # (bend, twist, stretch)


def _section(law):
    R0, _ = _reference_frame()
    m = BeamModel(np.array([[0, 0, 0.0], X2]), np.array([[0, 1]]), np.array([R0[:, 1]]),
                  [0], [0.4], [0.3], MATERIALS[law])
    # committed history; nitinol: inside its hysteresis loop, fibres transform under load
    old = np.full((3, m.spts.shape[1]), 0.3 if law == "nitinol" else 0.0)
    return m, old


def _steps(l0):
    """Difference steps per global variable: 1e-6 relative for translations, 1e-6 rad."""
    return np.array([1e-6 * l0] * 3 + [1e-6] * 3 + [1e-6 * l0] * 3 + [1e-6] * 3)


def _central(fun, cfg, h, *args):
    """Central differences (12 columns) of fun(x₁, x₂, R₁, R₂, *args) over the global
    variables, spins applied as R ← exp(h w) R."""
    return np.column_stack([(fun(*_perturbed(*cfg, k, h[k]), *args)
                             - fun(*_perturbed(*cfg, k, -h[k]), *args)) / (2 * h[k])
                            for k in range(12)])


def _force_and_tangent(x1, x2, R1, R2, R0, l0, m, old):
    return element_force_tangent(x1, x2, R1, R2, R0, l0, m.spts[0], m.GJ[0], m.law, m.params,
                                 old, old.copy())


def _force(*args):
    return _force_and_tangent(*args)[0]


def _bt_fl(x1, x2, R1, R2, R0, l0, fl):
    """Bᵀ f_l at a fixed local force."""
    return b_matrix(x1, x2, R1, R2, R0, l0).T @ fl


@pytest.mark.parametrize("law", ["linear-elastic", "nitinol"])
def test_element_tangent_matches_central_differences_of_the_internal_force(law):
    m, old = _section(law)
    rng = np.random.default_rng(11)
    worst = 0.0
    for bend, twist, stretch in CASES:
        for _ in range(3):
            cfg, R0, l0 = _configuration(rng, bend, twist, stretch)
            _, K = _force_and_tangent(*cfg, R0, l0, m, old)
            Kfd = _central(_force, cfg, _steps(l0), R0, l0, m, old)
            worst = max(worst, np.abs(K - Kfd).max() / np.abs(K).max())
    assert worst < 1e-6


@pytest.mark.parametrize("law", ["linear-elastic", "nitinol"])
def test_geometric_part_matches_central_differences_of_b_at_fixed_local_force(law):
    """K − Bᵀ K_l B against ∂(Bᵀ)/∂p_g · f_l by central differences, scaled by its own
    largest entry (the material part would hide errors in it); |θ̄| from 0 to ~2.6 rad."""
    m, old = _section(law)
    rng = np.random.default_rng(12)
    worst = 0.0
    for bend, twist, stretch in CASES:
        for _ in range(3):
            cfg, R0, l0 = _configuration(rng, bend, twist, stretch)
            p = local_deformation(*cfg, R0, l0)
            fl, Kl = local_response(p, l0, m.spts[0], m.GJ[0], m.law, m.params, old, old.copy())
            B = b_matrix(*cfg, R0, l0)
            _, K = _force_and_tangent(*cfg, R0, l0, m, old)
            Kgeo = K - B.T @ Kl @ B
            Kfd = _central(_bt_fl, cfg, _steps(l0), R0, l0, fl)
            worst = max(worst, np.abs(Kgeo - Kfd).max() / np.abs(Kgeo).max())
    assert worst < 1e-6


def test_geometric_part_at_arbitrary_local_forces():
    """The same at local forces unrelated to the deformation (moments dominating the axial
    force and the reverse), so every frame and T_s⁻¹ term carries weight: the kernel's
    assembly from the kinematics at a prescribed f_l and K_l = 0."""
    rng = np.random.default_rng(13)
    for bend, twist, stretch in CASES:
        cfg, R0, l0 = _configuration(rng, bend, twist, stretch)
        for scale in ([1.0] + [100.0] * 6, [100.0] + [1.0] * 6):
            fl = rng.normal(size=7) * np.array(scale)
            fg, Kgeo = _global_force_tangent(*_kinematics(*cfg, R0), fl, np.zeros((7, 7)))
            np.testing.assert_allclose(fg, b_matrix(*cfg, R0, l0).T @ fl, rtol=1e-12,
                                       atol=1e-12 * np.abs(fg).max())
            Kfd = _central(_bt_fl, cfg, _steps(l0), R0, l0, fl)
            assert np.abs(Kgeo - Kfd).max() < 1e-6 * np.abs(Kgeo).max()


@pytest.mark.parametrize("law", ["linear-elastic", "nitinol"])
def test_tangent_agrees_with_the_forward_differences_it_replaced(law):
    """The former tangent: Bᵀ K_l B plus forward differences of B at fixed f_l (step 1e-7,
    ×l₀ for translations); agreement to its O(h) truncation."""
    m, old = _section(law)
    rng = np.random.default_rng(14)
    for bend, twist, stretch in CASES:
        cfg, R0, l0 = _configuration(rng, bend, twist, stretch)
        p = local_deformation(*cfg, R0, l0)
        fl, Kl = local_response(p, l0, m.spts[0], m.GJ[0], m.law, m.params, old, old.copy())
        B = b_matrix(*cfg, R0, l0)
        K_old = B.T @ Kl @ B
        for k in range(12):
            hk = 1e-7 * max(1.0, l0) if (k // 3) % 2 == 0 else 1e-7
            K_old[:, k] += (b_matrix(*_perturbed(*cfg, k, hk), R0, l0) - B).T @ fl / hk
        _, K = _force_and_tangent(*cfg, R0, l0, m, old)
        assert np.abs(K - K_old).max() < 1e-6 * np.abs(K).max()


@pytest.mark.parametrize("angle", [0.0, 1e-9, 9.9e-7, 1.01e-6, 1e-4, 9.9e-3, 1.01e-2, 0.5, 2.0,
                                   3.1])
def test_ts_inverse_derivative_matches_central_differences(angle):
    """∂(T_s⁻ᵀ(θ) v)/∂θ across the series (|θ| < 0.01) and closed-form branches, and the
    kernel's in-place T_s⁻¹ blocks equal ``ts_inverse``."""
    rng = np.random.default_rng(15)
    th = rng.normal(size=3)
    th *= angle / np.linalg.norm(th)
    v = rng.normal(size=3)
    D = _ts_inverse_t_derivative(th, v)
    h = 1e-6
    Dfd = np.column_stack([(ts_inverse(th + h * e).T @ v - ts_inverse(th - h * e).T @ v) / (2 * h)
                           for e in np.eye(3)])
    assert np.abs(D - Dfd).max() < 1e-8 * np.abs(D).max()
    T = _ts_blocks(th, -th)
    assert np.abs(T[1:4, 1:4] - ts_inverse(th)).max() < 1e-14
    assert np.abs(T[4:7, 4:7] - ts_inverse(-th)).max() < 1e-14
