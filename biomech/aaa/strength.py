"""Local AAA wall strength from Vande Geest et al. 2006 (J Vasc Surg 44:1213), per element.

STRENGTH [N/cm²] = 71.9 − 37.9 (ILT^½ − 0.81) − 15.6 (NORD − 2.46) − 21.3 HIST + 19.3 SEX,
ILT = local thrombus thickness in cm, NORD = local diameter / neck diameter,
HIST = +0.5 with family history, −0.5 without; SEX = +0.5 male, −0.5 female.
ILT is clamped to [0, 3.6] cm and NORD to [1, 3.9] before evaluating (the range of the
regression data); the result is floored because the formula turns negative at the edges.

Floor, ``DEFAULT_FLOOR_N_CM2`` = 10 N/cm² (0.1 MPa): positive, so RPI = stress/strength stays
finite; conservative, since a low strength raises RPI rather than hiding risk; and it bites only
at the edges of the clamp box. Over that box (minimum at ILT = 3.6 cm, NORD = 3.9) the
formula gives +28.5 N/cm² for men without family history, +9.2 for women without, +7.2 for men
with and −12.1 for women with family history, against 92.2 at the population centre.
Elements at the floor are reported by ``strength_extrapolation_flags`` so that the report can
warn that their RPI is not a model prediction.
"""

from __future__ import annotations

import numpy as np

from biomech.aaa.patient import require_family_history, require_sex
from biomech.errors import CaseError

__all__ = [
    "ILT_RANGE_CM",
    "NORD_RANGE",
    "DEFAULT_FLOOR_N_CM2",
    "SEX_CODE",
    "HIST_CODE",
    "vande_geest_raw_N_cm2",
    "vande_geest_strength",
    "strength_extrapolation_flags",
]

ILT_RANGE_CM = (0.0, 3.6)
NORD_RANGE = (1.0, 3.9)
DEFAULT_FLOOR_N_CM2 = 10.0
SEX_CODE = {"male": 0.5, "female": -0.5}
HIST_CODE = {True: 0.5, False: -0.5}
N_CM2_TO_MPA = 0.01


def vande_geest_raw_N_cm2(ilt_cm, nord, sex_code: float, hist_code: float) -> np.ndarray:
    """The regression as published, no clamping or floor; ILT in cm, result in N/cm²."""
    ilt_cm = np.asarray(ilt_cm, dtype=float)
    nord = np.asarray(nord, dtype=float)
    return (
        71.9
        - 37.9 * (np.sqrt(ilt_cm) - 0.81)
        - 15.6 * (nord - 2.46)
        - 21.3 * hist_code
        + 19.3 * sex_code
    )


def _inputs(ilt_thickness_mm, normalized_diameter) -> tuple[np.ndarray, np.ndarray]:
    """ILT (mm → cm) and NORD broadcast to one float shape; CaseError on impossible values."""
    try:
        ilt_cm, nord = np.broadcast_arrays(
            np.asarray(ilt_thickness_mm, dtype=float) / 10.0,
            np.asarray(normalized_diameter, dtype=float),
        )
    except (TypeError, ValueError) as exc:
        raise CaseError(f"ILT thickness and normalized diameter: {exc}") from None
    if not (np.all(np.isfinite(ilt_cm)) and np.all(np.isfinite(nord))):
        raise CaseError("ILT thickness and normalized diameter must be finite numbers")
    if np.any(ilt_cm < 0.0):
        raise CaseError(
            f"ILT thickness must be >= 0 mm (min given {10.0 * ilt_cm.min():g} mm): "
            "a negative thickness is an upstream geometry error, not an extrapolation"
        )
    if np.any(nord <= 0.0):
        raise CaseError(
            f"normalized diameter (local / neck diameter) must be > 0, min given {nord.min():g}"
        )
    return ilt_cm, nord


def _check_floor(floor_N_cm2: float) -> float:
    """The floor as a positive finite float in N/cm²."""
    floor = float(floor_N_cm2)
    if not (np.isfinite(floor) and floor > 0.0):
        raise CaseError(f"floor_N_cm2 must be a positive number of N/cm², got {floor_N_cm2!r}")
    return floor


def _clamped_raw(ilt_thickness_mm, normalized_diameter, sex, family_history) -> np.ndarray:
    """The regression in N/cm² at ILT and NORD clamped to their data ranges."""
    ilt_cm, nord = _inputs(ilt_thickness_mm, normalized_diameter)
    return vande_geest_raw_N_cm2(
        np.clip(ilt_cm, *ILT_RANGE_CM),
        np.clip(nord, *NORD_RANGE),
        SEX_CODE[require_sex(sex)],
        HIST_CODE[require_family_history(family_history)],
    )


def vande_geest_strength(
    ilt_thickness_mm,
    normalized_diameter,
    *,
    sex: str | None,
    family_history: bool | None,
    floor_N_cm2: float = DEFAULT_FLOOR_N_CM2,
) -> np.ndarray:
    """Wall strength per element in MPa: clamped inputs, floored result (Vande Geest 2006)."""
    floor = _check_floor(floor_N_cm2)
    raw = _clamped_raw(ilt_thickness_mm, normalized_diameter, sex, family_history)
    return np.maximum(raw, floor) * N_CM2_TO_MPA


def strength_extrapolation_flags(
    ilt_thickness_mm,
    normalized_diameter,
    *,
    sex: str | None,
    family_history: bool | None,
    floor_N_cm2: float = DEFAULT_FLOOR_N_CM2,
) -> dict[str, np.ndarray]:
    """Boolean masks per element: ``ilt_clamped``, ``nord_clamped``, ``floored`` and ``any``."""
    floor = _check_floor(floor_N_cm2)
    ilt_cm, nord = _inputs(ilt_thickness_mm, normalized_diameter)
    raw = _clamped_raw(ilt_thickness_mm, normalized_diameter, sex, family_history)
    flags = {
        "ilt_clamped": (ilt_cm < ILT_RANGE_CM[0]) | (ilt_cm > ILT_RANGE_CM[1]),
        "nord_clamped": (nord < NORD_RANGE[0]) | (nord > NORD_RANGE[1]),
        "floored": raw < floor,
    }
    flags["any"] = flags["ilt_clamped"] | flags["nord_clamped"] | flags["floored"]
    return flags
