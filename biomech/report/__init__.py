"""Self-contained HTML reports: the AAA rupture-risk report and the building blocks for others.

``write_aaa_report`` writes one ``report.html`` with no network references (inline CSS, inline
WebGL viewer, inline SVG plots); ``html``, ``viewer``, ``figures`` and ``renders`` are the
reusable parts (page and tables, 3D view, plots, static PNG renders).
"""

from biomech.report.aaa import write_aaa_report
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
from biomech.report.stent import write_stent_report
from biomech.report.viewer import Field, Marker, viewer_block

__all__ = [
    "AAA_FORMULAS",
    "AAA_SOURCES",
    "Card",
    "Field",
    "Html",
    "Marker",
    "bullet_list",
    "esc",
    "figure",
    "inline_png",
    "inline_svg",
    "key_value_table",
    "page",
    "section",
    "table",
    "verdict_box",
    "viewer_block",
    "write_aaa_report",
    "write_atomic",
    "write_stent_report",
]
