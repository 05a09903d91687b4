"""Rupture indices (PWS, PWS99, RPI, PWRI), the clinical diameter rule and RRED."""

from __future__ import annotations

import numpy as np
import pytest

from biomech.aaa import diameter_rule, rred_mm, rupture_indices
from biomech.errors import CaseError


def test_rpi_field_and_pwri_of_a_known_field():
    out = rupture_indices([0.1, 0.3, 0.2], [0.5, 0.5, 0.1])
    np.testing.assert_allclose(out["rpi"], [0.2, 0.6, 2.0])
    assert out["pwri"] == pytest.approx(2.0) and out["pwri_element"] == 2
    assert out["pws_MPa"] == pytest.approx(0.3) and out["pws_element"] == 1


def test_pws99_is_numpy_linear_percentile_without_volumes():
    stress = np.arange(100.0)
    out = rupture_indices(stress, np.ones(100))
    assert out["pws99_MPa"] == pytest.approx(98.01, abs=1e-12)
    assert out["pws99_MPa"] == pytest.approx(np.percentile(stress, 99))
    shuffled = np.random.default_rng(0).permutation(stress)
    assert rupture_indices(shuffled, np.ones(100))["pws99_MPa"] == pytest.approx(98.01)


def test_equal_volumes_equal_unweighted():
    stress = np.random.default_rng(1).gamma(2.0, 0.1, size=257)
    ref = np.percentile(stress, 99)
    for v in (np.ones(257), np.full(257, 3.7e-3)):
        assert rupture_indices(stress, np.ones(257), v)["pws99_MPa"] == pytest.approx(ref)


def test_volume_weighting_moves_pws99_towards_large_elements():
    # midpoints c_k = k + 0.5 (k < 99), c_99 = 99 + 50; positions k/148.5 and 1
    stress, volumes = np.arange(100.0), np.ones(100)
    volumes[99] = 100.0
    top = rupture_indices(stress, np.ones(100), volumes)["pws99_MPa"]
    x98 = 98.0 / 148.5
    assert top == pytest.approx(98.0 + (0.99 - x98) / (1.0 - x98), abs=1e-12)  # 98.97
    # heavy lowest element: c_0 = 50, c_k = 99.5 + k; P = 0.99 at c = 197.015 → k = 97.515
    volumes = np.ones(100)
    volumes[0] = 100.0
    bottom = rupture_indices(stress, np.ones(100), volumes)["pws99_MPa"]
    assert bottom == pytest.approx(97.515, abs=1e-12)
    assert bottom < 98.01 < top < 99.0


def test_bad_fields_are_case_errors():
    with pytest.raises(CaseError, match="one value per element"):
        rupture_indices([1.0, 2.0], [1.0])
    with pytest.raises(CaseError, match="strength_MPa must be > 0"):
        rupture_indices([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(CaseError, match="volumes must be > 0"):
        rupture_indices([1.0, 2.0], [1.0, 1.0], [1.0, -1.0])
    with pytest.raises(CaseError, match="finite"):
        rupture_indices([1.0, np.inf], [1.0, 1.0])


@pytest.mark.parametrize(
    "diameter, sex, growth, verdict",
    [
        (56.0, "male", None, "repair indicated"),
        (52.0, "male", None, "surveillance"),
        (52.0, "female", None, "repair indicated"),
        (45.0, "male", 11.0, "repair indicated"),
        (55.0, "male", None, "surveillance"),  # the rule is strictly greater than
        (50.0, "female", 10.0, "surveillance"),
        (30.0, "male", None, "surveillance"),  # an AAA from 30 mm (ESVS 2019)
        (29.5, "female", None, "no aneurysm"),
        (22.0, "male", 12.0, "repair indicated"),  # fast growth still counts
    ],
)
def test_diameter_rule(diameter, sex, growth, verdict):
    out = diameter_rule(diameter, sex, growth)
    assert out["verdict"] == verdict
    assert bool(out["reasons"]) == (verdict == "repair indicated")


@pytest.mark.parametrize(
    "diameter, band", [(45.0, "< 1 %/year"), (60.0, "~10 %/year"), (75.0, "~33 %/year")]
)
def test_annual_rupture_risk_band(diameter, band):
    assert diameter_rule(diameter, "female")["annual_rupture_risk"] == band


def test_diameter_rule_refuses_missing_sex_and_cm():
    with pytest.raises(CaseError, match="sex is required"):
        diameter_rule(56.0, None)
    with pytest.raises(CaseError, match="given in cm"):
        diameter_rule(5.6, "male")


def test_rred_is_not_invented():
    out = rred_mm(0.6, sex="male")
    assert out["rred_mm"] is None
    assert out["reason"].startswith("no documented calibration available")
