"""Virtual radial-force test: closed forms of the guided-beam Z-ring, elastic path
independence, apposition in a rigid tube, nitinol hysteresis, output file, bad input."""

import csv

import numpy as np
import pytest

from biomech.errors import CaseError
from biomech.stent import diamond, stent_graft, z_ring
from biomech.stent.bench import (
    QUASI_STATIC_ATOL,
    QUASI_STATIC_RTOL,
    outer_diameter,
    radial_force_test,
)

E = 50e3
STEEL = {"model": "linear-elastic", "E": E, "nu": 0.33}


def _guided_beam_force(D, dD, crowns, L, w, t):
    """Reference formulas (../shared/reference §4): sin θ = π D / (N L), δ = 2 L sin(Δθ/2),
    F = 12 E I δ / L³; total radial force of the ring = 2π × hoop force."""
    N, I = 2 * crowns, t * w**3 / 12
    th0, th1 = np.arcsin(np.pi * D / (N * L)), np.arcsin(np.pi * (D - dD) / (N * L))
    F = 12 * E * I * 2 * L * np.sin(0.5 * (th0 - th1)) / L**3
    return 2 * np.pi * F, th0


def test_z_ring_radial_force_matches_the_guided_beam_formula():
    """Many crowns (apex tangent planes nearly coincide) and small crimp: the formula's
    assumptions hold. Within 5 % of it; within 1 % once the strut force is projected on the
    hoop direction (F_hoop = F / cos θ), which the formula leaves out."""
    D, crowns, L, w, t, dD = 28.0, 48, 5.0, 0.2, 0.3, 0.1
    net = z_ring(D, crowns, L, w, t, material=STEEL, elements_per_strut=6)
    curve = radial_force_test(net, D + t - dD, steps=1, release=False)
    ref, theta = _guided_beam_force(D, dD, crowns, L, w, t)
    assert curve.force_N[-1] == pytest.approx(ref, rel=0.05)
    assert curve.force_N[-1] == pytest.approx(ref / np.cos(theta), rel=0.01)
    N = 2 * crowns  # strut bending strain ε = 3 w δ / L² (same reference)
    th1 = np.arcsin(np.pi * (D - dD) / (N * L))
    delta = 2 * L * np.sin(0.5 * (theta - th1))
    assert curve.max_strain[-1] == pytest.approx(3 * w * delta / L**2, rel=0.02)


def test_diamond_row_is_two_mirrored_guided_beam_rings():
    """One row of closed diamond cells is two Z-rings mirrored about their shared apexes,
    which by that symmetry do not turn: each ring is a guided-beam ring, so the row bears
    twice the formula's force (hoop-projected), within 1 %, and its strut strain within 2 %."""
    D, cells, cell_length, w, t, dD = 28.0, 48, 10.0, 0.2, 0.3, 0.1
    net = diamond(D, cells, cell_length, w, t, rings=2, elements_per_strut=6, material=STEEL)
    curve = radial_force_test(net, D + t - dD, steps=1, release=False)
    L = np.hypot(0.5 * cell_length, 0.5 * D * np.pi / cells)  # apex to apex on the cylinder
    ref, theta = _guided_beam_force(D, dD, cells, L, w, t)
    assert curve.force_N[-1] == pytest.approx(2 * ref / np.cos(theta), rel=0.01)
    th1 = np.arcsin(np.pi * (D - dD) / (2 * cells * L))
    delta = 2 * L * np.sin(0.5 * (theta - th1))
    assert curve.max_strain[-1] == pytest.approx(3 * w * delta / L**2, rel=0.02)


def test_elastic_crimp_and_release_follow_one_curve():
    net = z_ring(28.0, 8, 10.0, 0.4, 0.3, material=STEEL)
    c = radial_force_test(net, 22.0, steps=4)
    assert c.force_N[0] == 0.0 and c.force_N[-1] < 1e-4 * max(c.force_N)  # head just touching
    for d in (24.0, 26.0):
        assert c.at(d, "release") == pytest.approx(c.at(d, "crimp"), rel=1e-4)
    crimp = [f for f, p in zip(c.force_N, c.phase) if p == "crimp"]
    assert np.all(np.diff(crimp) > 0)


def test_rigid_tube_smaller_than_nominal_full_apposition_uniform_pressure():
    """A ring released into a rigid tube of 24 mm: every apex touches, equal forces, and
    the total equals the free crimp curve at that diameter."""
    net = z_ring(28.0, 8, 10.0, 0.4, 0.3, material=STEEL)
    c = radial_force_test(net, 24.0, steps=4, release=False, keep_states=True)
    apexes = np.flatnonzero(np.isclose(np.hypot(net.nodes[:, 0], net.nodes[:, 1]), 14.0))
    assert len(apexes) == 16
    x = c.states[-1].x
    r = np.hypot(x[apexes, 0], x[apexes, 1]) + 0.15
    assert np.allclose(r, 12.0, atol=1e-3)  # in contact, no penetration beyond tolerance
    tube = radial_force_test(net, 24.0, steps=2, release=False)
    assert tube.force_N[-1] == pytest.approx(c.force_N[-1], rel=1e-4)


def test_nitinol_ring_shows_superelastic_hysteresis():
    """Chronic outward force (release) below the radial resistive force (crimp), and the
    crimp curve flattens once the apexes transform (loading plateau)."""
    net = z_ring(28.0, 8, 10.0, 0.4, 0.3)  # nitinol defaults
    c = radial_force_test(net, 16.0, steps=12)
    assert c.at(20.0, "release") < 0.8 * c.at(20.0, "crimp")
    early = c.at(25.0, "crimp") - c.at(27.0, "crimp")
    late = c.at(17.0, "crimp") - c.at(19.0, "crimp")
    assert late < 0.3 * early
    assert c.force_N[-1] < 1e-4 * max(c.force_N)


def test_nitinol_ring_reopened_part_way_is_on_the_release_branch():
    """``reopen_mm``: the head stops reopening there (a curved delivery's start), on the
    chronic-outward-force branch of the full test, not on the crimp branch."""
    net = z_ring(28.0, 8, 10.0, 0.4, 0.3)
    full = radial_force_test(net, 16.0, steps=12)
    part = radial_force_test(net, 16.0, steps=12, reopen_mm=20.0, keep_states=True)
    assert part.phase[-1] == "release" and part.diameter_mm[-1] == pytest.approx(20.0)
    assert part.force_N[-1] == pytest.approx(full.at(20.0, "release"), rel=0.01)  # interpolated
    assert part.force_N[-1] < 0.8 * full.at(20.0, "crimp")
    assert len(part.states) == len(part.force_N)


def test_radial_force_csv(tmp_path):
    net = z_ring(28.0, 8, 10.0, 0.4, 0.3, material=STEEL)
    c = radial_force_test(net, 26.0, steps=2)
    c.write_csv(tmp_path / "radial_force.csv")
    rows = list(csv.DictReader((tmp_path / "radial_force.csv").read_text().splitlines()))
    assert list(rows[0]) == ["diameter_mm", "force_N", "phase"]
    assert {r["phase"] for r in rows} == {"crimp", "release"}
    assert float(rows[0]["diameter_mm"]) == pytest.approx(outer_diameter(net))


def test_stent_graft_fabric_crimps_without_adding_radial_force():
    """A tension-field fabric carries no compression: crimped (and released) with its
    fabric, a stent-graft needs the force of its rings alone (the rings' force is checked
    against the guided beam above) — within 1 %, what the 1e-5 compression stiffness kept
    and the settling tolerance allow. The fabric is really there: it touches the head."""
    net = stent_graft(12, 6, 8, 0.3, 0.3, rings=2, ring_gap=2, graft_margin=1, material=STEEL)
    rings = radial_force_test(net, 7.0, steps=6, fabric=False)
    graft = radial_force_test(net, 7.0, steps=6)
    assert graft.diameter_mm == pytest.approx(rings.diameter_mm)
    loaded = np.array(rings.force_N) > 0.1
    assert np.array(graft.force_N)[loaded] == pytest.approx(np.array(rings.force_N)[loaded],
                                                             rel=1e-2)
    assert max(graft.contact_nodes) > max(rings.contact_nodes)
    tol = np.maximum(QUASI_STATIC_RTOL * np.array(graft.force_N), QUASI_STATIC_ATOL)
    assert np.all(np.array(graft.stabilisation_N) <= tol)


@pytest.mark.parametrize("to", [28.3, 40.0, 0.0])
def test_crimp_target_outside_the_device_is_refused(to):
    net = z_ring(28.0, 8, 10.0, 0.4, 0.3, material=STEEL)
    with pytest.raises(CaseError, match="outer diameter"):
        radial_force_test(net, to)
