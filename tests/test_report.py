"""The AAA report: one self-contained HTML file (no network), escaped text, atomic write, the
embedded mesh, "not computed" for missing results, and a headless Chromium run of its WebGL
viewer (SwiftShader) checked through the DOM and a screenshot."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

import biomech.report.renders as renders_mod
from biomech.aaa import diameter_rule, grid_convergence, rred_mm, rupture_indices
from biomech.report import Field, viewer_block, write_aaa_report
from biomech.report.html import write_atomic

CHROMIUM = Path("/usr/bin/chromium")
EVIL = "<script>alert(1)</script>"


def aneurysm_surface(resolution: int = 48) -> pv.PolyData:
    """A tube along z with a bulge at z = 60 mm; analytic stress, strength and RPI (MPa, –)."""
    s = (
        pv.Cylinder(
            center=(0, 0, 60),
            direction=(0, 0, 1),
            radius=1.0,
            height=120,
            resolution=resolution,
            capping=False,
        )
        .triangulate()
        .subdivide(2)
    )
    p = s.points.copy()
    theta = np.arctan2(p[:, 1], p[:, 0])
    bulge = np.exp(-(((p[:, 2] - 60.0) / 22.0) ** 2))
    r = 11.0 + 17.0 * bulge * (1.0 + 0.12 * np.cos(theta))
    s.points = np.column_stack([r * np.cos(theta), r * np.sin(theta), p[:, 2]])
    s.point_data["stress_MPa"] = 0.08 + 0.22 * bulge * (1.0 + 0.3 * np.sin(2.0 * theta))
    s.point_data["strength_MPa"] = 0.9 - 0.3 * bulge
    s.point_data["rpi"] = s.point_data["stress_MPa"] / s.point_data["strength_MPa"]
    return s


def full_summary(surface: pv.PolyData) -> dict:
    i, j = int(np.argmax(surface["stress_MPa"])), int(np.argmax(surface["rpi"]))
    return {
        "pws_MPa": 0.3661,
        "pws_vm_MPa": 0.27,
        "pws99_MPa": 0.2912,
        "pws_location_mm": surface.points[i].tolist(),
        "pwri": 0.6104,
        "pwri_location_mm": surface.points[j].tolist(),
        "max_diameter_mm": 58.4,
        "diameter_rule": diameter_rule(58.4, "male"),
        "rupture_probability": {
            "p": 0.032,
            "ci_low": 0.021,
            "ci_high": 0.047,
            "samples": 2000,
            "dominant_input": "wall strength",
        },
        "inputs": {
            "patient_id": EVIL,
            "sex": "male",
            "family_history": False,
            "systolic_mmHg": 140,
            "diastolic_mmHg": 85,
            "wall_thickness_mm": 1.5,
            "wall_material": {"model": "raghavan-vorp", "alpha_MPa": 0.174},
        },
        "zero_pressure": {"iterations": 6, "max_surface_error_mm": 0.04},
        "verification": {"p": 1.8, "gci_fine": 0.021, "convergence": "monotonic"},
    }


def profile() -> dict:
    s = np.linspace(0.0, 120.0, 61)
    bulge = np.exp(-(((s - 60.0) / 22.0) ** 2))
    return {"s_mm": s, "diameter_mm": 22.0 + 34.0 * bulge, "max_stress_MPa": 0.08 + 0.3 * bulge}


@pytest.fixture(scope="module")
def surface() -> pv.PolyData:
    return aneurysm_surface()


@pytest.fixture(scope="module")
def report(tmp_path_factory, surface) -> Path:
    """One full report, with renders (a child process, a few seconds)."""
    out = tmp_path_factory.mktemp("report")
    return write_aaa_report(
        out,
        full_summary(surface),
        surface,
        profile(),
        warnings=["mesh quality: 3 elements with scaled Jacobian < 0.2"],
    )


def viewer_data(text: str, element_id: str = "viewer3d") -> dict:
    m = re.search(
        rf'<script type="application/json" id="{element_id}-data">(.*?)</script>', text, re.DOTALL
    )
    assert m, "no embedded viewer data"
    return json.loads(m.group(1))


def decode(b64: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=dtype)


# --- the HTML file -----------------------------------------------------------------------------


def test_report_references_nothing_on_the_network(report):
    text = report.read_text(encoding="utf-8")
    refs = re.findall(r"""\b(src|href)\s*=\s*["']?([^"'\s>]*)""", text, re.IGNORECASE)
    assert refs, "expected data-URI images and in-page links"
    for attr, target in refs:
        assert not re.match(r"(https?:|//|ftp:)", target, re.IGNORECASE), (attr, target)
        assert target.startswith("data:" if attr.lower() == "src" else "#"), (attr, target)
    assert not re.search(r"<link\b|@import|url\(\s*['\"]?(https?:|//)", text, re.IGNORECASE)
    assert "http://" not in text and "https://" not in text  # not even SVG namespaces


def test_verdict_shows_formatted_values(report):
    text = report.read_text(encoding="utf-8")
    verdict = text[
        text.index('id="verdict"') : text.index("</section>", text.index('id="verdict"'))
    ]
    assert 'class="verdict alarm"' in text  # repair → red
    for shown in (
        "Diameter rule: repair indicated",
        "58.4 mm",
        "0.366 MPa",
        "36.6 N/cm²",
        "PWS99 0.291 MPa",
        "0.61",
        "3.2 %",
        "CI 2.1 % – 4.7 %",
        "wall strength",
        "not reported",
        "no documented calibration",
        "1 warning",
    ):
        assert shown in verdict, shown
    assert "Observed order p" in text and "2.1 %" in text  # GCI fraction shown in percent
    assert "Systolic</th><td>140 mmHg" in text and "Family history</th><td>no" in text


def test_input_text_is_escaped(report):
    text = report.read_text(encoding="utf-8")
    assert EVIL not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_embedded_mesh_decodes_to_the_surface(report, surface):
    data = viewer_data(report.read_text(encoding="utf-8"))
    pts = decode(data["positions"], "<f4").reshape(-1, 3)
    tris = decode(data["indices"], "<u4").reshape(-1, 3)
    n_tri = surface.triangulate().faces.size // 4
    assert pts.shape == (surface.n_points, 3) and tris.shape == (n_tri, 3)
    np.testing.assert_allclose(pts, surface.points, rtol=1e-6, atol=1e-5)
    assert tris.max() < surface.n_points
    stress = decode(data["fields"][0]["values"], "<f4")
    np.testing.assert_allclose(stress, surface["stress_MPa"], rtol=1e-6)
    assert data["fields"][0]["max"] == pytest.approx(surface["stress_MPa"].max())
    assert len(data["fields"]) == 3  # stress, RPI, strength (no ILT on this surface)
    assert len(data["markers"]) == 2


def test_profile_plot_and_renders(report):
    text = report.read_text(encoding="utf-8")
    assert "<svg" in text and "<?xml" not in text and "Arc length along the centerline" in text
    for name in ("wall_stress.png", "rupture_index.png"):
        png = report.parent / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert text.count("data:image/png;base64,") == 2


def test_atomic_write_leaves_no_temporary_files(report, tmp_path):
    assert sorted(p.name for p in report.parent.iterdir()) == [
        "report.html",
        "rupture_index.png",
        "wall_stress.png",
    ]
    target = tmp_path / "report.html"
    write_atomic(target, "old")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "new \ud800")  # fails half-way: the old file stays, no debris
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_missing_results_read_not_computed(tmp_path):
    s = aneurysm_surface(16)
    del s.point_data["rpi"]
    text = write_aaa_report(tmp_path, {}, s, renders=False).read_text(encoding="utf-8")
    assert "Diameter rule: not computed" in text
    assert text.count("not computed") >= 8  # cards, profile, zero-pressure, verification …
    assert "Patient inputs and assumptions</h2>\n<p>not given</p>" in text
    assert "surface lacks stress_MPa or rpi" in text  # warning for the missing field
    assert 'RRED</div><div class="v">not reported' in text
    assert 'class="verdict unknown"' in text


def test_rred_and_no_warnings(tmp_path):
    s = aneurysm_surface(16)
    summary = {
        "rred_mm": 61.0,
        "diameter_rule": {"verdict": "surveillance", "threshold_mm": 50.0, "sex": "female"},
    }
    text = write_aaa_report(tmp_path, summary, s, renders=False).read_text(encoding="utf-8")
    assert "61 mm" in text and "threshold 50 mm (female)" in text
    assert 'class="verdict ok"' in text
    assert "Warnings</h2>\n<p>none</p>" in text


def test_summary_as_the_pipeline_writes_it(tmp_path):
    """rupture_indices' per-element RPI array, rred_mm's dict, the probability block with n and
    confidence, a nested GCI block (fractions → percent), warnings taken from the summary."""
    s = aneurysm_surface(16)
    ind = rupture_indices(s["stress_MPa"], s["strength_MPa"])
    res = grid_convergence([6.063, 5.972, 5.863], n_cells=[18000, 8000, 4500], dim=2)
    summary = {
        **ind,
        "rred": rred_mm(ind["pwri"], sex="female"),
        "rupture_probability": {
            "p": 0.0,
            "ci_low": 0.0,
            "ci_high": 0.0149,
            "n": 200,
            "threshold": 1.0,
            "confidence": 0.95,
            "n_failed": 1,
        },
        "verification": {"quantities": {"pws_MPa": dataclasses.asdict(res)}},
        "warnings": ["1 of 200 uncertainty samples failed"],
        "status": "running",
    }
    text = write_aaa_report(tmp_path, summary, None, renders=False).read_text(encoding="utf-8")
    assert "P(PWRI &gt; 1) · 95 % CI 0 % – 1.49 % · n = 200 samples" in text
    assert 'RRED</div><div class="v">not reported' in text
    assert "Probability p</th><td>0 %" in text and "Failed samples</th><td>1" in text
    assert "Quantities › PWS (MPa) › GCI, fine grid</th><td>2.17 %" in text  # Celik: 2.2 %
    assert "1 of 200 uncertainty samples failed" in text and "1 warning" in text
    assert "PWS element" in text and "array of" not in text and "Status" not in text
    assert "Wall stress and rupture index in 3D</h2>\n<p>not computed" in text  # no surface


def test_failed_render_becomes_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(renders_mod, "_CHILD", "import sys; sys.exit(3)")
    text = write_aaa_report(tmp_path, {}, aneurysm_surface(16)).read_text(encoding="utf-8")
    assert "static renders skipped: off-screen rendering failed (exit 3" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_large_surfaces_are_decimated_with_the_full_colour_range():
    s = aneurysm_surface(48)
    block = viewer_block(s, [Field("stress_MPa", "Stress", "MPa")], max_triangles=500)
    data = viewer_data(block)
    n_tri = decode(data["indices"], "<u4").size // 3
    assert 0 < n_tri <= 500 < s.n_cells
    assert data["fields"][0]["max"] == pytest.approx(s["stress_MPa"].max())
    assert "decimated from" in block


# --- headless Chromium ---------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium absent (apt-get install chromium)"
)
WINDOW = (1280, 900)


def chromium(tmp_path: Path, url: str, *extra: str) -> str:
    """Run headless Chromium (WebGL through SwiftShader, no network); return stdout."""
    profile_dir = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile_dir}",
        "--enable-unsafe-swiftshader",
        "--use-angle=swiftshader",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *extra,
        url,
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def html_attrs(dom: str) -> dict:
    tag = re.search(r"<html\b([^>]*)>", dom).group(1)
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag))


def webgl_available(tmp_path: Path) -> bool:
    probe = tmp_path / "probe.html"
    probe.write_text(
        "<html><body><script>document.documentElement.setAttribute('data-gl', "
        "document.createElement('canvas').getContext('webgl') ? 'yes' : 'no')"
        "</script></body></html>"
    )
    return html_attrs(chromium(tmp_path, probe.as_uri(), "--dump-dom")).get("data-gl") == "yes"


NO_UINT_INDICES = (
    "<script>(function (get) { WebGLRenderingContext.prototype.getExtension = "
    "function (n) { return n === 'OES_element_index_uint' ? null : get.call(this, n); "
    "}; })(WebGLRenderingContext.prototype.getExtension);</script></head>"
)


@needs_chromium
@pytest.mark.parametrize("uint_indices", [True, False], ids=["indexed", "unindexed-fallback"])
def test_viewer_draws_the_wall_in_headless_chromium(report, tmp_path, uint_indices):
    if not uint_indices:  # a WebGL 1 without 32-bit indices: the viewer draws unindexed copies
        page = tmp_path / "report.html"
        page.write_text(
            report.read_text(encoding="utf-8").replace("</head>", NO_UINT_INDICES, 1),
            encoding="utf-8",
        )
        report = page
    dom = chromium(tmp_path, report.as_uri(), "--dump-dom")
    attrs = html_attrs(dom)
    assert "data-js-errors" not in attrs, attrs["data-js-errors"]
    if not webgl_available(tmp_path):
        assert attrs.get("data-viewer") == "no-webgl"
        pytest.skip("this headless Chromium has no WebGL, even through SwiftShader")
    assert attrs.get("data-viewer") == "ok"
    left, top, width, height = map(
        int, re.search(r'data-canvas-rect="([\d,]+)"', dom).group(1).split(",")
    )
    shot = tmp_path / "shot.png"
    chromium(tmp_path, report.as_uri(), f"--screenshot={shot}")
    import matplotlib.image

    img = (matplotlib.image.imread(shot)[..., :3] * 255).round().astype(int)
    assert img.shape[:2] == (WINDOW[1], WINDOW[0])
    canvas = img[top + 2 : min(top + height, WINDOW[1]) - 2, left + 2 : left + width - 2]
    assert canvas.shape[0] > 200, "the 3D view is not in the first screen"
    background = np.array([251, 252, 253])  # the viewer's clear colour
    drawn = np.abs(canvas - background).max(axis=-1) > 30
    r, g, b = canvas[..., 0], canvas[..., 1], canvas[..., 2]
    purple = drawn & (b > g + 20) & (r > g)  # low end of viridis (68, 1, 84), shaded
    yellow_green = drawn & (g > b + 40)  # high end (253, 231, 37) and greens
    assert drawn.mean() > 0.05, f"only {drawn.mean():.1%} of the canvas is drawn"
    assert purple.mean() > 0.005 and yellow_green.mean() > 0.002, (
        purple.mean(),
        yellow_green.mean(),
    )
    assert len({tuple(c) for c in (canvas[drawn] // 16).tolist()}) > 20  # a colour ramp, not a fill


@needs_chromium
def test_page_without_webgl_shows_a_message_and_no_errors(report, tmp_path):
    dom = chromium(tmp_path, report.as_uri(), "--dump-dom", "--disable-webgl")
    attrs = html_attrs(dom)
    assert attrs.get("data-viewer") == "no-webgl" and "data-js-errors" not in attrs
    assert "Interactive 3D view unavailable" in dom and "Diameter rule: repair indicated" in dom


@needs_chromium
def test_error_hook_reports_script_errors(report, tmp_path):
    broken = tmp_path / "broken.html"
    text = report.read_text(encoding="utf-8")
    broken.write_text(
        text.replace("</body>", "<script>notAFunction();</script></body>"), encoding="utf-8"
    )
    attrs = html_attrs(chromium(tmp_path, broken.as_uri(), "--dump-dom"))
    assert "notAFunction" in attrs.get("data-js-errors", "")
