"""Crash-test building blocks against closed forms: seal length, lumen diameters of a
cylinder, landing and fit checks, acceptance and ranking rules."""

import numpy as np
import pytest

from biomech.errors import CaseError
from biomech.stent.crashtest import (_beyond_neck, auto_catheter, check_fit, crash_test,
                                     crimped_fit, seal_length)
from biomech.stent.deploy import check_crimped_span
from biomech.stent.ranking import assess, rank
from biomech.stent.vessel import (
    Vessel,
    _lumen_diameters,
    _lumen_triangles,
    boundary_zone_mm,
    parse_landing,
)


def straight_vessel(length=100.0, lumen_d=19.0, n=101):
    """A Vessel with only its centreline (straight along z) and lumen diameters."""
    s = np.linspace(0.0, length, n)
    centre = np.column_stack([np.zeros(n), np.zeros(n), s])
    return Vessel(None, None, None, None, np.zeros((0, 3)), np.zeros(0), np.zeros((0, 3), int),
                  s, centre, np.full(n, lumen_d), np.full(n, lumen_d + 3.0))


class FakeDevice:
    def __init__(self, length, name="D"):
        self.length_mm, self.name = length, name


def test_seal_length_stops_at_the_first_band_with_a_gap():
    zeta = np.arange(0.0, 20.01, 0.25)
    apposed = zeta < 12.3                              # nodes beyond 12.3 mm stand off
    assert seal_length(zeta, apposed) == pytest.approx(12.0)  # the 12–13 mm band has a gap
    assert seal_length(zeta, np.ones_like(apposed)) == pytest.approx(20.0)
    assert seal_length(zeta, zeta > 0.1) == 0.0        # the proximal band itself leaks


def test_seal_length_bridges_empty_bands_between_rings():
    zeta = np.concatenate([np.linspace(0, 5, 11), np.linspace(9, 14, 11)])  # 4 mm ring gap
    assert seal_length(zeta, np.ones(22, bool)) == pytest.approx(14.0)


def test_lumen_diameter_of_a_faceted_cylinder():
    r, around, along = 9.5, 48, 20
    th = np.arange(around) * 2 * np.pi / around
    z = np.linspace(0, 40, along + 1)
    P = np.array([[r * np.cos(t), r * np.sin(t), zz] for zz in z for t in th])
    quads = [(j * around + i, j * around + (i + 1) % around,
              (j + 1) * around + (i + 1) % around, (j + 1) * around + i)
             for j in range(along) for i in range(around)]

    class Mesh:
        source = "cylinder"
        face_sets = {"lumen": {"quad": np.array(quads)}}

    centre = np.column_stack([np.zeros(41), np.zeros(41), np.linspace(0, 40, 41)])
    T = _lumen_triangles(Mesh, P, centre)
    n = np.cross(P[T[:, 1]] - P[T[:, 0]], P[T[:, 2]] - P[T[:, 0]])
    assert np.all(np.sum(n * (P[T].mean(axis=1) * [1, 1, 0]), axis=1) > 0)  # out of the lumen
    d = _lumen_diameters(P, T, centre)
    assert np.allclose(d, 2 * r, rtol=1e-9)


def test_landing_options_and_their_errors():
    v = straight_vessel(length=100.0)
    assert v.landing_start("neck") == 10.0
    assert v.landing_start("12 mm") == 12.0 and v.landing_start("2 cm") == 20.0
    with pytest.raises(CaseError, match="clamped boundary zone"):
        parse_landing("4 mm")
    with pytest.raises(ValueError, match="unit is missing"):
        parse_landing("12")
    with pytest.raises(CaseError, match="outlet's clamped boundary zone.*land between 10 and "
                                        "90.0 mm"):
        v.landing_start("95 mm")
    with pytest.raises(CaseError, match="beyond the vessel"):
        v.landing_start("12 cm")


def test_neck_ends_where_the_outer_diameter_first_exceeds_1_2_times_the_neck():
    """Outer 22 mm to 30 mm from the inlet, then 1 mm wider per mm: 1.2 × 22 = 26.4 mm is
    reached 4.4 mm into the bulge, and a device ending at 40 mm reaches 5.6 mm beyond; a
    straight vessel (or one whose outer wall was not measured) has no neck end."""
    v = straight_vessel(length=100.0)
    assert v.neck_end_mm is None and _beyond_neck(v, 40.0) == {}
    v.outer_diameter_mm = 22.0 + np.clip(v.s_mm - 30.0, 0.0, 20.0)
    assert v.neck_end_mm == pytest.approx(34.4)
    assert _beyond_neck(v, 40.0)["beyond_neck_mm"] == pytest.approx(5.6)
    assert _beyond_neck(v, 30.0) == {}
    v.outer_diameter_mm = np.full_like(v.s_mm, np.nan)
    assert v.neck_end_mm is None


def test_fit_checks_length_and_a_straight_axis():
    v = straight_vessel(length=100.0)
    point, axis = check_fit(v, FakeDevice(40.0), 10.0, 10.0)
    assert np.allclose(point, [0, 0, 10.0]) and np.allclose(axis, [0, 0, 1.0])
    with pytest.raises(CaseError, match=r"only 55.0 mm of vessel lie beyond.*or land it "
                                        r"between 10 and 20.0 mm \(--landing\)"):
        check_fit(v, FakeDevice(70.0, "LONG"), 35.0, 10.0)  # 100 − 10 clamped − 70 = 20
    with pytest.raises(CaseError, match="choose a shorter device$"):  # fits at no landing
        check_fit(v, FakeDevice(90.0, "LONG"), 10.0, 10.0)


def test_fit_refuses_a_catheter_that_would_touch_a_bent_lumen():
    s = np.linspace(0, 100, 101)
    R = 60.0  # a bend of radius 60 mm
    centre = np.column_stack([R * (1 - np.cos(s / R)), np.zeros(101), R * np.sin(s / R)])
    v = straight_vessel()
    v.centre, v.s_mm = centre, s
    with pytest.raises(CaseError, match="bends"):
        check_fit(v, FakeDevice(60.0), 10.0, 12.0)
    check_fit(v, FakeDevice(20.0), 10.0, 12.0)  # a short device fits the same bend


def test_catheter_and_clearance_scale_down_to_small_vessels():
    aortic = type("Dev", (), {"length_mm": 20.0, "nominal_diameter_mm": 24.0})
    assert auto_catheter(straight_vessel(), aortic, 10.0) == pytest.approx(11.4)  # 0.6 × 19
    neuro = type("Dev", (), {"length_mm": 7.5, "nominal_diameter_mm": 4.6})
    small = straight_vessel(40.0, lumen_d=3.0)
    # 0.6 × 3 mm = 1.8 mm, not the aortic 4 mm floor (which is 0.3 × nominal = 1.4 mm here)
    assert auto_catheter(small, neuro, 5.0) == pytest.approx(1.8)
    check_fit(small, FakeDevice(7.5), 5.0, 2.4)  # a tenth of the 3 mm lumen kept: 0.3 mm
    with pytest.raises(CaseError, match="would touch the 3.0 mm lumen"):
        check_fit(small, FakeDevice(7.5), 5.0, 2.5)
    with pytest.raises(CaseError, match="would touch"):  # the aortic 0.5 mm all round
        check_fit(straight_vessel(), FakeDevice(20.0), 10.0, 18.1)


def test_crimped_fit_checks_the_crimped_length_in_the_vessel():
    s = np.linspace(0, 100, 101)
    R = 60.0
    v = straight_vessel()
    v.centre, v.s_mm = np.column_stack([R * (1 - np.cos(s / R)), np.zeros(101),
                                        R * np.sin(s / R)]), s
    point, axis = check_fit(v, FakeDevice(20.0), 30.0, 12.0)  # nominal 20 mm: fits the bend

    def crimped(z0, z1):
        z = np.linspace(z0, z1, 20)
        return type("State", (), {"x": np.column_stack([np.zeros(20), np.zeros(20), z])})

    check = crimped_fit(v, 30.0, 12.0, point, axis)
    check(crimped(-0.5, 20.5))  # a Z-ring a little longer once crimped
    with pytest.raises(CaseError, match="60.0 mm long, and over that length the centreline bends"):
        check(crimped(-20.0, 40.0))  # a braid three times longer: off the straight catheter
    edge = crimped_fit(straight_vessel(), 10.0, 12.0, np.zeros(3), np.array([0, 0, 1.0]))
    edge(crimped(-4.9, 20.0))  # up to half way into the 10 mm clamped zone
    with pytest.raises(CaseError, match=r"move the landing by \+0.1"):
        edge(crimped(-5.1, 20.0))


def test_a_crimped_braid_that_would_leave_the_vessel_is_refused_with_where_it_fits():
    z = np.linspace(-6.0, 15.0, 50)  # a 7.5 mm braid crimped to 21 mm, about its middle
    check_crimped_span(z, (-8.0, 16.0), 1.7)
    with pytest.raises(CaseError, match=r"21.0 mm long .* move the landing by \+4.0 to \+5.0"):
        check_crimped_span(z, (-2.0, 20.0), 1.7)
    with pytest.raises(CaseError, match="does not fit in this vessel at any landing"):
        check_crimped_span(z, (-2.0, 15.0), 1.7)


def test_boundary_zone_is_an_edge_bending_half_wave():
    # πλ, λ = √(R t)/(3(1 − ν²))^¼ with ν = 0.5: a 19 mm neck with a 1.5 mm wall: 10.06 mm
    R, t = 0.5 * (19.0 + 1.5), 1.5
    assert np.pi * np.sqrt(R * t) / 2.25**0.25 == pytest.approx(10.06, abs=0.01)
    assert boundary_zone_mm(19.0, 1.5, 3.0) == 10.0      # capped at the aortic 10 mm
    assert boundary_zone_mm(14.0, 1.5, 3.0) == 9.0       # πλ = 8.7 mm, up to whole mm
    assert boundary_zone_mm(3.6, 0.3, 0.6) == 2.0        # a cerebral artery: πλ = 1.96 mm
    assert boundary_zone_mm(3.6, 0.3, 1.5) == 3.0        # at least two wall elements
    v = straight_vessel(30.0, lumen_d=3.6)
    v.end_margin_mm = 2.0
    assert v.landing_start("neck") == 2.0 and v.landing_start("3 mm") == 3.0
    with pytest.raises(CaseError, match="first 2 mm below the inlet"):
        v.landing_start("1.5 mm")


FIG = {"oversizing_pct": 15.0, "seal_length_mm": 16.0, "apposition_pct": 98.0,
       "max_gap_mm": 0.3, "migration_margin": 2.0, "friction_capacity_N": 10.0,
       "displacement_force_N": 5.0, "peak_strain_pct": 3.0, "alternating_strain_pct": 0.1,
       "covered": True}


@pytest.mark.parametrize("change, verdict, text", [
    ({}, True, None),
    ({"oversizing_pct": 35.0}, False, "migration risk"),
    ({"oversizing_pct": 8.0}, False, "no durable radial seal"),
    ({"oversizing_pct": 25.0}, True, "above the standard"),
    ({"seal_length_mm": 8.0}, False, "seal length 8.0 mm < 10 mm"),
    ({"seal_length_mm": 12.0}, True, "below the preferred 15 mm"),
    ({"migration_margin": 0.5}, False, "migration margin 0.50 < 1"),
    ({"migration_margin": 0.5, "covered": False}, True, None),
    ({"peak_strain_pct": 7.0}, False, "peak strut strain"),
    ({"covered": False, "beyond_neck_mm": 4.0, "neck_end_mm": 30.0}, True,
     "extends 4.0 mm beyond the neck"),
    ({"beyond_neck_mm": 4.0, "neck_end_mm": 30.0}, True, None),  # a graft spans the sac
    ({"crimp_strain_pct": 6.5}, False, "crimped in the catheter 6.5 % > 6 %"),
    ({"crimp_strain_pct": 5.9}, True, None),
    ({"alternating_strain_pct": 0.5}, False, "fatigue"),
    ({"released": False}, True, "device still held"),
    ({"fabric_note": "the deployment with the graft fabric did not converge"}, True,
     "graft fabric did not converge"),
])
def test_acceptance_rules(change, verdict, text):
    ok, no, caution = assess({**FIG, **change}, "nitinol")
    assert ok is verdict
    if text is None:
        assert not no and not caution
    else:
        assert any(text in m for m in no + caution)


def _entry(name, **change):
    fig = {**FIG, **change}
    ok, no, caution = assess(fig, "nitinol")
    return {"name": name, "status": "ok", **fig, "acceptable": ok, "reasons": no + caution,
            "cautions": caution}


def test_ranking_puts_acceptable_devices_first_and_recommends_the_best():
    devices = [_entry("over", oversizing_pct=40.0), _entry("short_seal", seal_length_mm=12.0),
               _entry("best"), {"name": "broken", "status": "failed", "error": "diverged"}]
    order, rec = rank(devices)
    assert order == ["best", "short_seal", "over"]
    assert rec.startswith("best:")
    assert devices[3]["rank"] is None and devices[3]["rank_reason"] == "diverged"
    assert "not acceptable" in devices[0]["rank_reason"]


def test_ranking_says_when_no_candidate_is_acceptable():
    devices = [_entry("over", oversizing_pct=40.0),
               {"name": "x", "status": "rejected", "error": "too long", "reasons": ["too long"]}]
    order, rec = rank(devices)
    assert order == ["over"]
    assert rec.startswith("No candidate is acceptable") and "too long" in rec


def test_a_device_not_larger_than_the_lumen_is_refused_before_it_is_deployed():
    """Nominal 18 mm in a 19 mm lumen: refused with the reason, and the recommendation
    names the device once."""
    small = type("Dev", (), {"name": "Z18", "nominal_diameter_mm": 18.0, "length_mm": 20.0,
                             "build": lambda self: None})()
    with pytest.raises(CaseError, match="Z18: nominal diameter 18 mm is not larger than the "
                                        "19.0 mm lumen.*no apposition") as err:
        crash_test(straight_vessel(), small, s0=10.0, catheter_mm=None, friction=0.1)
    _, rec = rank([{"name": "Z18", "status": "rejected", "error": str(err.value)}])
    assert rec.startswith("No candidate is acceptable — Z18: nominal diameter 18 mm")


class FakeGraft:
    """A catalogue device whose network has (``covered``) or lacks a graft."""

    name, length_mm, nominal_diameter_mm = "SG", 20.0, 24.0

    def __init__(self, covered):
        self.covered = covered

    def build(self):
        return type("Net", (), {"graft": object() if self.covered else None})()


@pytest.mark.parametrize("covered", [True, False])
def test_a_stent_graft_falls_back_to_its_rings_when_the_fabric_does_not_converge(
        monkeypatch, covered):
    """crash_test deploys a stent-graft with its fabric first; a ConvergenceError there
    gives the rings alone, said in ``fabric_note`` (a ranking caution). A bare stent is
    deployed once, without fabric."""
    import biomech.stent.crashtest as ct
    from biomech.errors import ConvergenceError

    calls = []

    def deployed(vessel, device, net, *, fabric, **kw):
        calls.append(fabric)
        if fabric:
            raise ConvergenceError("not quasi-static: 2e-3 N")
        return ct.CrashTest(device.name, {"fabric_modelled": False})

    monkeypatch.setattr(ct, "_deployed", deployed)
    out = ct.crash_test(straight_vessel(), FakeGraft(covered), s0=10.0, catheter_mm=8.0,
                        friction=0.2)
    if covered:
        assert calls == [True, False]
        assert "did not converge (not quasi-static: 2e-3 N)" in out.figures["fabric_note"]
    else:
        assert calls == [False] and "fabric_note" not in out.figures


def test_a_sealing_that_does_not_converge_is_undone_with_a_note(monkeypatch):
    """If the fabric under blood pressure finds no equilibrium, the crash test keeps the
    unsealed graft: its configuration, the wall without cover, the contacts' state and the
    fabric's friction mask as they were, and says so (a caution in the ranking)."""
    from types import SimpleNamespace

    from biomech.errors import ConvergenceError
    from biomech.stent import crashtest, deploy

    class Lumen:
        friction_mask = np.zeros(4)
        state = "settled"

        def contact_forces(self):
            return np.ones(4)

    lumen, wall = Lumen(), object()
    solver = SimpleNamespace(beam=SimpleNamespace(membranes=np.array([[1, 2, 3]])), wall=wall,
                             lumen=lumen, warm_springs=True)
    solver.saved_contacts = lambda: lumen.state
    solver.restore_contacts = lambda s: setattr(lumen, "state", s)

    def failing(solver, cfg, covered, sac_share=0.0):
        solver.wall, solver.lumen.state = "covering", "changed"
        solver.lumen.friction_mask[1:] = 1.0
        raise ConvergenceError("stalled")

    monkeypatch.setattr(deploy, "seal_graft", failing)
    cfg = SimpleNamespace(beam=SimpleNamespace(x=np.zeros((4, 3))))
    path = SimpleNamespace(arc_of=lambda x: np.arange(len(x), dtype=float))
    out, figures, info = crashtest._sealed(solver, cfg, path)
    assert out is cfg and solver.wall is wall and lumen.state == "settled"
    assert not lumen.friction_mask.any() and not solver.warm_springs
    assert figures["fabric_pressurised"] is False and "stalled" in figures["fabric_note"]
    assert info["iterations"] == 0
    entry = _entry("SG", fabric_note=figures["fabric_note"])
    assert any("did not converge" in c for c in entry["cautions"])
