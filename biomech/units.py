"""Quantities as clinicians write them ("120 mmHg", "2 cm", "30 deg") -> internal units.

Internal units: length mm, stress/pressure MPa (= N/mm^2), angle rad, stiffness per area
("stiffness_density", elastic support) N/mm^3 = MPa/mm. Bare numbers (int or
float) already mean the internal unit, except for angles, where a bare non-zero number is
ambiguous (degrees or radians?) and rejected. Strings must carry a unit, except for the
"dimensionless" kind. Units are case-sensitive ("mPa" is not "MPa").
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata

from biomech.errors import UnitError

__all__ = [
    "KINDS",
    "MMHG_PA",
    "CMH2O_PA",
    "parse_quantity",
    "format_quantity",
    "accepted_units",
    "length_factor",
]

MMHG_PA = 133.322387415  # conventional millimetre of mercury, Pa
CMH2O_PA = 98.0665  # conventional centimetre of water (1000 kg/m^3 * g_n * 0.01 m), Pa

_STRESS = {
    "Pa": 1e-6,
    "kPa": 1e-3,
    "MPa": 1.0,
    "GPa": 1e3,
    "N/mm2": 1.0,
    "N/mm^2": 1.0,
    "N/mm²": 1.0,
    "N/cm2": 1e-2,
    "N/cm^2": 1e-2,
    "N/cm²": 1e-2,
    "N/m2": 1e-6,
    "N/m^2": 1e-6,
    "N/m²": 1e-6,
    "mmHg": MMHG_PA * 1e-6,
    "cmH2O": CMH2O_PA * 1e-6,
}
_STIFFNESS_DENSITY = {  # spring support per area, N/mm^3 = MPa/mm
    "N/mm3": 1.0,
    "N/mm^3": 1.0,
    "N/mm³": 1.0,
    "N/cm3": 1e-3,
    "N/cm^3": 1e-3,
    "N/cm³": 1e-3,
    "N/m3": 1e-9,
    "N/m^3": 1e-9,
    "N/m³": 1e-9,
    "MPa/mm": 1.0,
    "kPa/mm": 1e-3,
    "Pa/mm": 1e-6,
    "MPa/m": 1e-3,
    "kPa/m": 1e-6,
    "Pa/m": 1e-9,
    "kPa/cm": 1e-4,
    "mmHg/mm": MMHG_PA * 1e-6,
}
_FORCE = {"N": 1.0, "mN": 1e-3, "kN": 1e3}
_LENGTH = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "um": 1e-3, "µm": 1e-3, "μm": 1e-3}
_ANGLE = {
    "rad": 1.0,
    "radian": 1.0,
    "radians": 1.0,
    "deg": math.pi / 180.0,
    "degree": math.pi / 180.0,
    "degrees": math.pi / 180.0,
    "°": math.pi / 180.0,
}

#: kind -> (unit table to internal units, internal unit name, noun used in messages)
KINDS: dict[str, tuple[dict[str, float], str, str]] = {
    "stress": (_STRESS, "MPa", "stress"),
    "pressure": (_STRESS, "MPa", "pressure"),
    "length": (_LENGTH, "mm", "length"),
    "force": (_FORCE, "N", "force"),
    "angle": (_ANGLE, "rad", "angle"),
    "stiffness_density": (_STIFFNESS_DENSITY, "N/mm3", "stiffness per area"),
    "dimensionless": ({}, "", "dimensionless number"),
}
_SHORT_LIST = {
    "stress": "Pa, kPa, MPa, GPa, N/mm2 (N/mm^2, N/mm²), N/cm2, N/m2, mmHg, cmH2O",
    "length": "mm, cm, m, um (µm)",
    "force": "N, mN, kN",
    "angle": "deg (°), rad",
    "stiffness_density": "N/mm3 (= MPa/mm), N/cm3, N/m3, kPa/mm, kPa/cm, kPa/m, Pa/m, mmHg/mm",
}
_SHORT_LIST["pressure"] = _SHORT_LIST["stress"]

_NUMBER = re.compile(
    r"^\s*(?P<num>[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf(?:inity)?))"
    r"\s*(?P<unit>.*?)\s*$",
    re.IGNORECASE,
)


def accepted_units(kind: str) -> list[str]:
    """Unit spellings accepted for ``kind`` (a key of ``KINDS``)."""
    return list(_table(kind)[0])


def _table(kind: str) -> tuple[dict[str, float], str, str]:
    try:
        return KINDS[kind]
    except KeyError:
        raise UnitError(
            f"unknown quantity kind {kind!r}; use one of {', '.join(KINDS)}"
        ) from None


def _normalise_unit(unit: str) -> str:
    unit = unit.replace("º", "°")  # masculine ordinal typed for the degree sign
    unit = "".join(unit.split())  # "mm Hg" -> "mmHg", "N / mm2" -> "N/mm2"
    return unit


def _lookup(unit: str, table: dict[str, float]) -> float | None:
    if unit in table:
        return table[unit]
    folded = unicodedata.normalize("NFKC", unit)  # N/mm² -> N/mm2, µ -> μ
    for name, factor in table.items():
        if unicodedata.normalize("NFKC", name) == folded:
            return factor
    return None


def _fail(key: str, value: object, kind: str, why: str) -> UnitError:
    noun = KINDS[kind][2]
    article = "an" if noun[0] in "aeiou" else "a"
    accepted = "a plain number" if kind == "dimensionless" else f"units: {_SHORT_LIST[kind]}"
    return UnitError(f"{key} = {value!r}: {why}; expected {article} {noun} ({accepted})")


def parse_quantity(value: object, kind: str, *, key: str = "value") -> float:
    """Value of ``value`` in internal units: stress/pressure MPa, length mm, angle rad, N/mm³.

    ``value`` is a number (already in internal units; for angles only 0) or a string
    "<number> <unit>" ("120 mmHg", "1.5cm", "30°"); for kind "dimensionless" a number or a
    numeric string. Raises UnitError naming ``key``, the offending text and accepted units.
    """
    table, _, _ = _table(kind)
    if value is None:
        raise _fail(key, value, kind, "a value is required but none was given")
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise _fail(key, value, kind, f"expected a number or a string, got {type(value).__name__}")

    if isinstance(value, numbers.Real):
        number, unit = float(value), ""
    else:
        match = _NUMBER.match(value)
        if match is None:
            raise _fail(key, value, kind, "cannot read a number at the start of the text")
        number, unit = float(match["num"]), _normalise_unit(match["unit"])
        if re.match(r"^[,.]\d", unit):
            why = "cannot read the number (use a decimal point, not a comma)"
            raise _fail(key, value, kind, why)

    if not math.isfinite(number):
        raise _fail(key, value, kind, "the number is not finite (NaN or infinity)")

    if kind == "dimensionless":
        if unit:
            raise _fail(key, value, kind, f"unexpected unit {unit!r}; write a plain number")
        return number

    if not unit:
        if kind == "angle":
            if number == 0.0:
                return 0.0
            raise _fail(
                key, value, kind,
                f"a bare number is ambiguous for an angle; write '{number:g} deg' or "
                f"'{number:g} rad'",
            )
        if isinstance(value, str):
            raise _fail(
                key, value, kind,
                f"the unit is missing; write e.g. '{number:g} {_example_unit(kind)}'",
            )
        return number

    factor = _lookup(unit, table)
    if factor is not None:
        return number * factor
    raise _fail(key, value, kind, _unknown_unit_reason(unit, kind))


def _example_unit(kind: str) -> str:
    return {
        "stress": "kPa", "pressure": "mmHg", "length": "mm", "angle": "deg",
        "stiffness_density": "N/mm3",
    }[kind]


def _unknown_unit_reason(unit: str, kind: str) -> str:
    for other in ("pressure", "length", "angle", "stiffness_density"):
        table, _, noun = KINDS[other]
        if table is KINDS[kind][0]:
            continue
        if _lookup(unit, table) is not None:
            return f"{unit!r} is a unit of {noun}, not of {KINDS[kind][2]}"
    table = KINDS[kind][0]
    for name in table:
        if name.casefold() == unit.casefold():
            return f"unknown unit {unit!r} (units are case-sensitive: did you mean {name!r}?)"
    return f"unknown unit {unit!r}"


def format_quantity(value: float, kind: str, unit: str | None = None, *, digits: int = 6) -> str:
    """Text for ``value`` given in internal units (MPa, mm, rad), shown in ``unit``.

    The default unit is the internal one, except degrees for angles.
    """
    table, internal, _ = _table(kind)
    if kind == "dimensionless":
        return f"{float(value):.{digits}g}"
    if unit is None:
        unit = "deg" if kind == "angle" else internal
    factor = _lookup(_normalise_unit(unit), table)
    if factor is None:
        raise UnitError(
            f"format_quantity: unit {unit!r} is not a unit of {KINDS[kind][2]}; "
            f"accepted units: {_SHORT_LIST[kind]}"
        )
    return f"{float(value) / factor:.{digits}g} {unit}"


_MESH_UNITS = {"mm": 1.0, "cm": 10.0, "m": 1000.0}


def length_factor(units: str) -> float:
    """Factor converting mesh coordinates in ``units`` ("mm", "cm" or "m") to mm."""
    if isinstance(units, str) and units.strip() in _MESH_UNITS:
        return _MESH_UNITS[units.strip()]
    raise UnitError(
        f"mesh units = {units!r} are not supported; use one of 'mm', 'cm', 'm' "
        f"(the unit the mesh coordinates were written in; biomech works in mm)"
    )
