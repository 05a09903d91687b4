"""Static PNG renders of surface fields with pyvista, off-screen, in a child process.

VTK segfaults when it finds no OpenGL context (neither EGL nor OSMesa), which no ``try`` can
catch; so the render runs in a separate Python process and a failure of any kind becomes a
warning, not a crash of the pipeline. On Linux without ``DISPLAY`` the child uses VTK's EGL
window (Mesa's software renderer works) unless ``VTK_DEFAULT_OPENGL_WINDOW`` says otherwise.
Each PNG is written to a temporary name in the output folder and moved into place.

Run as a script (``python renders.py SPEC.json``) this file is the child; it imports only
the standard library and pyvista, not biomech. The child starts through ``runpy`` in a
temporary folder so that this folder's ``html.py`` cannot shadow the standard library's.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Render", "render_pngs"]

log = logging.getLogger(__name__)

WINDOW_SIZE = (1000, 1000)
_CHILD = (
    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


@dataclass(frozen=True)
class Render:
    """One PNG: the point-data array to colour by, the colour-bar title, the file name."""

    array: str
    title: str
    file: str
    cmap: str = "viridis"
    clim: tuple[float, float] | None = None


def render_pngs(
    surface,
    out_dir: str | Path,
    renders: Sequence[Render],
    markers: Sequence[tuple[str, Sequence[float], str]] = (),
    timeout_s: float = 180.0,
) -> tuple[list[Path], list[str]]:
    """Write the PNGs; returns (paths written, warnings). Markers: (label, xyz mm, "#rrggbb")."""
    out_dir = Path(out_dir)
    env = dict(os.environ)
    if sys.platform.startswith("linux") and not env.get("DISPLAY"):
        env.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    with tempfile.TemporaryDirectory(prefix="biomech-render-") as tmp:
        mesh = Path(tmp) / "surface.vtp"
        surface.save(mesh)
        spec = Path(tmp) / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "mesh": str(mesh),
                    "out_dir": str(out_dir.resolve()),
                    "renders": [asdict(r) for r in renders],
                    "markers": [[lab, [float(x) for x in xyz], col] for lab, xyz, col in markers],
                }
            )
        )
        try:
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, str(Path(__file__).resolve()), str(spec)],
                check=False,
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return [], [
                f"static renders skipped: the off-screen renderer took over {timeout_s:g} s"
            ]
    written = [out_dir / r.file for r in renders if (out_dir / r.file).is_file()]
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or "").strip().splitlines()[-3:])[-400:]
        reason = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        msg = (
            f"static renders skipped: off-screen rendering failed ({reason}; no OpenGL "
            f"context? install EGL or OSMesa) {tail}"
        ).strip()
        log.warning(msg)
        return written, [msg]
    return written, []


def _child(spec_path: str) -> None:
    """Render every view of the spec (runs in the child process)."""
    import numpy as np
    import pyvista as pv

    pv.OFF_SCREEN = True
    spec = json.loads(Path(spec_path).read_text())
    mesh = pv.read(spec["mesh"])
    out_dir = Path(spec["out_dir"])
    centre = np.asarray(mesh.center)
    for r in spec["renders"]:
        p = pv.Plotter(off_screen=True, window_size=list(WINDOW_SIZE))
        p.set_background("white")
        p.add_mesh(
            mesh,
            scalars=r["array"],
            cmap=r["cmap"],
            clim=r["clim"],
            smooth_shading=True,
            show_scalar_bar=False,
        )
        for _, xyz, col in spec["markers"]:  # labelled in the report's caption
            p.add_points(np.asarray([xyz]), color=col, point_size=16, render_points_as_spheres=True)
        # front view along +y with z up, as the WebGL viewer starts
        p.camera_position = [tuple(centre - np.array([0.0, 1.0, 0.0])), tuple(centre), (0, 0, 1)]
        p.reset_camera()
        try:
            img = _autocrop(p.screenshot(return_img=True))
        finally:
            p.close()
        clim = r["clim"] or mesh.get_data_range(r["array"])
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{r['file']}.", suffix=".png")
        os.close(fd)
        try:
            _with_colorbar(img, r["title"], r["cmap"], clim, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, out_dir / r["file"])
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _with_colorbar(img, title: str, cmap: str, clim, path: str) -> None:
    """Save the render with a horizontal matplotlib colour bar below it."""
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    h, w = img.shape[:2]
    dpi, bar = 100.0, 110.0  # colour-bar strip height in pixels
    fig = Figure(figsize=(max(w, 480) / dpi, (h + bar) / dpi), dpi=dpi)
    ax = fig.add_axes((0.0, bar / (h + bar), 1.0, h / (h + bar)))
    ax.imshow(img)
    ax.set_axis_off()
    cax = fig.add_axes((0.15, 0.55 * bar / (h + bar), 0.7, 0.22 * bar / (h + bar)))
    mappable = ScalarMappable(Normalize(*clim), matplotlib.colormaps[cmap])
    cb = fig.colorbar(mappable, cax=cax, orientation="horizontal")
    cb.set_label(title, fontsize=13)
    cb.ax.tick_params(labelsize=11)
    fig.savefig(path, dpi=dpi, facecolor="white")


def _autocrop(img, margin: int = 16):
    """The image cut to its non-white content plus a margin (the fit leaves wide borders)."""
    import numpy as np

    ink = np.any(img[..., :3] < 250, axis=-1)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return img
    r0, r1 = max(rows[0] - margin, 0), min(rows[-1] + margin + 1, img.shape[0])
    c0, c1 = max(cols[0] - margin, 0), min(cols[-1] + margin + 1, img.shape[1])
    return img[r0:r1, c0:c1]


if __name__ == "__main__":
    _child(sys.argv[1])
