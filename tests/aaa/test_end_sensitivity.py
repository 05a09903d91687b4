"""End-support sensitivity of `biomech aaa`: the twin solved again with the other support of
the cut ends (clamped ↔ springs), checked against thin-shell edge bending (slow tier)."""

import json
import sys
from pathlib import Path

import pytest

from biomech.aaa.run import AAACase, run_aaa
from biomech.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cohort"))
from cohort_helpers import tube_image

pytestmark = pytest.mark.slow
SYSTOLIC, DIASTOLIC = 140.0, 85.0


@pytest.fixture(scope="module")
def tube(tmp_path_factory):
    """A straight 40 mm tube (lumen radius 4.75 mm): no aneurysm, nothing but the ends."""
    return tube_image(tmp_path_factory.mktemp("tube") / "tube.nii.gz")


def _run(tube, out, **kw):
    case = AAACase(tube, SYSTOLIC, DIASTOLIC, "male", False, size_mm=2.0, **kw)
    return run_aaa(case, out, quiet=True, report=False)


@pytest.fixture(scope="module")
def default_run(tube, tmp_path_factory):
    return _run(tube, tmp_path_factory.mktemp("default"))


def test_a_label_map_without_an_aneurysm_is_reported_not_refused(default_run):
    """A straight 11 mm vessel: the run completes and says there is no aneurysm."""
    s = default_run
    assert s["status"] == "ok"
    assert s["max_diameter_mm"] == pytest.approx(2 * 5.5, abs=0.5)  # wall label, 0.5 mm voxels
    assert s["diameter_rule"]["verdict"] == "no aneurysm"  # below the 30 mm definition
    assert any(w.startswith("no aneurysm found") for w in s["warnings"])
    assert 0 < s["pwri"] < 1


def test_ends_away_from_the_scored_wall_do_not_matter(default_run):
    """With the default 10 mm end exclusion the straight tube's indices barely move between
    clamped and spring-supported ends: within the 5 % tolerance, no warning."""
    s = default_run
    block = s["end_support_sensitivity"]
    assert block["nominal_support"] == "clamped"
    assert block["alternative_support"].startswith("springs 0.1 N/mm³")
    for key in ("pws_MPa", "pws99_MPa", "pwri"):
        assert block["nominal"][key] == s[key]  # the nominal column is the reported twin
        change = block["alternative"][key] / block["nominal"][key] - 1.0
        assert block["relative_change"][f"{key.removesuffix('_MPa')}_change"] \
            == pytest.approx(change, rel=1e-12)
        assert abs(change) < 0.05
    assert block["within_tolerance"] is True
    assert not any("support of the cut ends" in w for w in s["warnings"])
    assert s["inputs"]["end_support_sensitivity"] is True
    assert s["timings_s"]["end_sensitivity_s"] > 0


def test_a_scored_clamp_doubles_the_peak_stress_and_is_flagged(tube, tmp_path):
    """Scoring the wall up to the clamp (no end exclusion): the clamped edge adds the axial
    bending stress of a built-in cylinder edge, σx = 6 M0/t² with M0 = p/(2β²),
    β⁴ = 3(1 − ν²)/(R t)², i.e. σx = √3 pR/(t √(1 − ν²)) = 2 pR/t at ν = 0.5 (Timoshenko &
    Woinowsky-Krieger, Theory of Plates and Shells, 1959, ch. 15), against the hoop stress
    pR/t away from it. So PWS on clamped ends is twice PWS on (soft) springs, and the run
    warns that the indices depend on the support."""
    s = _run(tube, tmp_path, end_exclusion_mm=0.0)
    block = s["end_support_sensitivity"]
    ratio = block["nominal"]["pws_MPa"] / block["alternative"]["pws_MPa"]
    assert ratio == pytest.approx(2.0, rel=0.15)
    assert block["within_tolerance"] is False and block["largest_change"] == "pws"
    (warning,) = [w for w in s["warnings"] if "support of the cut ends" in w]
    assert "pws changes by -5" in warning and "--end-exclusion" in warning


def test_springs_as_the_nominal_support_compare_with_clamped(tube, tmp_path):
    """--ends springs: the alternative is the clamp, and the block's columns swap."""
    from biomech.aaa.twin import Mechanics

    s = _run(tube, tmp_path, end_exclusion_mm=0.0, mechanics=Mechanics(ends="springs"))
    block = s["end_support_sensitivity"]
    assert block["nominal_support"].startswith("springs")
    assert block["alternative_support"] == "clamped"
    assert block["alternative"]["pws_MPa"] / block["nominal"]["pws_MPa"] \
        == pytest.approx(2.0, rel=0.15)


def test_the_cli_can_skip_it_and_the_report_shows_it(tube, tmp_path):
    args = ["aaa", str(tube), "--systolic", "140 mmHg", "--diastolic", "85 mmHg", "--sex",
            "male", "--family-history", "no", "--size", "2 mm", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "off"), "--no-end-sensitivity"]) == 0
    off = json.loads((tmp_path / "off" / "summary.json").read_text())
    assert "end_support_sensitivity" not in off
    assert off["inputs"]["end_support_sensitivity"] is False
    assert "end_sensitivity_s" not in off["timings_s"]
    html = (tmp_path / "off" / "report.html").read_text()
    section = html.split('id="end-support"')[1].split("</section>")[0]
    assert "not computed" in section
    assert main([*args, "--out", str(tmp_path / "on")]) == 0
    html = (tmp_path / "on" / "report.html").read_text()
    section = html.split('id="end-support"')[1].split("</section>")[0]
    assert "PWS change" in section and "clamped" in section
