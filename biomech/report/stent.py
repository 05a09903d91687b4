"""The stent-graft crash-test report: one self-contained ``report.html`` comparing the virtual
deployment of several catalogue devices in one patient's vessel, for the planning surgeon.

Lengths in mm, forces in N, wall stresses in MPa, contact pressures in kPa, oversizing,
apposition and strains in percent; the migration margin is dimensionless (friction capacity /
displacement force). Every summary value is optional: a missing or non-finite one reads "—".
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import biomech
from biomech.report import formatting as fmt
from biomech.report.aaa import _num
from biomech.report.html import (
    Card,
    Html,
    bullet_list,
    esc,
    figure,
    inline_png,
    key_value_table,
    page,
    section,
    table,
    verdict_box,
    write_atomic,
)
from biomech.report.viewer import MAX_TRIANGLES, Field, viewer_block

__all__ = ["ASSUMPTIONS", "write_stent_report"]

log = logging.getLogger(__name__)

TITLE = "Stent-graft crash-test"
MISSING = "—"
ASSUMPTIONS = (
    (
        "blood pressure stays on the lumen beside a bare stent; a deployed stent-graft's fabric "
        "takes it over, and the wall the graft spans (seal zones and sac) is relieved of it: "
        "a sealed graft without endoleak, unless a residual sac pressure is given (its share "
        "of the lumen pressure left on the covered wall, the fabric carrying the rest)"
    ),
    (
        "graft fabric is a tension-field membrane (no compression: it wrinkles), frictionless "
        "on the wall while it deploys, then under the blood pressure and held by friction: "
        "the seal is judged on it; "
        "where its deployment does not converge, the rings alone, the seal on the struts"
    ),
    (
        "device placed straight along the centreline chord of its span, crimped in a rigid "
        "frictionless catheter, released by opening the catheter; a bare device too long for "
        "a straight catheter in a tortuous vessel is wrapped onto the centreline instead, "
        "opened there by braid kinematics and let go"
    ),
    "quasi-static implicit solve: every reported state is an equilibrium (residual given)",
)
WALL_STRESS = Field("stress_MPa", "Wall stress", "MPa")
_COLUMNS = (  # comparison table: (header with unit, device key)
    ("Oversizing (%)", "oversizing_pct"),
    ("Seal length (mm)", "seal_length_mm"),
    ("Apposition (%)", "apposition_pct"),
    ("Fabric apposition (%)", "fabric_apposition_pct"),
    ("Max gap (mm)", "max_gap_mm"),
    ("Radial force (N)", "radial_force_N"),
    ("Peak strain (%)", "peak_strain_pct"),
    ("Crimped strain (%)", "crimp_strain_pct"),
    ("Alternating strain (%)", "alternating_strain_pct"),
    ("Migration margin", "migration_margin"),
    ("Fore\u00adshortening (%)", "foreshortening_pct"),
)
_LABELS = {  # keys whose generated label would mislead
    "oversizing_outer_pct": "Oversizing (outer diameter)",
    "migration_margin": "Migration margin (friction capacity / displacement force)",
    "residual_N": "Final force residual",
    "stabilisation_N": "Fabric stabilisation + out-of-balance force (error bound)",
    "strut_seal_length_mm": "Seal length on the struts",
    "pressure_through_fabric_N": "Blood pressure passed on to the wall by the fabric",
    "fabric_pressurised": "Fabric under blood pressure",
    "fabric_friction": "Sealed fabric held by friction",
    "sac_pressure_pct": "Residual sac pressure (% of the lumen pressure; endoleak)",
    "wall_s": "Solve time",
}
_COMPARE_CSS = Html(  # a wide table: smaller type, room for the reasons
    "<style>#comparison { overflow-x:auto; } table.compare { font-size:.8em; }"
    " table.compare th { hyphens:auto; }"
    " table.compare td:last-child { min-width:11em; }</style>"
)
_NOT_IN_TABLE = {"name", "description", "error", "reasons", "rank_reason", "files"}
_FILE_LABELS = {"pvd": "Deployment steps (ParaView .pvd)",
                "wall_pvd": "Vessel wall at each step (ParaView .pvd)",
                "wall": "Deformed vessel wall at systole"}
_SCHEME = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|//|\\\\)", re.IGNORECASE)


def _q(x, unit: str = "") -> str:
    """A finite number with its unit, else "—"."""
    v = _num(x)
    return MISSING if v is None else fmt.quantity(v, unit)


def _text(v, unit: str = "") -> str:
    """Any summary value as text; None, NaN, inf and empty containers read "—"."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return MISSING
    if isinstance(v, (Mapping, list, tuple, str)) and not v:
        return MISSING
    return fmt.value(v, unit, missing=MISSING)


def _rows(d: Mapping, skip: set[str] = frozenset()) -> list[tuple[str, str]]:
    """Label/value rows of a nested dict; units from the key suffixes."""
    rows = []
    for path, v in fmt.flatten({k: v for k, v in d.items() if k not in skip}):
        key, unit = fmt.split_unit(path[-1])
        last = _LABELS.get(path[-1], fmt.label(key))
        rows.append((" › ".join([*(fmt.label(p) for p in path[:-1]), last]), _text(v, unit)))
    return rows


def _kv(title: str, d, anchor: str) -> Html:
    if not isinstance(d, Mapping) or not d:
        return section(title, Html(f"<p>{MISSING}</p>"), anchor=anchor)
    return section(title, key_value_table(_rows(d)), anchor=anchor)


def _reasons(d: Mapping) -> list[str]:
    r = d.get("reasons")
    return [r] if isinstance(r, str) else [str(x) for x in r or []]


def _ordered(devices: Sequence[Mapping], ranking: Sequence) -> list[tuple[int, Mapping]]:
    """(catalogue index, device): ranked best first, then unranked, failed last."""
    pos = {str(n): i for i, n in enumerate(ranking)}

    def key(item: tuple[int, Mapping]) -> tuple:
        i, d = item
        name, rank = str(d.get("name")), _num(d.get("rank"))
        rank = pos.get(name, math.inf if rank is None else rank)
        return (d.get("status") == "failed", name not in pos, rank, i)

    return sorted(enumerate(devices), key=key)


def _name(i: int, d: Mapping) -> str:
    return str(d.get("name") or f"device {i + 1}")


def _status(d: Mapping) -> str:
    status = str(d.get("status") or MISSING)
    if status != "ok":
        return status
    return {True: "acceptable", False: "not acceptable"}.get(d.get("acceptable"), "solved")


def _notes(d: Mapping) -> str:
    if d.get("status") != "ok":
        return str(d.get("error") or MISSING)
    return "; ".join(str(x) for x in [d.get("rank_reason"), *_reasons(d)] if x) or MISSING


def _cards(d: Mapping) -> list[Card]:
    """The verdict cards of the recommended device."""

    def q(key: str, unit: str = "") -> str:
        return _q(d.get(key), unit)

    return [
        Card(
            "Oversizing", q("oversizing_pct", "%"), f"outer {q('oversizing_outer_pct', '%')}", "ok"
        ),
        Card("Seal length", q("seal_length_mm", "mm"), "", "ok"),
        Card("Apposition", q("apposition_pct", "%"), f"max gap {q('max_gap_mm', 'mm')}", "ok"),
        Card(
            "Migration margin",
            q("migration_margin"),
            f"friction {q('friction_capacity_N', 'N')} / "
            f"displacement {q('displacement_force_N', 'N')}",
            "ok",
        ),
    ]


def _verdict(summary: Mapping, ordered: list[tuple[int, Mapping]], n_notes: int) -> Html:
    ok = [(i, d) for i, d in ordered if d.get("status") == "ok" and d.get("acceptable") is True]
    headline = str(summary.get("recommendation") or "")
    if ok:
        headline, level, cards = headline or f"Recommended: {_name(*ok[0])}", "ok", _cards(ok[0][1])
    else:
        failed = sum(d.get("status") != "ok" for _, d in ordered)
        headline, level = (
            headline or "No candidate is acceptable",
            "alarm" if ordered else "unknown",
        )
        cards = [
            Card("Devices tested", str(len(ordered))),
            Card("Acceptable", "0", "", "alarm"),
            Card("Failed or rejected", str(failed), "see the comparison below"),
        ]
    note = (
        "Decision support for sizing, not a replacement for the instructions for use. "
        "Research software, not a medical device."
    )
    if summary.get("status") not in (None, "ok"):
        note = f"Run status: {summary['status']}. {note}"
    if n_notes:
        note = f"{n_notes} warning(s): see Warnings below. {note}"
    return verdict_box(headline, level, cards, note)


def _comparison(ordered: list[tuple[int, Mapping]]) -> Html:
    rows = []
    for i, d in ordered:
        link = Html(f'<a href="#device-{i}">{esc(_name(i, d))}</a>')
        pws = f"{_q(d.get('wall_pws_before_MPa'))} → {_q(d.get('wall_pws_after_MPa'))}"
        pws = MISSING if pws == f"{MISSING} → {MISSING}" else pws
        cols = [_q(d.get(key)) for _, key in _COLUMNS]
        rows.append([_q(d.get("rank")), link, _status(d), *cols, pws, _notes(d)])
    header = [
        "Rank",
        "Device",
        "Status",
        *(h for h, _ in _COLUMNS),
        "Wall PWS before → after (MPa)",
        "Rank reason / why not",
    ]
    return section(
        "Ranked comparison", _COMPARE_CSS, table(rows, header, cls="compare"), anchor="comparison"
    )


def _render(name: str, path, notes: list[str]) -> Html | None:
    try:
        png = Path(path).read_bytes()
    except (OSError, TypeError) as e:
        notes.append(f"render of {name} not read: {e}")
        return None
    return figure(inline_png(png, f"{name} deployed"), f"{name} after release in the vessel.")


def _files(files) -> Html:
    items = []
    for key, p in (files or {}).items() if isinstance(files, Mapping) else ():
        if not p:
            continue
        p = str(p).replace("\\", "/")
        target = esc(p) if _SCHEME.match(p) else Html(f'<a href="{esc(p)}">{esc(p)}</a>')
        items.append(Html(f"{esc(_FILE_LABELS.get(key, fmt.label(key)))}: {target}"))
    return bullet_list(items, MISSING)


def _device_section(i: int, d: Mapping, render: Path | None, notes: list[str]) -> Html:
    name = _name(i, d)
    rank = _num(d.get("rank"))
    title = f"{fmt.number(int(rank))}. {name}" if rank is not None else name
    title += "" if d.get("status") == "ok" else f" ({_status(d)})"
    parts = [Html(f"<p>{esc(d.get('description'))}</p>")] if d.get("description") else []
    if d.get("status") != "ok":
        parts.append(
            Html(
                f'<p class="error"><b>{esc(_status(d).capitalize())}:</b> '
                f"{esc(d.get('error') or MISSING)}</p>"
            )
        )
    if render is not None and (fig := _render(name, render, notes)) is not None:
        parts.append(fig)
    parts.append(key_value_table(_rows(d, _NOT_IN_TABLE)))
    if d.get("rank_reason"):
        parts.append(Html(f"<p><b>Rank:</b> {esc(d['rank_reason'])}</p>"))
    parts += [Html("<h3>Reasons and cautions</h3>"), bullet_list(_reasons(d), "none")]
    parts += [Html("<h3>Deployment files</h3>"), _files(d.get("files"))]
    return section(title, *parts, anchor=f"device-{i}")


def _viewer_section(surfaces: Mapping[str, tuple], notes: list[str]) -> Html:
    limit = max(15_000, MAX_TRIANGLES // max(len(surfaces), 1))  # keeps the page a few MB
    blocks = []
    for k, (name, pair) in enumerate(surfaces.items()):
        cap = (
            f"Vessel wall after deploying {name}, coloured by wall stress. The viewer draws "
            "one surface: the device itself is in the static render of its section."
        )
        try:
            block = viewer_block(
                pair[0], [WALL_STRESS], element_id=f"viewer-{k}", max_triangles=limit, caption=cap
            )
        except (ValueError, TypeError, AttributeError, IndexError) as e:
            notes.append(f"3D view of {name} not drawn: {e}")
            continue
        blocks.append(Html(f"<h3>{esc(name)}</h3>{block}"))
    content = blocks or [Html(f"<p>{MISSING}</p>")]
    return section("Vessel wall stress in 3D", *content, anchor="view3d")


def _criteria(criteria) -> Html:
    rows = [
        [_text(c.get("name")), _text(c.get("threshold")), _text(c.get("source"))]
        for c in criteria or []
        if isinstance(c, Mapping)
    ]
    body = table(rows, ("Criterion", "Threshold", "Source")) if rows else Html(f"<p>{MISSING}</p>")
    return section("Acceptance criteria", body, anchor="criteria")


def write_stent_report(
    out_dir: Path,
    summary: Mapping,
    *,
    renders: Mapping[str, Path] | None = None,
    surfaces: Mapping[str, tuple] | None = None,
) -> Path:
    """Write ``out_dir/report.html`` (atomically) and return its path.

    summary: the crash-test summary (``inputs``, ``vessel``, ``devices`` in catalogue order,
        ``ranking`` best first, ``recommendation``, ``criteria``, ``warnings``); any value may be
        missing. Device file paths (``files``) are relative to out_dir and linked as such.
    renders: device name → PNG file, embedded inline in the device's section.
    surfaces: device name → (deformed wall PolyData with point data ``stress_MPa`` [MPa],
        device PolyData); the wall is shown in an interactive 3D viewer, the device is not.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    devices = [d for d in summary.get("devices") or [] if isinstance(d, Mapping)]
    ordered = _ordered(devices, summary.get("ranking") or [])
    notes = [str(w) for w in summary.get("warnings") or []]
    renders = renders or {}
    device_sections = [_device_section(i, d, renders.get(_name(i, d)), notes) for i, d in ordered]
    view = [_viewer_section(surfaces, notes)] if surfaces else []
    inputs = summary.get("inputs") if isinstance(summary.get("inputs"), Mapping) else {}
    body = [
        _verdict(summary, ordered, len(notes)),
        _comparison(ordered),
        *device_sections,
        *view,
        _kv("Vessel", summary.get("vessel"), "vessel"),
        _kv("Inputs", inputs, "inputs"),
        _criteria(summary.get("criteria")),
        section("Warnings", bullet_list(notes, "none", cls="warnings"), anchor="warnings"),
        section("Assumptions", bullet_list(summary.get("assumptions") or ASSUMPTIONS),
                anchor="assumptions"),
        Html(
            f"<footer>biomech {esc(biomech.__version__)} · self-contained report: nothing is "
            "loaded from the network · research software, not a medical device</footer>"
        ),
    ]
    subtitle = " · ".join(
        f"{label}: {_text(inputs.get(key))}"
        for label, key in (("Input", "input"), ("catalogue", "catalogue"), ("landing", "landing"))
    )
    path = write_atomic(out_dir / "report.html", page(TITLE, body, subtitle=subtitle))
    log.info("wrote %s", path)
    return path
