"""The stent-graft crash-test report: self-contained HTML, the verdict, rank order, failed
devices with their error, inline renders, "—" for missing values, escaped text, 3D view."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib import pyplot as plt

from biomech.report.stent import write_stent_report

EVIL = "<script>alert(1)</script>"
FAILED_ERROR = "Newton did not converge at 62 % of the release (residual 3.1e-2 N)"


def device_ok() -> dict:
    """A solved, acceptable stent-graft ranked first; alternating strain not computed."""
    return {
        "name": "SG28",
        "type": "stent-graft",
        "description": "28 mm Z-ring stent-graft, PET fabric",
        "status": "ok",
        "error": None,
        "nominal_diameter_mm": 28.0,
        "length_mm": 100.0,
        "oversizing_pct": 16.7,
        "oversizing_outer_pct": 7.7,
        "apposition_pct": 96.4,
        "max_gap_mm": 0.42,
        "seal_length_mm": 17.3,
        "radial_force_N": 11.8,
        "mean_contact_pressure_kPa": 9.1,
        "peak_contact_pressure_kPa": 31.5,
        "peak_strain_pct": 4.1,
        "alternating_strain_pct": None,
        "wall_pws_before_MPa": 0.291,
        "wall_pws_after_MPa": 0.334,
        "landing_wall_stress_before_MPa": 0.12,
        "landing_wall_stress_after_MPa": 0.19,
        "foreshortening_pct": 3.2,
        "migration_margin": 2.6,
        "friction_capacity_N": 9.4,
        "displacement_force_N": 3.6,
        "dof": 48312,
        "contact_pairs": 1870,
        "newton_iterations": 143,
        "residual_N": 2.1e-7,
        "wall_s": 41.7,
        "acceptable": True,
        "reasons": ["peak contact pressure above 30 kPa at the proximal ring (caution)"],
        "rank": 1,
        "rank_reason": "longest seal at acceptable oversizing",
        "files": {"pvd": "SG28/deployment.pvd", "wall": "SG28/wall.vtu"},
    }


def device_failed() -> dict:
    return {
        "name": "SG32",
        "type": "stent-graft",
        "description": "32 mm Z-ring stent-graft",
        "status": "failed",
        "error": FAILED_ERROR,
        "nominal_diameter_mm": 32.0,
        "length_mm": 100.0,
        "oversizing_pct": 33.3,
        "acceptable": False,
        "reasons": [],
        "rank": None,
        "rank_reason": "",
        "files": {},
    }


def summary() -> dict:
    return {
        "status": "ok",
        "inputs": {
            "input": "patient07.vtu",
            "catalogue": "examples/stents/catalogue.toml",
            "landing": "neck",
            "landing_start_mm": 12.0,
            "systolic_mmHg": 140.0,
            "diastolic_mmHg": 80.0,
            "imaging_pressure_mmHg": 100.0,
            "friction": 0.3,
            "catheter_diameter_mm": 6.0,
            "wall_material": "raghavan-vorp",
        },
        "vessel": {
            "neck_diameter_mm": 27.1,
            "neck_lumen_diameter_mm": 24.0,
            "neck_length_mm": 18.5,
            "max_diameter_mm": 56.0,
            "centerline_length_mm": 142.0,
            "landing_lumen_diameter_mm": 24.0,
            "wall_pws_MPa": 0.291,
            "mesh": {"n_points": 21034, "n_cells": 61876},
        },
        "devices": [device_failed(), device_ok()],  # catalogue order: the failed one first
        "ranking": ["SG28"],
        "recommendation": "SG28: 16.7 % oversizing, 17.3 mm seal, no migration risk",
        "criteria": [
            {"name": "Oversizing", "threshold": "10–25 %", "source": "ESVS 2019 AAA guideline"},
            {"name": "Seal length", "threshold": "≥ 10 mm", "source": "IFU"},
        ],
        "warnings": ["neck angulation 62° above the IFU limit of 60°"],
        "timings_s": {"total": 95.2},
    }


@pytest.fixture(scope="module")
def png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("png") / "sg28.png"
    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    ax.plot([0, 1], [0, 1])
    fig.savefig(path)
    plt.close(fig)
    return path


@pytest.fixture(scope="module")
def text(tmp_path_factory, png) -> str:
    out = tmp_path_factory.mktemp("report")
    path = write_stent_report(out, summary(), renders={"SG28": png})
    assert path == out / "report.html" and path.is_file()
    assert [p.name for p in out.iterdir()] == ["report.html"]  # no temporary file left
    return path.read_text(encoding="utf-8")


def comparison(text: str) -> str:
    m = re.search(r'<section id="comparison">(.*?)</section>', text, re.DOTALL)
    assert m, "no comparison table"
    return m.group(1)


def test_report_references_nothing_on_the_network(text):
    refs = re.findall(r"""\b(src|href)\s*=\s*["']?([^"'\s>]*)""", text, re.IGNORECASE)
    assert refs
    for attr, target in refs:
        assert not re.match(r"(https?:|//|ftp:)", target, re.IGNORECASE), (attr, target)
        if attr.lower() == "src":
            assert target.startswith("data:"), target
        else:  # in-page anchors and the deployment files beside the report
            assert target.startswith(("#", "SG28/")), target
    assert not re.search(r"<link\b|@import|url\(\s*['\"]?(https?:|//)", text, re.IGNORECASE)
    assert "http://" not in text and "https://" not in text


def test_verdict_recommends_the_acceptable_device(text):
    verdict = re.search(r'<section class="verdict (\w+)" id="verdict">(.*?)</section>', text)
    assert verdict and verdict.group(1) == "ok"
    assert "SG28: 16.7 % oversizing, 17.3 mm seal, no migration risk" in verdict.group(2)
    assert ">16.7%<" in verdict.group(2) and ">17.3 mm<" in verdict.group(2)
    assert ">2.6<" in verdict.group(2)  # migration margin


def test_ranked_device_comes_first_and_failed_last_with_its_error(text):
    table = comparison(text)
    assert table.index(">SG28<") < table.index(">SG32<")  # not catalogue order
    assert FAILED_ERROR in table and "longest seal at acceptable oversizing" in table
    assert "0.291 → 0.334" in table
    assert f'<p class="error"><b>Failed:</b> {FAILED_ERROR}</p>' in text


def test_device_sections_render_links_and_missing_values(text):
    assert text.count("data:image/png;base64,") == 1  # only SG28 has a render
    assert "Alternating strain</th><td>—</td>" in text  # None in the summary
    assert "Radial force</th><td>11.8 N</td>" in text
    assert "Peak contact pressure</th><td>31.5 kPa</td>" in text
    assert '<a href="SG28/deployment.pvd">' in text and '<a href="SG28/wall.vtu">' in text
    assert "peak contact pressure above 30 kPa" in text
    assert "neck angulation 62°" in text and "ESVS 2019 AAA guideline" in text
    assert "a sealed graft without endoleak" in text
    assert "Systolic</th><td>140 mmHg</td>" in text and "Mesh › N points" in text


def test_no_acceptable_candidate(tmp_path):
    s = copy.deepcopy(summary())
    ok = s["devices"][1]
    ok.update(acceptable=False, reasons=["seal length 6 mm < 10 mm"], seal_length_mm=6.0)
    s["recommendation"] = "No candidate is acceptable: SG28 seal too short, SG32 failed"
    del s["inputs"]
    text = write_stent_report(tmp_path, s).read_text(encoding="utf-8")
    verdict = re.search(r'<section class="verdict (\w+)" id="verdict">(.*?)</section>', text)
    assert verdict and verdict.group(1) == "alarm"
    assert "No candidate is acceptable: SG28 seal too short" in verdict.group(2)
    assert "not acceptable" in comparison(text) and "seal length 6 mm &lt; 10 mm" in text
    assert "Input: —" in text  # the subtitle without inputs


def test_text_is_escaped(tmp_path):
    s = summary()
    s["devices"][1]["name"] = EVIL
    s["devices"][0]["error"] = EVIL
    text = write_stent_report(tmp_path, s, renders={EVIL: tmp_path / "missing.png"}).read_text()
    assert EVIL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "render of &lt;script&gt;" in text  # the unreadable render became a warning


def test_interactive_view_of_the_wall(tmp_path):
    pv = pytest.importorskip("pyvista")
    wall = pv.Cylinder(radius=12.0, height=60.0, resolution=24, capping=False).triangulate()
    wall.point_data["stress_MPa"] = np.linspace(0.1, 0.4, wall.n_points)
    device = pv.Cylinder(radius=11.0, height=40.0, resolution=12, capping=False)
    device.point_data["gap_mm"] = np.zeros(device.n_points)
    bare = wall.copy()
    bare.point_data.clear()
    surfaces = {"SG28": (wall, device), "SG32": (bare, device)}
    text = write_stent_report(tmp_path, summary(), surfaces=surfaces).read_text()
    assert 'id="viewer-0-data"' in text and 'id="viewer-1-data"' not in text
    assert "the device itself is in the static render" in text
    assert "3D view of SG32 not drawn" in text  # no stress on that wall: a warning, no crash
