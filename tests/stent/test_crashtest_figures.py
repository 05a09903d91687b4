"""The crash test's per-device figures against closed forms computed here from the inputs:
a steel Z-ring released into a rigid 24 mm tube (contact pressures, migration margin,
apposition, gap and lengths), the oversizing of a tapered vessel, and the wall stress of a
twin whose stress field is Lamé's thick-walled cylinder."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from biomech.stent import crashtest as ct
from biomech.stent import z_ring
from biomech.stent.vessel import Vessel

# tube_surface and _rigid_tube_deploy of test_deploy, loaded by path as test_relaxation does
_spec = importlib.util.spec_from_file_location("test_deploy",
                                               Path(__file__).parent / "test_deploy.py")
_td = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_td)

MMHG_MPA = 101325.0 / 760.0 * 1e-6   # 1 mmHg in MPa (standard atmosphere / 760)
D_TUBE, AROUND = 24.0, 128            # the rigid tube (_rigid_tube_deploy: 128 facets around)
D_RING, CROWNS, STRUT, WIDTH, THICK = 28.0, 8, 10.0, 0.4, 0.3
ELEMENTS = 4                          # z_ring's elements_per_strut


def _vessel(s, lumen_d, outer_d, case=None):
    """A Vessel with only a straight centreline along z and its lumen/outer diameters
    (as tests/stent/test_crashtest.py's straight_vessel)."""
    n = len(s)
    centre = np.column_stack([np.zeros(n), np.zeros(n), s])
    return Vessel(None, case, None, None, np.zeros((0, 3)), np.zeros(0), np.zeros((0, 3), int),
                  s, centre, np.broadcast_to(lumen_d, (n,)).astype(float),
                  np.broadcast_to(outer_d, (n,)).astype(float))


@pytest.fixture(scope="module")
def ring():
    """The steel Z-ring of test_deploy released (frictionless) into the rigid 24 mm tube."""
    net = z_ring(D_RING, CROWNS, STRUT, WIDTH, THICK, material=_td.STEEL)
    out = _td._rigid_tube_deploy(net, D_TUBE)
    assert out["released"]
    solver, cfg = out["solver"], out["configuration"]
    made_r = np.hypot(net.nodes[:, 0], net.nodes[:, 1])
    apexes = np.flatnonzero(np.isclose(made_r, 0.5 * D_RING))
    return SimpleNamespace(solver=solver, cfg=cfg, lam=solver.lumen.contact_forces().copy(),
                           apexes=apexes)


def test_contact_pressures_of_a_ring_in_a_rigid_tube(ring):
    """Mean pressure vs Σλ / (π d_tube L_axial); peak vs apex force / (width × ℓ/elements)."""
    x, lam = ring.cfg.beam.x, ring.lam
    assert np.count_nonzero(lam) == 2 * CROWNS and np.all(lam[ring.apexes] > 0)  # apexes only
    length = np.ptp(x[:, 2])                      # the ring's axial extent (tube axis z)
    mean = lam.sum() / (np.pi * D_TUBE * length)  # MPa over the cylindrical envelope
    # a sharp apex carries half of one element of each of its two struts: ℓ/elements
    peak = lam[ring.apexes].max() / (WIDTH * STRUT / ELEMENTS)
    got = ct._pressures(ring.solver, ring.cfg, lam, D_TUBE, x[:, 2])
    assert got["mean_contact_pressure_kPa"] == pytest.approx(1e3 * mean, rel=1e-9)
    # the deployed elements' chords differ from ℓ/elements by their strain and bowing (2e-4)
    assert got["peak_contact_pressure_kPa"] == pytest.approx(1e3 * peak, rel=1e-3)


def test_migration_margin_of_a_ring_in_a_rigid_tube(ring):
    """Friction capacity μ Σλ (N) vs the systolic drag p_sys π d²/4 (MPa × mm² = N)."""
    mu, p_sys = 0.2, 120.0 * MMHG_MPA
    vessel = _vessel(np.linspace(0.0, 60.0, 61), D_TUBE, D_TUBE + 3.0,
                     case=SimpleNamespace(systolic_mmHg=120.0))
    got = ct._migration(vessel, 10.0, mu, ring.lam)
    cap, drag = mu * ring.lam.sum(), p_sys * np.pi * D_TUBE ** 2 / 4.0
    assert got["friction_capacity_N"] == pytest.approx(cap, rel=1e-12)
    assert got["displacement_force_N"] == pytest.approx(drag, rel=1e-5)  # mmHg constant: 1e-6
    assert got["migration_margin"] == pytest.approx(cap / drag, rel=1e-5)


def test_apposition_gap_and_lengths_of_a_ring_in_a_rigid_tube(ring):
    """Apposition 100 %, max gap vs the node-to-prism distance of the 128-gon tube, deployed
    and seal length vs the Z-ring height √(ℓ² − (d sin(π/2N))²) at the apex diameter."""
    x = ring.cfg.beam.x
    # the lumen is a prism: facets at the apothem a, normals at (k + ½) 2π/128; a node's gap
    # is its distance to the nearest facet plane less the struts' radial half-thickness
    a = 0.5 * D_TUBE * np.cos(np.pi / AROUND)
    phi = (np.arange(AROUND) + 0.5) * 2 * np.pi / AROUND
    normals = np.column_stack([np.cos(phi), np.sin(phi)])
    gaps_ref = (a - x[:, :2] @ normals.T).min(axis=1) - 0.5 * THICK
    assert gaps_ref.max() < ct.APPOSED_MM                     # so every strut is apposed
    gaps = ct._gaps(ring.solver, ring.cfg)
    fig = ct._figures_at(ring.solver, ring.cfg, gaps, np.zeros(3), np.array([0.0, 0.0, 1.0]))
    assert fig["apposition_pct"] == pytest.approx(100.0, abs=1e-12)
    assert fig["max_gap_mm"] == pytest.approx(gaps_ref.max(), abs=1e-9)
    # the struts are straight chords between apexes 2π/2N apart on the apex circle (centres
    # at the tube's vertices less the half-thickness); their bowing (sag δ ≈ 0.2 mm) shortens
    # a chord by 8δ²/3ℓ ≈ 0.01 mm: 0.5 %
    d_apex = 2.0 * np.hypot(x[ring.apexes, 0], x[ring.apexes, 1]).mean()
    height = np.sqrt(STRUT ** 2 - (d_apex * np.sin(np.pi / (2 * CROWNS))) ** 2)
    assert fig["deployed_length_mm"] == pytest.approx(np.ptp(x[:, 2]), rel=1e-12)
    assert fig["deployed_length_mm"] == pytest.approx(height, rel=5e-3)
    assert fig["seal_length_mm"] == pytest.approx(np.ptp(x[:, 2]), rel=1e-12)  # all apposed


class _Device:
    name, length_mm, nominal_diameter_mm = "Z24", 20.0, 24.0

    def build(self):
        return SimpleNamespace(graft=None)


def test_oversizing_against_the_landing_zone_of_a_tapered_vessel(monkeypatch):
    """Oversizing 100 (D / d − 1) vs d of a linear taper at the landing zone's middle."""
    s = np.linspace(0.0, 100.0, 101)
    lumen, outer = 18.0 + 0.04 * s, 21.0 + 0.06 * s
    vessel, dev, s0 = _vessel(s, lumen, outer), _Device(), 12.0
    got = {}

    def deployed(vessel, device, net, *, s0, lumen_d, **kw):  # figures of the sizing only
        got.update(ct._sizing(vessel, device, s0, lumen_d))
        return ct.CrashTest(device.name, got)

    monkeypatch.setattr(ct, "_deployed", deployed)
    ct.crash_test(vessel, dev, s0=s0, catheter_mm=8.0, friction=0.2)
    mid = s0 + 0.5 * 15.0  # a linear taper's mean over the landing zone (the proximal 15 mm)
    d_lumen, d_outer = 18.0 + 0.04 * mid, 21.0 + 0.06 * mid
    assert got["landing_lumen_diameter_mm"] == pytest.approx(d_lumen, rel=1e-12)
    assert got["oversizing_pct"] == pytest.approx(100.0 * (24.0 / d_lumen - 1.0), rel=1e-12)
    assert got["landing_outer_diameter_mm"] == pytest.approx(d_outer, rel=1e-12)
    assert got["oversizing_outer_pct"] == pytest.approx(100.0 * (24.0 / d_outer - 1.0),
                                                        rel=1e-12)
    straight = ct._sizing(_vessel(s, 19.0, 22.0), dev, 10.0, 19.0)
    assert straight["oversizing_pct"] == pytest.approx(100.0 * (24.0 / 19.0 - 1.0), rel=1e-12)


def test_wall_stress_before_and_after_against_a_lame_twin():
    """PWS before/after and beside the device vs Lamé's hoop stress at the innermost scored
    cell centroid (× an axial ramp), and vs the twin's own PWS index."""
    from biomech.aaa.twin import wall_fields
    from biomech.mesh.generate import tube

    A, B, L, n_circ, n_axial, p = 10.0, 12.0, 60.0, 24, 30, 0.016
    mesh = tube(A, B, L, n_radial=2, n_circ=n_circ, n_axial=n_axial)
    mesh.region_names = {"wall": 1}
    mesh.cell_data["local_diameter_mm"] = [np.full(mesh.n_cells, 2.0 * A)]
    c = mesh.points[mesh.blocks[0].conn].mean(axis=1)          # cell centres: the field's input
    r, th, z = np.hypot(c[:, 0], c[:, 1]), np.arctan2(c[:, 1], c[:, 0]), c[:, 2]
    k = p * A ** 2 / (B ** 2 - A ** 2)

    def ramp(zz):
        return 1.0 + zz / L

    s_t, s_r, s_z = k * (1 + B**2 / r**2) * ramp(z), k * (1 - B**2 / r**2) * ramp(z), k * ramp(z)
    cs, sn = np.cos(th), np.sin(th)                                 # Voigt xx yy zz xy yz xz
    voigt = np.column_stack([s_r * cs**2 + s_t * sn**2, s_r * sn**2 + s_t * cs**2, s_z,
                             (s_r - s_t) * cs * sn, 0 * r, 0 * r])
    result = SimpleNamespace(model=SimpleNamespace(mesh=mesh), cauchy_stress=voigt,
                             deformed_points=mesh.points)
    ends = (z < 10.0) | (z > L - 10.0)                              # the twin's end exclusion
    kw = dict(neck_diameter_mm=2 * A, sex="male", family_history=False, exclude=ends)
    before, after = wall_fields(result, **kw), wall_fields(result, stress_scale=1.25, **kw)
    vessel = Vessel(SimpleNamespace(twin=SimpleNamespace(fields=before)), None,
                    SimpleNamespace(mesh=mesh), None, mesh.points.copy(),
                    np.zeros(mesh.points.size), np.zeros((0, 3), int), np.zeros(0),
                    np.zeros((0, 3)), np.zeros(0), np.zeros(0))
    device = SimpleNamespace(length_mm=20.0, nominal_diameter_mm=24.0)
    got = ct._wall_stress(vessel, after, np.array([0.0, 0.0, 14.0]), np.array([0.0, 0.0, 1.0]),
                          device)
    # innermost layer's centroid: mean radius of its corners × cos(half the cell's angle);
    # cells 2 mm long: centroids at odd z; the last scored is 49, the last beside the
    # device (z 14–34) is 33
    r_in = 0.5 * (A + 0.5 * (A + B)) * np.cos(np.pi / n_circ)
    hoop = k * (1 + B**2 / r_in**2)
    assert got["wall_pws_before_MPa"] == pytest.approx(hoop * ramp(49.0), rel=1e-9)
    assert got["wall_pws_before_MPa"] == pytest.approx(before["indices"]["pws_MPa"], rel=1e-12)
    assert got["wall_pws_after_MPa"] == pytest.approx(1.25 * hoop * ramp(49.0), rel=1e-9)
    assert got["landing_wall_stress_before_MPa"] == pytest.approx(hoop * ramp(33.0), rel=1e-9)
    assert got["landing_wall_stress_after_MPa"] == pytest.approx(1.25 * hoop * ramp(33.0),
                                                                 rel=1e-9)
    thin = SimpleNamespace(length_mm=20.0, nominal_diameter_mm=8.0)  # 4 + 5 mm < the wall
    assert np.isnan(ct._wall_stress(vessel, after, np.array([0.0, 0.0, 14.0]),
                                    np.array([0.0, 0.0, 1.0]), thin)
                    ["landing_wall_stress_before_MPa"])
