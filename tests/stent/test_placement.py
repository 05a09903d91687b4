"""The crimped device wrapped onto a curved centreline: closed forms on a line, a circle and
a helix."""

import numpy as np
import pytest

from biomech.stent.placement import CentrelinePath
from biomech.structures.beams import BeamState
from biomech.structures.corotational import rotation_matrix


def _ring_state(radius=0.8, heights=(0.0, 1.0, 2.0), n=12, seed=0):
    """Nodes on a crimped cylinder (device frame), with random nodal triads."""
    th = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = np.array([[radius * np.cos(a), radius * np.sin(a), z] for z in heights for a in th])
    rng = np.random.default_rng(seed)
    R = np.array([rotation_matrix(v) for v in rng.normal(size=(len(x), 3))])
    return BeamState(x, R, np.zeros((len(x), 1)))


def _arc(radius, length, ds=0.4):
    s = np.arange(0.0, length + 1e-9, ds)
    c = np.column_stack([radius * np.sin(s / radius), radius * (1 - np.cos(s / radius)),
                         np.zeros_like(s)])
    return s, c


def test_straight_centreline_is_a_rigid_placement():
    """On a straight line the wrap is the rigid move onto it: distances and triads' relative
    orientation kept, z = 0 at the landing, the device axis along the line."""
    s = np.arange(0.0, 30.0, 0.5)
    axis = np.array([1.0, 2.0, 2.0]) / 3.0
    path = CentrelinePath.smoothed(s, np.array([5.0, -1.0, 2.0]) + np.outer(s, axis))
    st = _ring_state()
    out = path.wrap(st, 10.0)
    d0 = np.linalg.norm(st.x[:, None] - st.x[None], axis=2)
    assert np.allclose(np.linalg.norm(out.x[:, None] - out.x[None], axis=2), d0, atol=1e-9)
    ring0 = out.x[:12].mean(axis=0)
    assert np.allclose(ring0, np.array([5.0, -1.0, 2.0]) + 10.0 * axis, atol=1e-9)
    assert np.allclose(out.x[24:].mean(axis=0) - ring0, 2.0 * axis, atol=1e-9)
    Q = out.R @ np.transpose(st.R, (0, 2, 1))  # the rotation applied to every triad
    assert np.allclose(Q, Q[0], atol=1e-12) and np.allclose(Q[0] @ [0, 0, 1.0], axis)


@pytest.mark.parametrize("bend", [5.0, 12.0])
def test_circular_centreline_wraps_sections_into_its_normal_planes(bend):
    """On a circular arc of radius ``bend`` (mm) away from its smoothed ends: each crimped
    section lands centred on the arc at arc length s0 + z, in the arc's normal plane, at
    its own radius; triads stay orthonormal. The Gaussian smoothing (σ = 0.25 mm) pulls a
    circle in by about σ²/2R ≤ 0.006 mm."""
    s, c = _arc(bend, 25.0)
    path = CentrelinePath.smoothed(s, c, sigma_mm=0.25)
    st = _ring_state(radius=0.8, heights=(0.0, 2.0, 4.0))
    out = path.wrap(st, 9.0)
    for k, z in enumerate((0.0, 2.0, 4.0)):
        ring = out.x[12 * k:12 * (k + 1)]
        a = (9.0 + z) / bend
        centre = np.array([bend * np.sin(a), bend * (1 - np.cos(a)), 0.0])
        tangent = np.array([np.cos(a), np.sin(a), 0.0])
        mid = ring.mean(axis=0)
        assert np.linalg.norm(mid - centre) < 0.01
        assert np.abs((ring - mid) @ tangent).max() < 1e-3
        assert np.allclose(np.linalg.norm(ring - mid, axis=1), 0.8, atol=1e-3)
    assert np.allclose(out.R @ np.transpose(out.R, (0, 2, 1)), np.eye(3), atol=1e-12)
    assert path.bend_radius_mm(8.0, 16.0) == pytest.approx(bend, rel=0.02)
    sig = path.arc_of(out.x)  # sections' nodes read back at their arc length
    sigma0 = float(np.interp(9.0, path.s_input, path.sigma_input))
    assert np.abs(sig - (sigma0 + st.x[:, 2])).max() <= 0.01


def test_frame_does_not_twist_along_a_helix():
    """Rotation-minimising: along a helix the normal's rate about the tangent is zero, so
    e₁' · e₂ = 0 (a Frenet frame would turn at the torsion τ = h/(r² + h²))."""
    r, h = 6.0, 3.0
    u = np.linspace(0, 3.0, 400)
    c = np.column_stack([r * np.cos(u), r * np.sin(u), h * u])
    s = u * np.hypot(r, h)
    path = CentrelinePath.smoothed(s, c, sigma_mm=0.1)
    sig = np.linspace(3.0, path.sigma[-1] - 3.0, 60)
    _, Q = path.frames(sig)
    de1 = np.gradient(Q[:, :, 0], sig, axis=0)
    assert np.abs(np.sum(de1 * Q[:, :, 1], axis=1)).max() < 2e-3
    frenet_twist = h / (r * r + h * h)
    assert frenet_twist > 0.05  # the test would see a Frenet frame's twist


def test_short_or_unordered_centreline_is_refused():
    with pytest.raises(ValueError, match="increasing"):
        CentrelinePath.smoothed(np.array([0.0, 1.0, 1.0, 2.0]), np.zeros((4, 3)))


def _at(path_s, bend, rho, phi):
    """Points at input arc ``path_s`` on the arc of radius ``bend`` (in z = 0), ``rho`` off
    it in the normal plane at angle ``phi`` from the in-plane normal; the radial unit vectors
    and the tangents."""
    a = np.asarray(path_s, float) / bend
    centre = np.column_stack([bend * np.sin(a), bend * (1 - np.cos(a)), 0 * a])
    t = np.column_stack([np.cos(a), np.sin(a), 0 * a])
    n = np.column_stack([-np.sin(a), np.cos(a), 0 * a])
    e = np.cos(phi)[:, None] * n + np.sin(phi)[:, None] * np.array([0.0, 0.0, 1.0])
    return centre + rho[:, None] * e, e, t


@pytest.mark.parametrize("bend", [8.0, 1e4])
def test_curved_catheter_penetration_and_funnel_in_closed_form(bend):
    """The catheter along a circular arc (radius ``bend`` mm; 1e4: all but straight), tip at
    arc 12 mm, radius 1 mm, funnel slope 0.5, nodes 0.1 mm thick: a node ρ off the arc at
    arc σ penetrates g = ρ + 0.1 − 1 before the tip and g = ρ + 0.1 − 1 − 0.5 (σ − 12)
    beyond it, ∂g/∂x = the radial unit vector (less 0.5 × the tangent beyond the tip: checked
    on the straight line, where it is exact); far beyond the tip, or well inside, g < 0: no force."""
    s, c = _arc(bend, 25.0)
    path = CentrelinePath.smoothed(s, c, sigma_mm=0.25)
    rng = np.random.default_rng(1)
    arc = rng.uniform(4.0, 20.0, 200)
    rho, phi = rng.uniform(0.2, 1.6, 200), rng.uniform(0.0, 2 * np.pi, 200)
    x, e, t = _at(arc, bend, rho, phi)
    sigma = np.interp(arc, path.s_input, path.sigma_input)
    tip = float(np.interp(12.0, path.s_input, path.sigma_input))
    g, dg = path.catheter(tip, 1.0, np.full(200, 0.1), slope=0.5)(x)
    beyond = np.maximum(sigma - tip, 0.0)
    assert np.allclose(g, rho + 0.1 - 1.0 - 0.5 * beyond, atol=0.01 * (1 + 0.5 * rho))
    inside = sigma < tip - 0.1
    slack = (1e-3 + 0.005 / rho)[:, None]  # the smoothing pulls the arc in by 0.004 mm
    assert np.all(np.abs(dg - e)[inside] <= slack[inside])
    if bend > 100.0:
        assert np.allclose(dg[~inside & (sigma > tip + 0.1)],
                           (e - 0.5 * t)[~inside & (sigma > tip + 0.1)], atol=1e-3)
    free = sigma > tip + 2 * (rho + 0.1 - 1.0) + 0.1
    assert free.any() and np.all(g[free] < 0.0)
    assert np.all(g[(rho < 0.85) & inside] < 0.0)


def test_braid_opened_along_a_line_follows_braid_kinematics():
    """A 24-wire 45° braid (8 mm, 8 mm long, its wire-centre helices) taken as crimped, with
    an as-made 10 mm braid of the same wires, opened on a straight centreline to 9 mm: its
    length is that of inextensible helices, √(ℓ² − (L0 tan α d'/D0)²) with ℓ = L0 / cos α, its
    centroid stays, its wires keep their element lengths (chords of helices: to 0.5 %), and
    every triad turns with its wire (the turned old chord along the new, to 1°)."""
    from biomech.stent.devices import braided
    from biomech.structures.beams import beam_model

    net = braided(8.0, 8.0, 24, 45.0, 0.1, elements_per_segment=3)
    model = beam_model(net)
    beams = np.asarray(model.beams)
    L0 = float(np.ptp(net.nodes[:, 2]))
    ell = L0 / np.cos(np.radians(45.0))
    made = (float(np.sqrt(ell ** 2 - (L0 * 10.0 / 8.0) ** 2)), 10.0)
    s = np.arange(0.0, 40.0, 0.5)
    path = CentrelinePath.smoothed(s, np.column_stack([0 * s, 0 * s, s]))
    state = path.wrap(model.initial_state(), 10.0)
    out = path.opened(state, beams, made, lambda sig: 4.5 + 0 * sig)
    z = out.x[:, 2]
    assert np.ptp(z) == pytest.approx(np.sqrt(ell ** 2 - (L0 * 9.0 / 8.0) ** 2), rel=1e-3)
    assert z.mean() == pytest.approx(state.x[:, 2].mean(), abs=1e-3)
    assert np.allclose(np.hypot(out.x[:, 0], out.x[:, 1]), 4.5, atol=1e-9)
    chord = lambda x: x[beams[:, 1]] - x[beams[:, 0]]
    l0, l1 = np.linalg.norm(chord(state.x), axis=1), np.linalg.norm(chord(out.x), axis=1)
    assert np.allclose(l1, l0, rtol=5e-3)
    turn = out.R @ np.transpose(state.R, (0, 2, 1))
    old = chord(state.x) / l0[:, None]
    turned = np.einsum("nij,nj->ni", turn[beams[:, 0]], old)
    assert np.all(np.sum(turned * chord(out.x) / l1[:, None], axis=1) > np.cos(np.radians(1.0)))


def _tube_points(offset, bulge):
    """Nodes of a 2 mm tube along z (axis at x = ``offset``), 5 mm where ``bulge``(Z, T)."""
    z = np.arange(0.0, 30.01, 0.2)
    th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    Z, T = np.meshgrid(z, th, indexing="ij")
    rad = np.where(bulge(Z, T), 5.0, 2.0)
    return np.column_stack([(rad * np.cos(T)).ravel() + offset, (rad * np.sin(T)).ravel(),
                            Z.ravel()])


@pytest.mark.parametrize("bulge", [
    lambda Z, T: np.abs(Z - 14.0) < 2.0,                                   # fusiform
    lambda Z, T: (np.abs(Z - 14.0) < 2.0) & (np.cos(T) > np.cos(0.75 * np.pi)),  # saccular
])
def test_lumen_radius_bridges_an_aneurysm(bulge):
    """A 2 mm tube with a 4 mm long, 5 mm bulge all round or over three quarters (the
    median radius there the bulge's): bridged as narrower than BRIDGE_MM, the braid may
    open to the tube's 2 mm (to the facets' chord) all along."""
    line = np.linspace(0.0, 30.0, 61)
    path = CentrelinePath.smoothed(line, np.column_stack([0 * line, 0 * line, line]))
    radius = path.lumen_radius(_tube_points(0.0, bulge))
    s = np.arange(2.0, 28.0, 0.1)
    assert np.allclose(radius(s), 2.0, atol=0.01)
