"""Report plots with matplotlib, as SVG text: the diameter and wall-stress profile along the
centerline. No pyplot (no global state, no GUI backend); SVG text kept as text, not paths.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np

__all__ = ["profile_svg", "svg_of"]

_RC = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def svg_of(fig) -> str:
    """A matplotlib Figure as SVG text."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def profile_svg(profile: Mapping, threshold_mm: float | None = None) -> str:
    """Diameter (mm), max wall stress (MPa) and, if given, max RPI against arc length s (mm).

    ``profile`` holds equal-length 1-D arrays ``s_mm``, ``diameter_mm``, ``max_stress_MPa``
    and optionally ``rpi``; ``threshold_mm`` draws the repair threshold on the diameter plot.
    """
    import matplotlib
    from matplotlib.figure import Figure

    s = np.asarray(profile["s_mm"], dtype=float)
    panels = [
        ("diameter_mm", "Diameter [mm]", "#2c4a6e"),
        ("max_stress_MPa", "Max wall stress [MPa]", "#b3261e"),
    ]
    if profile.get("rpi") is not None:
        panels.append(("rpi", "Max RPI [–]", "#6a3d9a"))
    for key, _, _ in panels:
        if np.asarray(profile[key]).shape != s.shape:
            raise ValueError(f"profile[{key!r}] has shape {np.shape(profile[key])}, s_mm {s.shape}")
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.2, 1.7 * len(panels) + 0.5))
        axes = fig.subplots(len(panels), 1, sharex=True)
        for ax, (key, ylabel, color) in zip(np.atleast_1d(axes), panels):
            ax.plot(s, np.asarray(profile[key], dtype=float), color=color, lw=1.6)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3, lw=0.5)
            if key == "diameter_mm" and threshold_mm is not None:
                ax.axhline(threshold_mm, color="#b3261e", ls="--", lw=1.0)
                ax.annotate(
                    f"repair threshold {threshold_mm:g} mm",
                    (0.01, threshold_mm),
                    xycoords=("axes fraction", "data"),
                    va="bottom",
                    fontsize=8,
                    color="#b3261e",
                )
            if key == "rpi":
                ax.axhline(1.0, color="#b3261e", ls="--", lw=1.0)
        np.atleast_1d(axes)[-1].set_xlabel("Arc length along the centerline s [mm]")
        fig.align_ylabels()
        return svg_of(fig)
