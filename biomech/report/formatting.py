"""Plain-text formatting of report values: numbers with units, labels from dict keys.

A key's unit is read from its suffix (``systolic_mmHg`` → "Systolic", "mmHg"), the convention
of the summary and input dicts. Everything returned is plain text; escaping is html.py's job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

__all__ = [
    "NOT_COMPUTED",
    "NOT_GIVEN",
    "flatten",
    "label",
    "number",
    "point",
    "quantity",
    "split_unit",
    "value",
]

NOT_COMPUTED = "not computed"
NOT_GIVEN = "not given"

# Longest suffix first: "_mm_per_year" must win over "_mm".
_UNIT_SUFFIXES = (
    ("mm_per_year", "mm/year"),
    ("N_cm2", "N/cm²"),
    ("mmHg", "mmHg"),
    ("MPa", "MPa"),
    ("kPa", "kPa"),
    ("Pa", "Pa"),
    ("mm", "mm"),
    ("cm", "cm"),
    ("deg", "°"),
    ("pct", "%"),
    ("percent", "%"),
    ("s", "s"),
    ("N", "N"),
)
_ACRONYMS = {
    "pws": "PWS",
    "pws99": "PWS99",
    "pwri": "PWRI",
    "rpi": "RPI",
    "rred": "RRED",
    "ilt": "ILT",
    "gci": "GCI",
    "bc": "BC",
    "bcs": "BCs",
    "id": "ID",
    "ct": "CT",
    "vm": "von Mises",
    "dof": "DOF",
    "dofs": "DOFs",
    "ci": "CI",
    "hgo": "HGO",
    "nord": "NORD",
}


def split_unit(key: str) -> tuple[str, str]:
    """(key without its unit suffix, display unit); unit "" when the key has none."""
    for suffix, unit in _UNIT_SUFFIXES:
        if key.endswith("_" + suffix) and len(key) > len(suffix) + 1:
            return key[: -len(suffix) - 1], unit
    return key, ""


def label(key: str) -> str:
    """A readable label from a snake_case key: "pws_vm" → "PWS von Mises"."""
    words = [_ACRONYMS.get(w.lower(), w) for w in str(key).split("_") if w]
    if not words:
        return str(key)
    first = words[0]
    words[0] = first if first in _ACRONYMS.values() else first[:1].upper() + first[1:]
    return " ".join(words)


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def number(x, digits: int = 3) -> str:
    """``digits`` significant figures, a true minus sign; integers exact; NaN → not computed."""
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}".replace(",", "\u202f").replace("-", "\u2212")
    x = float(x)
    if math.isnan(x):
        return NOT_COMPUTED
    if math.isinf(x):
        return "\u221e" if x > 0 else "\u2212\u221e"
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        text = f"{mantissa}\u00d710^{int(exp)}"
    return text.replace("-", "\u2212")


def quantity(x, unit: str = "", digits: int = 3) -> str:
    """A number with its unit ("0.312 MPa"); None or NaN → "not computed"."""
    if x is None or (_is_number(x) and math.isnan(float(x))):
        return NOT_COMPUTED
    if not _is_number(x):
        return str(x)
    text = number(x, digits)
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("°", "%") else f"{text} {unit}"


def point(xyz, unit: str = "mm", digits: int = 4) -> str:
    """A point "(x, y, z) mm"; anything but three finite numbers → "not computed"."""
    try:
        a = np.asarray(xyz, dtype=float).ravel()
    except (TypeError, ValueError):
        return NOT_COMPUTED
    if a.size != 3 or not np.all(np.isfinite(a)):
        return NOT_COMPUTED
    return "(" + ", ".join(number(v, digits) for v in a) + f") {unit}".rstrip()


def value(x, unit: str = "", missing: str = NOT_GIVEN) -> str:
    """Any JSON-like value as text: bools yes/no, numbers with unit, lists joined."""
    if x is None:
        return missing
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if _is_number(x):
        return quantity(x, unit)
    if isinstance(x, (list, tuple, np.ndarray)):
        items = list(np.asarray(x).ravel()) if isinstance(x, np.ndarray) else list(x)
        if items and all(_is_number(v) for v in items):
            text = ", ".join(number(v) for v in items)
            text = f"({text})" if len(items) > 1 else text
            return f"{text} {unit}".rstrip()
        return ", ".join(value(v, "", missing) for v in items) if items else "none"
    if isinstance(x, Mapping):
        return "; ".join(f"{label(k)}: {value(v)}" for k, v in x.items())
    return str(x)


def flatten(d: Mapping, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Nested mappings as (key path, leaf value) pairs, in insertion order."""
    out: list[tuple[tuple[str, ...], object]] = []
    for k, v in d.items():
        path = (*prefix, str(k))
        if isinstance(v, Mapping) and v:
            out.extend(flatten(v, path))
        else:
            out.append((path, v))
    return out
