"""One flat record per case for ``cohort.parquet`` / ``cohort.csv``, built from the case's
summary.json alone (so a resumed case gives the same row as a fresh one).

Units are in the column names (``_mm``, ``_MPa``, ``_mmHg``, ``_s``); fractions and
probabilities are fractions (0–1). A failed case has its ``error`` and nulls where nothing was
computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["SCHEMA", "biomechanical_verdict", "pwri_moments", "record_from_summary"]

PWRI_THRESHOLD = 1.0

# (column, arrow type name, meaning); the order of the table's columns.
SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("id", "string", "case id (the cohort file's id column)"),
    ("status", "string", "ok | failed"),
    ("error", "string", "why the case failed (row/column for a bad cohort row)"),
    ("error_type", "string", "exception type of the failure"),
    ("resumed", "bool", "taken from an earlier run's summary.json (--resume)"),
    ("row", "int64", "row of the cohort file (header = row 1)"),
    ("input", "string", "input file"),
    ("sex", "string", "male | female"),
    ("family_history", "bool", "family history of AAA"),
    ("systolic_mmHg", "float64", "systolic pressure"),
    ("diastolic_mmHg", "float64", "diastolic pressure"),
    ("imaging_pressure", "string", "diastolic | mean | systolic"),
    ("wall_thickness_mm", "float64", "nominal wall thickness"),
    ("element_size_mm", "float64", "element size"),
    ("max_diameter_mm", "float64", "maximum diameter (outer caliper)"),
    ("neck_diameter_mm", "float64", "neck diameter"),
    ("neck_length_mm", "float64", "neck length"),
    ("aneurysm_found", "bool", "max diameter > 1.2 x neck"),
    ("lumen_volume_ml", "float64", "lumen volume"),
    ("thrombus_volume_ml", "float64", "thrombus (ILT) volume"),
    ("max_ilt_thickness_mm", "float64", "maximum ILT thickness"),
    ("tortuosity", "float64", "centreline length / chord"),
    ("pws_MPa", "float64", "peak wall stress (first principal)"),
    ("pws_vm_MPa", "float64", "peak von Mises stress"),
    ("pws99_MPa", "float64", "99th volume percentile of the wall stress"),
    ("pwri", "float64", "peak wall rupture index (max stress/strength)"),
    ("strength_at_pwri_MPa", "float64", "wall strength where the PWRI is"),
    ("min_strength_MPa", "float64", "lowest wall strength"),
    ("strength_extrapolated_fraction", "float64", "wall fraction outside the strength data"),
    ("strength_floored_fraction", "float64", "wall fraction at the strength floor"),
    ("diameter_rule", "string", "clinical rule: repair indicated | surveillance | no aneurysm"),
    ("diameter_threshold_mm", "float64", "threshold of the rule for this sex"),
    ("annual_rupture_risk", "string", "annual rupture risk band by diameter"),
    ("pwri_verdict", "string", "biomechanical verdict: PWRI >= 1 | PWRI < 1"),
    ("verdicts_disagree", "bool", "diameter rule and PWRI verdict disagree"),
    ("samples", "int64", "uncertainty samples asked for"),
    ("samples_ok", "int64", "samples solved"),
    ("samples_failed", "int64", "samples that failed (excluded from p)"),
    ("p_rupture", "float64", "P(PWRI > 1) over the samples"),
    ("p_ci_low", "float64", "95 % Clopper-Pearson interval, low"),
    ("p_ci_high", "float64", "95 % Clopper-Pearson interval, high"),
    ("p_ci_high_if_failed_exceed", "float64", "interval high if every failed sample exceeded"),
    ("pwri_mean", "float64", "mean PWRI over the samples"),
    ("pwri_sd", "float64", "standard deviation of the PWRI over the samples"),
    ("pwri_p5", "float64", "5th percentile of the sampled PWRI"),
    ("pwri_p50", "float64", "median of the sampled PWRI"),
    ("pwri_p95", "float64", "95th percentile of the sampled PWRI"),
    ("dominant_input", "string", "input with the largest |PRCC| on the PWRI"),
    ("zero_pressure_iterations", "int64", "backward-displacement iterations"),
    ("zero_pressure_error_mm", "float64", "reloaded vs imaged surface, max"),
    ("mesh_points", "int64", "mesh nodes"),
    ("mesh_cells", "int64", "mesh cells"),
    ("min_scaled_jacobian", "float64", "worst cell quality"),
    ("n_warnings", "int64", "warnings of the case"),
    ("warnings", "string", "the warnings, joined by ' | '"),
    ("wall_time_s", "float64", "compute time of the case: nominal + samples + outputs"),
    ("measure_s", "float64", "reading and measuring the input"),
    ("mesh_s", "float64", "meshing"),
    ("zero_pressure_s", "float64", "nominal zero-pressure geometry"),
    ("systolic_s", "float64", "nominal systolic solve"),
    ("samples_s", "float64", "uncertainty samples, summed over their tasks"),
    ("report_s", "float64", "report.html and renders"),
    ("case_seed", "int64", "sampling seed of the case (from the cohort seed and the id)"),
    ("inputs_hash", "string", "SHA-256 of the row, input file, seed and samples (--resume)"),
    ("case_dir", "string", "per-case outputs, relative to the batch folder"),
)
COLUMN_NAMES = tuple(c for c, _, _ in SCHEMA)


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, Mapping):
            return None
        d = d.get(key)
    return d


def _float(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _int(x: Any) -> int | None:
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)  # exact (a 63-bit seed does not survive float)
    v = _float(x)
    return None if v is None else int(v)


def _bool(x: Any) -> bool | None:
    return bool(x) if isinstance(x, (bool, np.bool_)) else None


def _str(x: Any) -> str | None:
    return None if x is None else str(x)


def biomechanical_verdict(pwri: float | None) -> str | None:
    """"PWRI >= 1" (the stress reaches the estimated strength somewhere) or "PWRI < 1"."""
    if pwri is None:
        return None
    return "PWRI >= 1" if pwri >= PWRI_THRESHOLD else "PWRI < 1"


def pwri_moments(results: list[Mapping]) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof 1) of the PWRI of the successful samples."""
    v = np.array([float(r["pwri"]) for r in results
                  if r.get("status", "ok") == "ok" and _float(r.get("pwri")) is not None])
    mean = float(v.mean()) if v.size else None
    sd = float(v.std(ddof=1)) if v.size >= 2 else None
    return mean, sd


def record_from_summary(summary: Mapping, *, resumed: bool = False) -> dict[str, Any]:
    """The case's cohort row from its summary.json (``summary["cohort"]`` identifies it)."""
    co = summary.get("cohort") or {}
    inputs = summary.get("inputs") or {}
    values = co.get("values") or {}
    meas = summary.get("measurements") or {}
    prob = summary.get("rupture_probability") or {}
    timings = summary.get("timings_s") or {}
    warns = summary.get("warnings") or []
    pwri = _float(summary.get("pwri"))
    rule = _get(summary, "diameter_rule", "verdict")
    verdict = biomechanical_verdict(pwri)
    disagree = None
    if rule is not None and verdict is not None:
        disagree = (rule == "repair indicated") != (verdict == "PWRI >= 1")
    fam = inputs.get("family_history")
    rec = {
        "id": _str(co.get("id")),
        "status": _str(summary.get("status")),
        "error": _str(summary.get("error")),
        "error_type": _str(co.get("error_type")),
        "resumed": bool(resumed),
        "row": _int(co.get("row")),
        "input": _str(inputs.get("input", values.get("input"))),
        "sex": _str(inputs.get("sex", values.get("sex"))),
        "family_history": _bool(fam),
        "systolic_mmHg": _float(inputs.get("systolic_mmHg")),
        "diastolic_mmHg": _float(inputs.get("diastolic_mmHg")),
        "imaging_pressure": _str(inputs.get("imaging_pressure")),
        "wall_thickness_mm": _float(inputs.get("wall_thickness_mm")),
        "element_size_mm": _float(inputs.get("element_size_mm")),
        "max_diameter_mm": _float(summary.get("max_diameter_mm", meas.get("max_diameter_mm"))),
        "neck_diameter_mm": _float(summary.get("neck_diameter_mm",
                                               meas.get("neck_diameter_mm"))),
        "neck_length_mm": _float(meas.get("neck_length_mm")),
        "aneurysm_found": _bool(meas.get("aneurysm_found")),
        "lumen_volume_ml": _float(meas.get("lumen_volume_ml")),
        "thrombus_volume_ml": _float(meas.get("thrombus_volume_ml")),
        "max_ilt_thickness_mm": _float(meas.get("max_ilt_thickness_mm")),
        "tortuosity": _float(meas.get("tortuosity")),
        "pws_MPa": _float(summary.get("pws_MPa")),
        "pws_vm_MPa": _float(summary.get("pws_vm_MPa")),
        "pws99_MPa": _float(summary.get("pws99_MPa")),
        "pwri": pwri,
        "strength_at_pwri_MPa": _float(summary.get("strength_at_pwri_MPa")),
        "min_strength_MPa": _float(summary.get("min_strength_MPa")),
        "strength_extrapolated_fraction": _float(summary.get("strength_extrapolated_fraction")),
        "strength_floored_fraction": _float(summary.get("strength_floored_fraction")),
        "diameter_rule": _str(rule),
        "diameter_threshold_mm": _float(_get(summary, "diameter_rule", "threshold_mm")),
        "annual_rupture_risk": _str(_get(summary, "diameter_rule", "annual_rupture_risk")),
        "pwri_verdict": verdict,
        "verdicts_disagree": disagree,
        "samples": _int(co.get("samples")),
        "samples_ok": _int(prob.get("n")),
        "samples_failed": _int(prob.get("n_failed")),
        "p_rupture": _float(prob.get("p")),
        "p_ci_low": _float(prob.get("ci_low")),
        "p_ci_high": _float(prob.get("ci_high")),
        "p_ci_high_if_failed_exceed": _float(prob.get("ci_high_if_failed_exceed")),
        "pwri_mean": _float(prob.get("pwri_mean")),
        "pwri_sd": _float(prob.get("pwri_sd")),
        "pwri_p5": _float(_get(prob, "pwri_quantiles", "p5")),
        "pwri_p50": _float(_get(prob, "pwri_quantiles", "p50")),
        "pwri_p95": _float(_get(prob, "pwri_quantiles", "p95")),
        "dominant_input": _str(prob.get("dominant_input")),
        "zero_pressure_iterations": _int(_get(summary, "zero_pressure", "iterations")),
        "zero_pressure_error_mm": _float(_get(summary, "zero_pressure", "max_surface_error_mm")),
        "mesh_points": _int(_get(summary, "mesh", "n_points")),
        "mesh_cells": _int(_get(summary, "mesh", "n_cells")),
        "min_scaled_jacobian": _float(_get(summary, "mesh", "min_scaled_jacobian")),
        "n_warnings": len(warns),
        "warnings": " | ".join(str(w) for w in warns) or None,
        "wall_time_s": _float(timings.get("total_s")),
        "measure_s": _float(timings.get("measure_s")),
        "mesh_s": _float(timings.get("mesh_s")),
        "zero_pressure_s": _float(timings.get("zero_pressure_s")),
        "systolic_s": _float(timings.get("systolic_s")),
        "samples_s": _float(timings.get("samples_s")),
        "report_s": _float(timings.get("report_s")),
        "case_seed": _int(co.get("case_seed")),
        "inputs_hash": _str(co.get("inputs_hash")),
        "case_dir": None if co.get("id") is None else f"cases/{co['id']}",
    }
    assert tuple(rec) == COLUMN_NAMES
    return rec
