"""Vande Geest 2006 wall strength: the reference check value, clamping, floor, coding.

Hand values (N/cm²): male, no history, ILT = 0.81² cm, NORD = 2.46 → 71.9 + 10.65 + 9.65 = 92.2;
ILT = 1 cm, NORD = 2, male, no history → 71.9 − 37.9·0.19 + 15.6·0.46 + 20.3 = 92.175;
female with history at ILT = 3.6 cm, NORD = 3.9 → 71.9 − 37.9(√3.6 − 0.81) − 22.464 − 20.3 ≈ −12.08.
"""

from __future__ import annotations

import numpy as np
import pytest

from biomech.aaa import (
    DEFAULT_FLOOR_N_CM2,
    strength_extrapolation_flags,
    vande_geest_raw_N_cm2,
    vande_geest_strength,
)
from biomech.errors import CaseError

MALE = {"sex": "male", "family_history": False}


def n_cm2(mpa):
    """MPa → N/cm²."""
    return np.asarray(mpa) * 100.0


def test_reference_check_value():
    s = vande_geest_strength(10.0 * 0.81**2, 2.46, **MALE)  # ILT 0.6561 cm = 6.561 mm
    assert n_cm2(s) == pytest.approx(92.2, abs=0.1)
    assert float(s) == pytest.approx(0.922, abs=1e-12)


def test_ilt_is_converted_from_mm_to_cm():
    assert n_cm2(vande_geest_strength(10.0, 2.0, **MALE)) == pytest.approx(92.175, abs=1e-9)


@pytest.mark.parametrize(
    "ilt_mm, nord, same_as",
    [(50.0, 2.0, (36.0, 2.0)), (6.0, 0.5, (6.0, 1.0)), (6.0, 5.0, (6.0, 3.9))],
)
def test_inputs_are_clamped_before_evaluation(ilt_mm, nord, same_as):
    assert vande_geest_strength(ilt_mm, nord, **MALE) == vande_geest_strength(*same_as, **MALE)
    flags = strength_extrapolation_flags(ilt_mm, nord, **MALE)
    assert flags["any"] and not flags["floored"]
    assert not strength_extrapolation_flags(*same_as, **MALE)["any"]


def test_clamping_changes_the_value_outside_the_range():
    # ILT 5 cm unclamped would give a lower strength than at 3.6 cm
    raw_5cm = vande_geest_raw_N_cm2(5.0, 2.0, 0.5, -0.5)
    assert n_cm2(vande_geest_strength(50.0, 2.0, **MALE)) > raw_5cm + 1.0


def test_floor_where_the_formula_is_negative():
    kw = {"sex": "female", "family_history": True}
    raw = vande_geest_raw_N_cm2(3.6, 3.9, -0.5, 0.5)
    assert raw == pytest.approx(-12.08, abs=0.01)
    assert n_cm2(vande_geest_strength(36.0, 3.9, **kw)) == pytest.approx(DEFAULT_FLOOR_N_CM2)
    assert n_cm2(vande_geest_strength(80.0, 6.0, **kw, floor_N_cm2=1.0)) == pytest.approx(1.0)
    flags = strength_extrapolation_flags(np.array([36.0, 6.561]), 3.9, **kw)
    assert flags["floored"].tolist() == [True, False]


def test_sex_and_family_history_coding():
    args = (12.0, 2.2)
    male = vande_geest_strength(*args, sex="male", family_history=False)
    female = vande_geest_strength(*args, sex="female", family_history=False)
    with_history = vande_geest_strength(*args, sex="male", family_history=True)
    assert n_cm2(male - female) == pytest.approx(19.3, abs=1e-9)
    assert n_cm2(with_history - male) == pytest.approx(-21.3, abs=1e-9)


def test_vectorised_per_element():
    ilt = np.array([0.0, 6.561, 20.0, 50.0])
    nord = np.array([1.0, 2.46, 3.0, 3.5])
    s = vande_geest_strength(ilt, nord, **MALE)
    assert s.shape == (4,)
    expected = [vande_geest_strength(i, n, **MALE) for i, n in zip(ilt, nord)]
    np.testing.assert_allclose(s, expected, rtol=0, atol=1e-15)
    assert vande_geest_strength(ilt, 2.46, **MALE).shape == (4,)  # scalar NORD broadcasts
    assert strength_extrapolation_flags(ilt, nord, **MALE)["ilt_clamped"].tolist() == [
        False, False, False, True,
    ]


@pytest.mark.parametrize("sex", [None, "", "  "])
def test_missing_sex_is_refused(sex):
    with pytest.raises(CaseError, match="sex is required .male/female.*not guessed"):
        vande_geest_strength(6.0, 2.0, sex=sex, family_history=False)


def test_bad_inputs_are_case_errors():
    assert issubclass(CaseError, ValueError)
    with pytest.raises(CaseError, match="'male' or 'female'"):
        vande_geest_strength(6.0, 2.0, sex="m", family_history=False)
    with pytest.raises(CaseError, match="family_history is required"):
        vande_geest_strength(6.0, 2.0, sex="male", family_history=None)
    with pytest.raises(CaseError, match="ILT thickness must be >= 0"):
        vande_geest_strength(-1.0, 2.0, **MALE)
    with pytest.raises(CaseError, match="normalized diameter"):
        vande_geest_strength(6.0, 0.0, **MALE)
    with pytest.raises(CaseError, match="finite"):
        vande_geest_strength(np.nan, 2.0, **MALE)
    with pytest.raises(CaseError, match="floor_N_cm2"):
        vande_geest_strength(6.0, 2.0, **MALE, floor_N_cm2=0.0)
    assert vande_geest_strength(6.0, 2.0, sex=" Female ", family_history=np.bool_(True)) > 0
