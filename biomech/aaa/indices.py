"""Rupture-risk indices: PWS, PWS99, RPI, PWRI, the clinical diameter rule, RRED.

Stresses and strengths in MPa, diameters in mm, growth in mm/year.
Sources: reference README §2 (Vande Geest 2006 strength, RPI/PWRI, clinical rule).

PWS99, the percentile method: elements are sorted by stress; element k, with volume v_k and
cumulative volume S_k, sits at the midpoint c_k = S_k − v_k/2 of its volume slice, and its
plotting position is P_k = (c_k − c_1) / (c_n − c_1). PWS99 is the stress interpolated
linearly at P = 0.99. With equal volumes P_k = (k − 1)/(n − 1), which is numpy's default
``percentile(..., method="linear")``; ``volumes=None`` means equal volumes, so 0, 1, …, 99
gives 98.01. A large element pulls the percentile towards its own stress.
"""

from __future__ import annotations

import numpy as np

from biomech.aaa.patient import require_sex
from biomech.errors import CaseError

__all__ = [
    "DIAMETER_THRESHOLD_MM",
    "GROWTH_THRESHOLD_MM_PER_YEAR",
    "AAA_DEFINITION_MM",
    "weighted_percentile",
    "rupture_indices",
    "diameter_rule",
    "annual_rupture_risk_band",
    "rred_mm",
]

DIAMETER_THRESHOLD_MM = {"male": 55.0, "female": 50.0}
GROWTH_THRESHOLD_MM_PER_YEAR = 10.0
AAA_DEFINITION_MM = 30.0  # an infrarenal aorta of 30 mm or more is an AAA (ESVS 2019 guidelines)
PWS_PERCENTILE = 99.0


def _field(name: str, values, n: int | None = None) -> np.ndarray:
    """A finite 1-D float array (of length n when given); CaseError otherwise."""
    a = np.asarray(values, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise CaseError(f"{name} must be a non-empty 1-D array (one value per element)")
    if n is not None and a.size != n:
        raise CaseError(f"{name} has {a.size} values, stress has {n}: one value per element")
    if not np.all(np.isfinite(a)):
        raise CaseError(f"{name} must be finite (element {int(np.argmin(np.isfinite(a)))})")
    return a


def weighted_percentile(values: np.ndarray, q: float, weights: np.ndarray | None) -> float:
    """The q-th percentile (0–100) by midpoint plotting positions; numpy "linear" if unweighted."""
    order = np.argsort(values, kind="stable")
    x = values[order]
    w = np.ones_like(x) if weights is None else weights[order]
    if x.size == 1:
        return float(x[0])
    c = np.cumsum(w) - 0.5 * w
    return float(np.interp(q / 100.0, (c - c[0]) / (c[-1] - c[0]), x))


def rupture_indices(stress_MPa, strength_MPa, volumes=None) -> dict:
    """PWS, PWS99, the RPI field (stress/strength) and PWRI with element indices (MPa)."""
    stress = _field("stress_MPa", stress_MPa)
    strength = _field("strength_MPa", strength_MPa, stress.size)
    if np.any(strength <= 0.0):
        raise CaseError(
            f"strength_MPa must be > 0 (element {int(np.argmin(strength))} has "
            f"{strength.min():g}); floor it, e.g. with vande_geest_strength"
        )
    vol = None if volumes is None else _field("volumes", volumes, stress.size)
    if vol is not None and np.any(vol <= 0.0):
        raise CaseError(f"volumes must be > 0 (element {int(np.argmin(vol))} has {vol.min():g})")
    rpi = stress / strength
    return {
        "pws_MPa": float(stress.max()),
        "pws_element": int(np.argmax(stress)),
        "pws99_MPa": weighted_percentile(stress, PWS_PERCENTILE, vol),
        "pws99_weighting": "volume" if vol is not None else "element",
        "rpi": rpi,
        "pwri": float(rpi.max()),
        "pwri_element": int(np.argmax(rpi)),
    }


def annual_rupture_risk_band(max_diameter_mm: float) -> str:
    """Annual rupture risk by max diameter: <1 % below 55 mm, ~10 % to 70 mm, ~33 % above."""
    if max_diameter_mm < 55.0:
        return "< 1 %/year"
    if max_diameter_mm <= 70.0:
        return "~10 %/year"
    return "~33 %/year"


def diameter_rule(
    max_diameter_mm: float, sex: str | None, growth_mm_per_year: float | None = None
) -> dict:
    """Clinical rule: repair if diameter > 55 mm (men) / > 50 mm (women) or growth > 10 mm/yr;
    otherwise surveillance, or "no aneurysm" below the 30 mm definition of an AAA."""
    sex = require_sex(sex)
    d = float(max_diameter_mm)
    if not np.isfinite(d) or d <= 0.0:
        raise CaseError(f"max_diameter_mm must be a positive number of mm, got {max_diameter_mm!r}")
    if d < 10.0:
        raise CaseError(
            f"max_diameter_mm = {d:g} is below any aortic diameter in mm; was it given in cm?"
        )
    threshold = DIAMETER_THRESHOLD_MM[sex]
    reasons = []
    if d > threshold:
        reasons.append(f"max diameter {d:g} mm > {threshold:g} mm ({sex})")
    if growth_mm_per_year is not None:
        g = float(growth_mm_per_year)
        if not np.isfinite(g):
            raise CaseError(f"growth_mm_per_year must be finite, got {growth_mm_per_year!r}")
        if g > GROWTH_THRESHOLD_MM_PER_YEAR:
            reasons.append(f"growth {g:g} mm/year > {GROWTH_THRESHOLD_MM_PER_YEAR:g} mm/year")
    verdict = ("repair indicated" if reasons else
               "no aneurysm" if d < AAA_DEFINITION_MM else "surveillance")
    return {
        "verdict": verdict,
        "reasons": reasons,
        "threshold_mm": threshold,
        "annual_rupture_risk": annual_rupture_risk_band(d),
    }


def rred_mm(pwri: float | None = None, *, sex: str | None = None) -> dict:
    """RRED (mm): not computed, no documented calibration; returns ``rred_mm: None`` and why."""
    return {
        "rred_mm": None,
        "reason": (
            "no documented calibration available: RRED needs a population regression of PWRI "
            "on diameter, and the one cited (A4clinics) is marked unconfirmed"
        ),
    }
