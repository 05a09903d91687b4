"""The AAA rupture-risk report: one self-contained ``report.html`` (+ optional PNG renders).

Stresses in MPa (also shown in N/cm², 1 MPa = 100 N/cm²), lengths in mm, RPI/PWRI
dimensionless, probabilities as fractions in the summary and percent in the report.
Every summary key is optional: a missing or NaN value reads "not computed".
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from biomech.report import formatting as fmt
from biomech.report.figures import profile_svg
from biomech.report.html import (
    Card,
    Html,
    bullet_list,
    esc,
    figure,
    inline_png,
    inline_svg,
    key_value_table,
    page,
    section,
    table,
    verdict_box,
    write_atomic,
)
from biomech.report.references import AAA_FORMULAS, AAA_SOURCES
from biomech.report.renders import Render, render_pngs
from biomech.report.viewer import Field, Marker, viewer_block

__all__ = ["SURFACE_FIELDS", "write_aaa_report"]

log = logging.getLogger(__name__)

TITLE = "AAA rupture-risk report"
SURFACE_FIELDS = (  # shown when present on the surface, in this order
    Field("stress_MPa", "First principal stress", "MPa"),
    Field("rpi", "Rupture potential index", ""),
    Field("strength_MPa", "Wall strength", "MPa"),
    Field("ilt_thickness_mm", "ILT thickness", "mm"),
)
PNG_RENDERS = (
    Render("stress_MPa", "First principal stress [MPa]", "wall_stress.png"),
    Render("rpi", "Rupture potential index [-]", "rupture_index.png"),
)
PWS_COLOR, PWRI_COLOR = "#e6194b", "#f032e6"
_SHOWN = {  # summary keys with a place of their own in the report
    "pws_MPa",
    "pws_vm_MPa",
    "pws99_MPa",
    "pws_location_mm",
    "pwri",
    "pwri_location_mm",
    "max_diameter_mm",
    "diameter_rule",
    "rupture_probability",
    "inputs",
    "zero_pressure",
    "verification",
    "end_support_sensitivity",
    "rred_mm",
    "rred",
    "warnings",  # shown in Warnings when no list is passed
    "sources",  # the report lists its own sources
    "status",
}
_PROBABILITY_FRACTIONS = {"p", "ci_low", "ci_high", "ci_high_if_failed_exceed", "confidence"}
_GCI_FRACTIONS = {"gci_fine", "gci_coarse", "e_a", "e_ext", "tolerance"}  # shown in percent
_PROBABILITY_LABELS = {
    "p": "Probability p",
    "n": "Samples used",
    "n_exceed": "Samples exceeding the threshold",
    "n_failed": "Failed samples",
    "ci_high_if_failed_exceed": "CI high if every failed sample exceeded",
}
_END_FRACTIONS = {"pws_change", "pws99_change", "pwri_change", "tolerance"}  # shown in percent
_END_LABELS = {
    "pws_change": "PWS change",
    "pws99_change": "PWS99 change",
    "pwri_change": "PWRI change",
    "tolerance": "Tolerance (a warning above it)",
}
_GCI_LABELS = {  # GCIResult fields (biomech.aaa.gci) by their names in Celik et al. 2008
    "p": "Observed order p",
    "phi_ext": "Extrapolated value φ_ext",
    "e_a": "Approximate relative error e_a",
    "e_ext": "Extrapolated relative error e_ext",
    "gci_fine": "GCI, fine grid",
    "gci_coarse": "GCI, coarse grid",
    "r21": "Refinement ratio r21",
    "r32": "Refinement ratio r32",
}


def _num(x) -> float | None:
    """A finite float, or None for anything missing, non-numeric or NaN."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _stress(x) -> str:
    v = _num(x)
    return fmt.NOT_COMPUTED if v is None else f"{fmt.number(v)} MPa ({fmt.number(100 * v)} N/cm²)"


def _percent(x) -> str:
    v = _num(x)
    return fmt.NOT_COMPUTED if v is None else f"{fmt.number(100 * v)} %"


def _rule(summary: Mapping) -> tuple[str, str, list[str], float | None]:
    """(verdict, level, reasons, threshold mm) of the diameter rule, however it was given."""
    rule = summary.get("diameter_rule")
    if rule is None:
        return fmt.NOT_COMPUTED, "unknown", [], None
    if not isinstance(rule, Mapping):
        rule = {"verdict": str(rule)}
    verdict = str(rule.get("verdict") or fmt.NOT_COMPUTED)
    low = verdict.lower()
    level = ("alarm" if "repair" in low else
             "ok" if "surveillance" in low or "no aneurysm" in low else "unknown")
    reasons = rule.get("reasons", rule.get("reason", []))
    reasons = [str(reasons)] if isinstance(reasons, str) else [str(r) for r in reasons or []]
    return verdict, level, reasons, _num(rule.get("threshold_mm"))


def _verdict(summary: Mapping, n_warnings: int) -> Html:
    verdict, level, reasons, threshold = _rule(summary)
    rule = summary.get("diameter_rule") if isinstance(summary.get("diameter_rule"), Mapping) else {}
    d_detail = list(reasons)
    if threshold is not None and not reasons:
        inputs = summary.get("inputs") if isinstance(summary.get("inputs"), Mapping) else {}
        sex = rule.get("sex") or inputs.get("sex")
        d_detail.append(f"threshold {fmt.number(threshold)} mm" + (f" ({sex})" if sex else ""))
    if rule.get("annual_rupture_risk"):
        d_detail.append(f"annual rupture risk {rule['annual_rupture_risk']}")
    pws = _num(summary.get("pws_MPa"))
    pws_detail = [f"{fmt.number(100 * pws)} N/cm²"] if pws is not None else []
    pws_detail.append(f"PWS99 {_stress(summary.get('pws99_MPa'))}")
    if "pws_vm_MPa" in summary:
        pws_detail.append(f"von Mises {_stress(summary.get('pws_vm_MPa'))}")
    if summary.get("pws_location_mm") is not None:
        pws_detail.append(f"at {fmt.point(summary['pws_location_mm'])}")
    pwri = _num(summary.get("pwri"))
    pwri_detail = []
    if pwri is not None and pwri >= 1.0:
        pwri_detail.append("≥ 1: local stress exceeds estimated strength")
    if summary.get("pwri_location_mm") is not None:
        pwri_detail.append(f"at {fmt.point(summary['pwri_location_mm'])}")
    cards = [
        Card(
            "Max diameter",
            fmt.quantity(_num(summary.get("max_diameter_mm")), "mm"),
            " · ".join(d_detail),
            level,
        ),
        Card("Peak wall stress (PWS)", fmt.quantity(pws, "MPa"), " · ".join(pws_detail)),
        Card(
            "Peak wall rupture index (PWRI)",
            fmt.quantity(pwri),
            " · ".join(pwri_detail),
            "alarm" if pwri is not None and pwri >= 1.0 else "neutral",
        ),
        _probability_card(summary.get("rupture_probability")),
        _rred_card(summary),
    ]
    note = (
        "Biomechanical indices support, and do not replace, the clinical diameter rule. "
        "Research software, not a medical device."
    )
    if n_warnings:
        note = f"{n_warnings} warning(s): see Warnings below. " + note
    return verdict_box(f"Diameter rule: {verdict}", level, cards, note)


def _probability_card(prob) -> Card:
    if not isinstance(prob, Mapping) or _num(prob.get("p")) is None:
        return Card("Rupture probability", fmt.NOT_COMPUTED, "", "unknown")
    detail = []
    if _num(prob.get("threshold")) is not None:
        detail.append(f"P(PWRI > {fmt.number(prob['threshold'])})")
    if _num(prob.get("ci_low")) is not None and _num(prob.get("ci_high")) is not None:
        conf = _num(prob.get("confidence"))
        ci = f"{fmt.number(100 * conf)} % CI" if conf is not None else "CI"
        detail.append(f"{ci} {_percent(prob['ci_low'])} – {_percent(prob['ci_high'])}")
    n = next((_num(prob[k]) for k in ("samples", "n", "n_samples") if _num(prob.get(k))), None)
    if n is not None:
        detail.append(f"n = {fmt.number(int(n))} samples")
    if prob.get("dominant_input"):
        detail.append(f"dominant input: {prob['dominant_input']}")
    return Card("Rupture probability", _percent(prob["p"]), " · ".join(detail))


def _rred_card(summary: Mapping) -> Card:
    block = summary.get("rred") if isinstance(summary.get("rred"), Mapping) else {}
    rred = _num(summary.get("rred_mm", block.get("rred_mm")))
    if rred is None:
        return Card("RRED", "not reported", "no documented calibration", "unknown")
    return Card("RRED", fmt.quantity(rred, "mm"), "rupture-risk-equivalent diameter")


def _path_label(part: str) -> str:
    key, unit = fmt.split_unit(part)
    return fmt.label(key) + (f" ({unit})" if unit else "")


def _rows(
    d, fractions: set[str] = frozenset(), labels: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """Label/value rows of a nested dict; units from key suffixes, fractions in percent."""
    rows = []
    for path, v in fmt.flatten(d):
        key, unit = fmt.split_unit(path[-1])
        last = (labels or {}).get(path[-1], fmt.label(key))
        name = " › ".join([_path_label(p) for p in path[:-1]] + [last])
        if path[-1] in fractions and _num(v) is not None:
            text = _percent(v)
        elif isinstance(v, (list, tuple, np.ndarray)) and len(v) > 12:
            text = f"array of {len(v)} values"
        else:
            text = fmt.value(v, unit, missing=fmt.NOT_COMPUTED)
        rows.append((name, text))
    return rows


def _kv_section(
    title: str,
    d,
    anchor: str,
    fractions: set[str] = frozenset(),
    labels: Mapping[str, str] | None = None,
    empty: str = fmt.NOT_COMPUTED,
) -> Html:
    """A key/value table of a (nested) dict, or ``empty`` when there is none."""
    if not isinstance(d, Mapping) or not d:
        return section(title, Html(f"<p>{esc(empty)}</p>"), anchor=anchor)
    return section(title, key_value_table(_rows(d, fractions, labels)), anchor=anchor)


def _surface_fields(surface) -> list[Field]:
    if surface is None:
        return []
    names = set(surface.point_data) | set(surface.cell_data)
    return [f for f in SURFACE_FIELDS if f.array in names]


def _markers(summary: Mapping) -> list[Marker]:
    out = []
    for key, name, color in (
        ("pws_location_mm", "PWS", PWS_COLOR),
        ("pwri_location_mm", "PWRI", PWRI_COLOR),
    ):
        try:
            xyz = np.asarray(summary.get(key), dtype=float).ravel()
        except (TypeError, ValueError):
            continue
        if xyz.size == 3 and np.all(np.isfinite(xyz)):
            out.append(Marker(f"{name} location", tuple(float(x) for x in xyz), color))
    return out


def _viewer_section(surface, fields: list[Field], markers: list[Marker]) -> Html:
    if not fields:
        return section(
            "Wall stress and rupture index in 3D",
            Html("<p>not computed (the surface carries no stress or RPI data)</p>"),
            anchor="view3d",
        )
    block = viewer_block(
        surface,
        fields,
        markers,
        element_id="viewer3d",
        caption="Deformed wall at the analysed pressure.",
    )
    return section("Wall stress and rupture index in 3D", block, anchor="view3d")


def _renders_section(
    out_dir: Path, fields: list[Field], surface, markers: list[Marker], warnings: list[str]
) -> Html | None:
    names = {f.array for f in fields}
    wanted = []
    for r in PNG_RENDERS:
        if r.array in names:
            values = np.asarray(
                surface.point_data[r.array]
                if r.array in surface.point_data
                else surface.cell_data[r.array],
                dtype=float,
            )
            finite = values[np.isfinite(values)]
            clim = (float(finite.min()), float(finite.max())) if finite.size else None
            wanted.append(Render(r.array, r.title, r.file, r.cmap, clim))
    if not wanted:
        return None
    written, problems = render_pngs(
        surface, out_dir, wanted, [(m.label, m.xyz, m.color) for m in markers]
    )
    warnings.extend(problems)
    if not written:
        return None
    legend = "; ".join(
        f"{'red' if m.color == PWS_COLOR else 'magenta'} dot: {m.label}" for m in markers
    )
    figs = [
        figure(
            inline_png(p.read_bytes(), p.stem.replace("_", " ")),
            f"{r.title}, front view. {legend}".strip(),
        )
        for r in wanted
        for p in written
        if p.name == r.file
    ]
    return section(
        "Static views", Html('<div class="figs">' + "".join(figs) + "</div>"), anchor="static"
    )


def _profile_section(profile, threshold_mm: float | None) -> Html:
    if not profile:
        return section("Along the centerline", Html(f"<p>{fmt.NOT_COMPUTED}</p>"), anchor="profile")
    svg = inline_svg(profile_svg(profile, threshold_mm))
    cap = (
        "Maximum diameter and maximum first principal wall stress of each slab normal to "
        "the centerline, against arc length."
    )
    return section("Along the centerline", figure(svg, cap), anchor="profile")


def _reference_sections(formulas, sources) -> list[Html]:
    keys = {k for k, _ in sources}

    def cite(key: str) -> str:
        key = key.strip()
        return f'<a href="#src-{esc(_slug(key))}">{esc(key)}</a>' if key in keys else esc(key)

    rows = [
        (q, f, Html("; ".join(cite(k) for k in str(src).split(";"))) if src else "–")
        for q, f, src in formulas
    ]
    src = "".join(
        f'<tr id="src-{esc(_slug(k))}"><th>{esc(k)}</th><td>{esc(c)}</td></tr>' for k, c in sources
    )
    return [
        section("Formulas", table(rows, ("Quantity", "Formula", "Source")), anchor="formulas"),
        section(
            "Sources", Html(f'<table class="kv"><tbody>{src}</tbody></table>'), anchor="sources"
        ),
    ]


def _long_array(v) -> bool:
    """A per-element field (e.g. the RPI array) rather than a result to tabulate."""
    return isinstance(v, (list, tuple, np.ndarray)) and len(v) > 12


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def write_aaa_report(
    out_dir: str | Path,
    summary: dict,
    surface,
    profile: dict | None = None,
    warnings: list[str] | None = None,
    sources: list[tuple[str, str]] | None = None,
    formulas: list[tuple[str, str, str]] | None = None,
    renders: bool = True,
) -> Path:
    """Write ``out_dir/report.html`` (atomically) and, with ``renders``, the PNG renders.

    summary: rupture-risk results (``pws_MPa``, ``pwri``, ``max_diameter_mm`` [mm],
        ``diameter_rule``, ``rupture_probability`` {p, ci_low, ci_high as fractions}, ``inputs``,
        ``zero_pressure``, ``verification``, …); any key may be missing.
    surface: deformed wall surface (pyvista PolyData, mm) with point data ``stress_MPa`` (first
        principal Cauchy, MPa), ``rpi`` [–], optionally ``strength_MPa``, ``ilt_thickness_mm``.
    profile: equal-length arrays ``s_mm``, ``diameter_mm``, ``max_stress_MPa``, optional ``rpi``.
    warnings: shown in the report, with any raised while writing it (e.g. a failed render).
    sources, formulas: (key, citation) and (quantity, formula, source key); defaults
        ``AAA_SOURCES`` and ``AAA_FORMULAS``.
    renders: also write ``wall_stress.png`` and ``rupture_index.png`` (off-screen pyvista).
    Returns the path of report.html.
    """
    import biomech

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = dict(summary or {})
    if warnings is None:
        warnings = summary.get("warnings") or []
    notes = [str(w) for w in warnings]
    fields = _surface_fields(surface)
    if surface is not None and not {"stress_MPa", "rpi"} <= {f.array for f in fields}:
        notes.append("the surface lacks stress_MPa or rpi point data: the 3D view is incomplete")
    markers = _markers(summary)
    static = _renders_section(out_dir, fields, surface, markers, notes) if renders else None
    _, _, _, threshold = _rule(summary)
    prob = summary.get("rupture_probability")
    other = {k: v for k, v in summary.items() if k not in _SHOWN and not _long_array(v)}
    body = [
        _verdict(summary, len(notes)),
        _viewer_section(surface, fields, markers),
        *([static] if static is not None else []),
        _profile_section(profile, threshold),
        _kv_section(
            "Patient inputs and assumptions", summary.get("inputs"), "inputs", empty=fmt.NOT_GIVEN
        ),
        *(
            [
                _kv_section(
                    "Rupture probability",
                    prob,
                    "probability",
                    _PROBABILITY_FRACTIONS,
                    _PROBABILITY_LABELS,
                )
            ]
            if isinstance(prob, Mapping)
            else []
        ),
        _kv_section("Zero-pressure geometry", summary.get("zero_pressure"), "zero-pressure"),
        _kv_section(
            "Sensitivity to the support of the cut ends",
            summary.get("end_support_sensitivity"),
            "end-support",
            _END_FRACTIONS,
            _END_LABELS,
        ),
        _kv_section(
            "Calculation verification (grid convergence)",
            summary.get("verification"),
            "verification",
            _GCI_FRACTIONS,
            _GCI_LABELS,
        ),
        *([_kv_section("Other results", other, "other")] if other else []),
        section("Warnings", bullet_list(notes, "none", cls="warnings"), anchor="warnings"),
        *_reference_sections(
            AAA_FORMULAS if formulas is None else formulas,
            AAA_SOURCES if sources is None else sources,
        ),
        Html(
            f"<footer>biomech {esc(biomech.__version__)} · self-contained report: nothing is "
            "loaded from the network · research software, not a medical device</footer>"
        ),
    ]
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = page(TITLE, body, subtitle=f"Generated {when} by biomech {biomech.__version__}")
    path = write_atomic(out_dir / "report.html", text)
    log.info("wrote %s", path)
    return path
