"""biomech.units: quantities with units -> internal units (mm, MPa, rad, N/mm³)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biomech.errors import BiomechError, UnitError
from biomech.units import (
    KINDS,
    MMHG_PA,
    accepted_units,
    format_quantity,
    length_factor,
    parse_quantity,
)

DEG = math.pi / 180

STRESS = {
    "Pa": 1e-6, "kPa": 1e-3, "MPa": 1.0, "GPa": 1e3,
    "N/mm2": 1.0, "N/mm^2": 1.0, "N/mm²": 1.0,
    "N/cm2": 1e-2, "N/cm^2": 1e-2, "N/cm²": 1e-2,
    "N/m2": 1e-6, "N/m^2": 1e-6, "N/m²": 1e-6,
    "mmHg": 133.322387415e-6, "cmH2O": 98.0665e-6,
}
LENGTH = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "um": 1e-3, "µm": 1e-3, "μm": 1e-3}
ANGLE = {"rad": 1.0, "radian": 1.0, "radians": 1.0, "deg": DEG, "degree": DEG,
         "degrees": DEG, "°": DEG}
STIFFNESS = {
    "N/mm3": 1.0, "N/mm^3": 1.0, "N/mm³": 1.0, "N/cm3": 1e-3, "N/cm^3": 1e-3, "N/cm³": 1e-3,
    "N/m3": 1e-9, "N/m^3": 1e-9, "N/m³": 1e-9, "MPa/mm": 1.0, "kPa/mm": 1e-3, "Pa/mm": 1e-6,
    "MPa/m": 1e-3, "kPa/m": 1e-6, "Pa/m": 1e-9, "kPa/cm": 1e-4, "mmHg/mm": 133.322387415e-6,
}
CASES = (
    [("stress", u, f) for u, f in STRESS.items()]
    + [("pressure", u, f) for u, f in STRESS.items()]
    + [("length", u, f) for u, f in LENGTH.items()]
    + [("angle", u, f) for u, f in ANGLE.items()]
    + [("stiffness_density", u, f) for u, f in STIFFNESS.items()]
)


@pytest.mark.parametrize("kind,unit,factor", CASES)
def test_every_unit(kind, unit, factor):
    assert parse_quantity(f"2.5 {unit}", kind) == pytest.approx(2.5 * factor, rel=1e-12)
    assert parse_quantity(f"-3e-1{unit}", kind) == pytest.approx(-0.3 * factor, rel=1e-12)


def test_tables_cover_accepted_units():
    assert set(accepted_units("stress")) == set(STRESS)
    assert set(accepted_units("length")) == set(LENGTH)
    assert set(accepted_units("angle")) == set(ANGLE)
    assert set(accepted_units("stiffness_density")) == set(STIFFNESS)


def test_clinical_values():
    assert MMHG_PA == 133.322387415
    assert parse_quantity("120 mmHg", "pressure") == pytest.approx(0.0159986864898)
    assert parse_quantity("80 mm Hg", "pressure") == pytest.approx(80 * 133.322387415e-6)
    assert parse_quantity("30º", "angle") == pytest.approx(30 * DEG)  # ordinal sign typed
    assert parse_quantity(" +1.5 cm ", "length") == 15.0
    assert parse_quantity(".5 N / mm2", "stress") == 0.5


def test_bare_numbers_are_internal_units():
    assert parse_quantity(3, "length") == 3.0
    assert parse_quantity(0.2, "stress") == 0.2
    assert parse_quantity(np.float64(1.5), "pressure") == 1.5
    assert parse_quantity(np.int64(2), "stiffness_density") == 2.0
    assert parse_quantity(0, "angle") == 0.0
    assert parse_quantity("0", "angle") == 0.0
    assert parse_quantity(0.45, "dimensionless") == 0.45
    assert parse_quantity("0.45", "dimensionless") == 0.45
    assert isinstance(parse_quantity(3, "length"), float)


@pytest.mark.parametrize(
    "value,kind,fragments",
    [
        ("3 furlong", "length", ["unknown unit 'furlong'", "mm, cm, m"]),
        ("5", "stress", ["unit is missing", "kPa"]),
        ("120 mmHg", "length", ["'mmHg' is a unit of pressure", "length"]),
        ("2 cm", "angle", ["'cm' is a unit of length", "deg"]),
        ("3 kPa", "stiffness_density", ["'kPa' is a unit of pressure", "N/mm3"]),
        ("10 deg", "stress", ["'deg' is a unit of angle"]),
        (30, "angle", ["ambiguous", "'30 deg'", "'30 rad'"]),
        ("30", "angle", ["ambiguous"]),
        ("nan kPa", "stress", ["not finite"]),
        (float("nan"), "length", ["not finite"]),
        (float("inf"), "stress", ["not finite"]),
        ("-inf mm", "length", ["not finite"]),
        ("abc", "length", ["cannot read a number"]),
        ("mm 3", "length", ["cannot read a number"]),
        ("1,5 kPa", "stress", ["decimal point"]),
        (True, "length", ["got bool"]),
        (None, "length", ["none was given"]),
        ([1, 2], "length", ["got list"]),
        ("3 MPA", "stress", ["case-sensitive", "'MPa'"]),
        ("3 kPa", "dimensionless", ["unexpected unit 'kPa'", "plain number"]),
    ],
)
def test_errors_name_key_value_and_units(value, kind, fragments):
    with pytest.raises(UnitError) as info:
        parse_quantity(value, kind, key="pressure.value")
    msg = str(info.value)
    assert msg.startswith(f"pressure.value = {value!r}")
    for fragment in fragments:
        assert fragment in msg


def test_unit_error_is_value_error_and_biomech_error():
    with pytest.raises(ValueError):
        parse_quantity("1 parsec", "length")
    assert issubclass(UnitError, BiomechError)


def test_unknown_kind():
    with pytest.raises(UnitError, match="unknown quantity kind 'speed'"):
        parse_quantity(1, "speed")


def test_format_quantity_round_trips():
    for kind in ("stress", "length", "angle", "stiffness_density"):
        table = KINDS[kind][0]
        for unit in table:
            text = format_quantity(1.2345, kind, unit, digits=12)
            assert parse_quantity(text, kind) == pytest.approx(1.2345, rel=1e-10)
    assert format_quantity(0.016, "pressure", "mmHg") == "120.01 mmHg"
    assert format_quantity(math.pi / 6, "angle") == "30 deg"
    assert format_quantity(2, "length") == "2 mm"
    assert format_quantity(0.3, "dimensionless") == "0.3"
    with pytest.raises(UnitError, match="'mm' is not a unit of stress"):
        format_quantity(1, "stress", "mm")


def test_length_factor():
    assert length_factor("mm") == 1.0
    assert length_factor("cm") == 10.0
    assert length_factor("m") == 1000.0
    for bad in ("in", "MM", "", None):
        with pytest.raises(UnitError, match="use one of 'mm', 'cm', 'm'"):
            length_factor(bad)
