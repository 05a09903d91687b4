"""The cohort report: one self-contained ``DIR/report.html`` over every case of a batch.

PWRI against maximum diameter, the diameter rule against the biomechanical verdict (a 2 × 2
table: the disagreements are the clinically interesting cases), distributions, every case with
a link to its own report, the slowest cases and the failed ones with their errors. Built from
the cohort records (``biomech.cohort.records``) with the blocks of ``biomech.report.html``;
plots are inline SVG, nothing is loaded from the network.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from biomech.cohort.records import _float as _num
from biomech.cohort.table import ROW_ERROR
from biomech.report import formatting as fmt
from biomech.report.figures import _RC, svg_of
from biomech.report.html import (
    Card,
    Html,
    bullet_list,
    esc,
    figure,
    inline_svg,
    page,
    section,
    table,
    verdict_box,
    write_atomic,
)

__all__ = ["write_cohort_report"]

TITLE = "Cohort rupture-risk report"
REPAIR, SURVEILLANCE, NO_ANEURYSM = "repair indicated", "surveillance", "no aneurysm"
RULE_VERDICTS = (REPAIR, SURVEILLANCE, NO_ANEURYSM)
HIGH, LOW = "PWRI >= 1", "PWRI < 1"
SLOWEST = 10
SEX_STYLE = {"male": ("#2c4a6e", "o"), "female": ("#b3261e", "s")}


def _q(x, unit: str = "", digits: int = 3) -> str:
    return fmt.quantity(_num(x), unit, digits)


def _pct(x) -> str:
    v = _num(x)
    return fmt.NOT_COMPUTED if v is None else f"{fmt.number(100 * v)} %"


def _link(rec: Mapping) -> Html:
    cid = str(rec["id"])
    if rec.get("status") != "ok":
        return esc(cid)
    return Html(f'<a href="cases/{esc(cid)}/report.html">{esc(cid)}</a>')


def _ok(records: Sequence[Mapping]) -> list[Mapping]:
    return [r for r in records if r.get("status") == "ok"]


# --- figures -----------------------------------------------------------------------------


def scatter_svg(records: Sequence[Mapping]) -> str:
    """PWRI (nominal; bars: 5–95 % of the samples) against maximum diameter, by sex, with the
    repair thresholds (50 mm women, 55 mm men) and PWRI = 1."""
    import matplotlib
    from matplotlib.figure import Figure

    ok = [r for r in _ok(records) if _num(r.get("pwri")) is not None
          and _num(r.get("max_diameter_mm")) is not None]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.2, 4.4))
        ax = fig.subplots()
        for sex, (color, marker) in SEX_STYLE.items():
            sel = [r for r in ok if r.get("sex") == sex]
            if not sel:
                continue
            x = np.array([r["max_diameter_mm"] for r in sel], float)
            y = np.array([r["pwri"] for r in sel], float)
            lo = np.array([_num(r.get("pwri_p5")) or np.nan for r in sel])
            hi = np.array([_num(r.get("pwri_p95")) or np.nan for r in sel])
            has = np.isfinite(lo) & np.isfinite(hi)
            if has.any():
                ax.errorbar(x[has], y[has], yerr=[np.maximum(y[has] - lo[has], 0),
                                                  np.maximum(hi[has] - y[has], 0)],
                            fmt="none", ecolor=color, alpha=0.45, lw=1.0)
            ax.scatter(x, y, c=color, marker=marker, s=28, label=sex, zorder=3)
            if len(ok) <= 40:
                for r in sel:
                    ax.annotate(str(r["id"]), (r["max_diameter_mm"], r["pwri"]), fontsize=7,
                                xytext=(3, 3), textcoords="offset points", color="#5b6675")
        ax.axhline(1.0, color="#6a3d9a", ls="--", lw=1.0)
        ax.annotate("PWRI = 1", (0.01, 1.0), xycoords=("axes fraction", "data"), va="bottom",
                    fontsize=8, color="#6a3d9a")
        for sex, d in (("female", 50.0), ("male", 55.0)):
            ax.axvline(d, color=SEX_STYLE[sex][0], ls=":", lw=1.0)
            ax.annotate(f"{d:g} mm ({sex})", (d, 0.99), xycoords=("data", "axes fraction"),
                        rotation=90, va="top", ha="right", fontsize=7, color=SEX_STYLE[sex][0])
        ax.set_xlabel("Maximum diameter [mm]")
        ax.set_ylabel("PWRI [–]")
        ax.set_ylim(0.0, max([1.15] + [1.05 * float(r.get("pwri_p95") or r["pwri"]) for r in ok]))
        ax.grid(alpha=0.3, lw=0.5)
        if ok:
            ax.legend(loc="center left", frameon=False)
        return svg_of(fig)


def histograms_svg(records: Sequence[Mapping]) -> str:
    """Histograms of maximum diameter, PWS, PWRI and, with samples, P(PWRI > 1)."""
    import matplotlib
    from matplotlib.figure import Figure

    ok = _ok(records)
    panels = [("max_diameter_mm", "Maximum diameter [mm]"), ("pws_MPa", "PWS [MPa]"),
              ("pwri", "PWRI [–]")]
    if any(_num(r.get("p_rupture")) is not None for r in ok):
        panels.append(("p_rupture", "P(PWRI > 1) [–]"))
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.2, 1.9 * math.ceil(len(panels) / 2) + 0.4))
        axes = np.atleast_1d(fig.subplots(math.ceil(len(panels) / 2), 2)).ravel()
        for ax, (key, xlabel) in zip(axes, panels):
            v = np.array([_num(r.get(key)) for r in ok if _num(r.get(key)) is not None])
            if v.size:
                ax.hist(v, bins=min(max(int(np.sqrt(v.size)) + 1, 3), 20), color="#2c4a6e",
                        alpha=0.85, edgecolor="white",
                        range=(0.0, 1.0) if key == "p_rupture" else None)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("cases")
            if key == "pwri":
                ax.axvline(1.0, color="#6a3d9a", ls="--", lw=1.0)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        fig.tight_layout()
        return svg_of(fig)


# --- sections ----------------------------------------------------------------------------


def confusion(records: Sequence[Mapping]) -> dict[tuple[str, str], list[str]]:
    """Case ids by (diameter rule verdict, PWRI verdict), successful cases only."""
    cells: dict[tuple[str, str], list[str]] = {(a, b): [] for a in RULE_VERDICTS
                                               for b in (HIGH, LOW)}
    for r in _ok(records):
        key = (r.get("diameter_rule"), r.get("pwri_verdict"))
        if key in cells:
            cells[key].append(str(r["id"]))
    return cells


def _ids(ids: list[str], limit: int = 30) -> str:
    more = f" … and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def _two_by_two(records: Sequence[Mapping]) -> Html:
    cells = confusion(records)
    n = sum(len(v) for v in cells.values())

    def cell(a: str, b: str) -> Html:
        ids = cells[(a, b)]
        disagree = (a == REPAIR) != (b == HIGH)
        style = ' style="background:var(--alarm-bg)"' if disagree and ids else ""
        text = f"<b>{len(ids)}</b>" + (f"<br><span class='note'>{esc(_ids(ids))}</span>"
                                       if ids else "")
        return Html(f"<td{style}>{text}</td>")

    rows = "".join(
        f"<tr><th>Diameter rule: {esc(a)}</th>{cell(a, HIGH)}{cell(a, LOW)}</tr>"
        for a in RULE_VERDICTS)
    tab = Html(f"<table><thead><tr><th></th><th>Biomechanical: {esc(HIGH)}</th>"
               f"<th>Biomechanical: {esc(LOW)}</th></tr></thead><tbody>{rows}</tbody></table>")
    dis = [r for r in _ok(records) if r.get("verdicts_disagree")]
    note = Html(
        f"<p class='note'>{n} successful case(s). Shaded cells: the two verdicts disagree "
        "(large aneurysms with low wall stress relative to strength, or small ones whose wall "
        "is loaded to its estimated strength). Biomechanical verdict: nominal PWRI ≥ 1, i.e. "
        "the stress reaches the estimated strength somewhere in the scored wall. Diameter rule: "
        "repair above 55 mm (men) / 50 mm (women) or growth above 10 mm/year.</p>")
    blocks = [tab, note]
    if dis:
        blocks.append(Html("<h3>Cases where the verdicts disagree</h3>"))
        blocks.append(table(
            [(_link(r), r.get("sex") or "", _q(r.get("max_diameter_mm"), "mm"),
              r.get("diameter_rule"), _q(r.get("pwri")),
              _pct(r.get("p_rupture")) if r.get("p_rupture") is not None else "–",
              _q(r.get("pws_MPa"), "MPa")) for r in dis],
            ("Case", "Sex", "Max diameter", "Diameter rule", "PWRI", "P(PWRI > 1)", "PWS")))
    return section("Diameter rule and biomechanical verdict", *blocks, anchor="verdicts")


def _overview(records: Sequence[Mapping], info: Mapping) -> Html:
    ok = _ok(records)
    failed = len(records) - len(ok)
    dis = sum(bool(r.get("verdicts_disagree")) for r in ok)
    high = sum(r.get("pwri_verdict") == HIGH for r in ok)
    repair = sum(r.get("diameter_rule") == REPAIR for r in ok)
    none = sum(r.get("diameter_rule") == NO_ANEURYSM for r in ok)
    compute = sum(_num(r.get("wall_time_s")) or 0.0 for r in records if not r.get("resumed"))
    wall = _num(info.get("wall_s"))
    fresh = sum(not r.get("resumed") and r.get("error_type") != ROW_ERROR
                for r in records)  # the cases this batch ran
    rate = f"{fmt.number(3600.0 * fresh / wall)} cases/hour" if wall and fresh else "–"
    cards = [
        Card("Cases", f"{len(records)}", f"{len(ok)} ok · {failed} failed"
             + (f" · {info.get('n_resumed')} resumed" if info.get("n_resumed") else ""),
             "alarm" if failed else "ok"),
        Card("Diameter rule", f"{repair} repair", f"{len(ok) - repair - none} surveillance"
             + (f" · {none} no aneurysm" if none else "")),
        Card("PWRI ≥ 1", f"{high}", f"{len(ok) - high} with PWRI < 1",
             "alarm" if high else "neutral"),
        Card("Verdicts disagree", f"{dis}", "diameter rule vs PWRI", "alarm" if dis else "ok"),
        Card("Batch time", _q(wall, "s"),
             f"{rate} · compute {fmt.number(compute)} s on {info.get('workers', '?')} worker(s)"),
    ]
    headline = f"{len(ok)} of {len(records)} cases computed"
    note = (f"Seed {info.get('seed')}, {info.get('samples')} uncertainty sample(s) per case "
            "unless the cohort file says otherwise. Research software, not a medical device.")
    return verdict_box(headline, "alarm" if failed else "ok", cards, note)


def _cases_table(records: Sequence[Mapping]) -> Html:
    rows = []
    for r in records:
        ci = "–"
        if _num(r.get("p_rupture")) is not None:
            ci = f"{_pct(r['p_rupture'])} ({_pct(r.get('p_ci_low'))} – {_pct(r.get('p_ci_high'))})"
        rows.append((_link(r), r.get("status"), r.get("sex") or "",
                     _q(r.get("max_diameter_mm"), "mm"), r.get("diameter_rule") or "–",
                     _q(r.get("pws_MPa"), "MPa"), _q(r.get("pws99_MPa"), "MPa"),
                     _q(r.get("pwri")), ci, _q(r.get("wall_time_s"), "s")
                     + (" (resumed)" if r.get("resumed") else "")))
    return section("All cases", table(rows, ("Case", "Status", "Sex", "Max diameter",
                                             "Diameter rule", "PWS", "PWS99", "PWRI",
                                             "P(PWRI > 1) (95 % CI)", "Compute time")),
                   anchor="cases")


def _slowest(records: Sequence[Mapping]) -> Html:
    timed = [r for r in records if _num(r.get("wall_time_s")) is not None]
    timed.sort(key=lambda r: -float(r["wall_time_s"]))
    rows = [(_link(r), _q(r.get("wall_time_s"), "s"), _q(r.get("measure_s"), "s"),
             _q(r.get("mesh_s"), "s"), _q(r.get("zero_pressure_s"), "s"),
             _q(r.get("samples_s"), "s") if r.get("samples_s") is not None else "–",
             _q(r.get("report_s"), "s"), fmt.value(r.get("mesh_cells"), missing="–"))
            for r in timed[:SLOWEST]]
    body = table(rows, ("Case", "Compute time", "Measure", "Mesh", "Zero-pressure", "Samples",
                        "Report", "Cells")) if rows else Html("<p>none timed</p>")
    return section(f"Slowest cases (top {SLOWEST})", body, anchor="slowest")


def _failed(records: Sequence[Mapping]) -> Html:
    bad = [r for r in records if r.get("status") != "ok"]
    if not bad:
        return section("Failed cases", Html("<p>none</p>"), anchor="failed")
    rows = [(r["id"], fmt.value(r.get("row")), r.get("error_type") or "", r.get("error") or "")
            for r in bad]
    return section("Failed cases", table(rows, ("Case", "Row", "Type", "Error")),
                   anchor="failed")


def write_cohort_report(out_dir: str | Path, records: Sequence[Mapping[str, Any]],
                        info: Mapping[str, Any]) -> Path:
    """Write ``out_dir/report.html`` (atomically) for the cohort ``records``; ``info``: the
    batch figures (seed, samples, workers, wall_s, n_resumed, cohort). Returns its path."""
    import biomech

    out_dir = Path(out_dir)
    ok = _ok(records)
    warnings = []
    if not ok:
        warnings.append("no case was computed: see Failed cases")
    body = [
        _overview(records, info),
        section("PWRI against maximum diameter",
                figure(inline_svg(scatter_svg(records)),
                       "Nominal PWRI of each computed case against its maximum diameter "
                       "(bars: 5th–95th percentile of the uncertainty samples, when sampled); "
                       "dotted: the diameter rule's thresholds; dashed: PWRI = 1."),
                anchor="scatter"),
        _two_by_two(records),
        section("Distributions", figure(inline_svg(histograms_svg(records)),
                                        "Computed cases only."), anchor="distributions"),
        _cases_table(records),
        _slowest(records),
        _failed(records),
        *([section("Warnings", bullet_list(warnings, cls="warnings"), anchor="warnings")]
          if warnings else []),
        Html(f"<footer>biomech {esc(biomech.__version__)} · self-contained report: nothing is "
             "loaded from the network · per-case reports in cases/&lt;id&gt;/report.html · "
             "research software, not a medical device</footer>"),
    ]
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sub = f"{info.get('cohort', '')} · generated {when} by biomech {biomech.__version__}"
    return write_atomic(out_dir / "report.html", page(TITLE, body, subtitle=sub))
