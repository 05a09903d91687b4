"""Clinical AAA measurements (mm, ml) from a label map: diameters, neck, volumes, ILT, tortuosity.

Definitions used by :func:`measure`:

* **Vessel** = union of the lumen, thrombus and wall labels (its largest component).
* **Centerline** = :func:`biomech.mesh.centerline.compute_centerline` of the vessel (unless
  given); measurements follow its main path (inlet = widest end; at forks the wider child).
* **Diameter** at a centerline point = the **maximum caliper** (largest distance between two
  points of the outer contour) of the vessel's cross-section in the plane normal to the
  centerline - as clinicians take the maximal (antero-posterior or transverse, whichever is
  larger) diameter on a centreline-perpendicular, double-oblique reformat - every
  ``step_mm``. The contour is the 0.5 level of the vessel mask blurred by one voxel, sampled
  on the plane at half the smallest voxel size; only the piece around the centerline point
  counts, and contour wiggles shorter than 4 voxels (staircase) are filtered out before the
  caliper. The equivalent-circle diameter sqrt(4 A / pi) of the section is reported too.
* **Max diameter** = the largest diameter (3-section running median) on the aortic trunk:
  from the inlet to one inscribed radius before the first bifurcation. Sections from there
  to 2.5 radii past the fork cut two vessels and are not measured (NaN in the profile).
* **Neck** = the proximal non-aneurysmal segment: from the inlet (arc 0) to the first point
  where the diameter exceeds ``neck_ratio`` (1.2) x the proximal reference diameter, the
  median diameter over the first ``reference_length_mm`` (10 mm) of valid sections.
  ``neck_diameter_mm`` is that reference. The inlet is where the segmentation starts: the
  renal arteries are not detected, so the neck length is only meaningful when the image
  starts at the lowest renal artery.
* **Max ILT thickness** = largest distance from a thrombus voxel to the nearest lumen voxel
  (voxel-centre distance transform, mm), i.e. the lumen-to-outer-thrombus thickness.
* **Tortuosity** = trunk length / distance between its end points (the whole main path when
  there is no fork; ``path_tortuosity`` is always the whole main path).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

from biomech.errors import MeshError

__all__ = [
    "DEFAULT_LABELS",
    "DIAMETER_RULE",
    "measure",
    "plot_diameter_profile",
]

DEFAULT_LABELS = {"lumen": 1, "thrombus": 2, "wall": 3}
#: Gaussian blur (voxels) of the vessel mask before contouring: removes the staircase that
#: biases the max caliper upwards (+0.4 mm at 0.5 voxel, ~0.0-0.1 mm at 1 voxel on the
#: synthetic AAA at 0.8 x 0.8 x 1.5 mm); shrinks a section of radius R by ~ blur^2 / 2R
BLUR_VOXELS = 1.0
#: contour features shorter than this many (largest) voxels are staircase, not anatomy: they
#: are filtered out of the contour before taking the max caliper
LOWPASS_VOXELS = 4.0
#: clinical repair rule (reference README section 2): max diameter and growth thresholds
DIAMETER_RULE = {"threshold_mm": {"male": 55.0, "female": 50.0},
                 "growth_threshold_mm_per_year": 10.0}


def measure(
    image_or_masks,
    labels: dict[str, int | list[int]] | None = None,
    centerline=None,
    *,
    spacing=None,
    origin=None,
    direction=None,
    step_mm: float = 1.0,
    neck_ratio: float = 1.2,
    reference_length_mm: float = 10.0,
    inlet="largest",
) -> dict:
    """Measure an AAA from a LabelImage-like object (``data``/``spacing``/``origin``/``direction``,
    labels by ``labels``, default lumen 1, thrombus 2, wall 3) or from a dict of boolean masks
    {"lumen", "thrombus", "wall"} plus the grid geometry; world mm (LPS), volumes in ml."""
    from biomech.mesh.centerline import compute_centerline
    from biomech.mesh.surface import _geometry

    masks, spacing, origin, direction = _masks(image_or_masks, labels, spacing, origin, direction)
    spacing, origin, direction = _geometry(spacing, origin, direction)
    vessel = _vessel(masks)
    masks = {k: m & vessel for k, m in masks.items()}
    if centerline is None:
        centerline = compute_centerline(vessel, spacing, origin, direction, inlet=inlet)
    path, (trunk_end, branch_start) = _main_path(centerline)
    sampler = _Sampler(vessel, spacing, origin, direction)
    prof = _profile(path, sampler, step_mm, trunk_end, branch_start)
    out = {"diameter_profile": prof, "centerline": centerline}
    out.update(_max_diameter(prof))
    out.update(neck_extent(prof, neck_ratio, reference_length_mm))
    out.update(_volumes(masks, spacing, direction))
    out.update(_ilt(masks, spacing, origin, direction))
    out.update(_tortuosity(path, trunk_end))
    out["diameter_rule"] = _rule_inputs(out["max_diameter_mm"], masks)
    return out


# --- inputs ------------------------------------------------------------------------------


def _masks(src, labels, spacing, origin, direction):
    """Boolean masks by name and the grid geometry from a LabelImage-like object or a dict."""
    if hasattr(src, "data") and hasattr(src, "spacing"):
        labels = DEFAULT_LABELS if labels is None else labels
        data, name = np.asarray(src.data), getattr(src, "source", "")
        if data.ndim != 3:
            raise MeshError(f"image {name} must be 3-D, got {data.shape}")
        if data.dtype.kind == "f" and (data < 0).any() and (data > 0).any():
            raise MeshError(f"image {name} is a level set (float, both signs), not a label map; "
                            f"pass {{'lumen': image.data < 0}} with the grid instead")
        masks = {name: np.isin(data, np.atleast_1d(v)) for name, v in labels.items()}
        return masks, src.spacing, src.origin, src.direction
    if isinstance(src, dict):
        if spacing is None:
            raise MeshError("masks given as a dict need the grid: pass spacing=(sx, sy, sz) mm "
                            "(and origin, direction), or pass a LabelImage")
        unknown = set(src) - {"lumen", "thrombus", "wall"}
        if unknown:
            raise MeshError(f"mask names {sorted(unknown)} are unknown; use 'lumen', "
                            f"'thrombus' and 'wall'")
        masks = {k: np.asarray(v, bool) for k, v in src.items()}
        if not masks:
            raise MeshError("no masks given; pass {'lumen': ..., 'thrombus': ..., 'wall': ...}")
        shapes = {m.shape for m in masks.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3:
            raise MeshError(f"the masks must be 3-D arrays of one shape, got {sorted(shapes)}")
        return masks, spacing, origin, direction
    raise MeshError(f"measure() needs a LabelImage or a dict of masks, got {type(src).__name__}")


def _vessel(masks: dict[str, np.ndarray]) -> np.ndarray:
    """Largest component of the union of all masks (MeshError when empty, warning when split)."""
    from biomech.mesh.surface import keep_largest_component

    union = np.zeros(next(iter(masks.values())).shape, bool)
    for m in masks.values():
        union |= m
    if not union.any():
        raise MeshError(f"no voxel carries the labels {list(masks)}: the vessel mask is empty; "
                        f"check the label numbers (labels=...) and the image")
    return keep_largest_component(union, "vessel (lumen + thrombus + wall) mask")


def _main_path(centerline) -> tuple[np.ndarray, tuple[float, float]]:
    """Main-path points and the bifurcation zone (arc mm): from one inscribed radius before
    the first bifurcation (the trunk's end) to 2.5 radii after it (inf, inf without one)."""
    from biomech.mesh.centerline import Centerline

    if not isinstance(centerline, Centerline):
        path = np.asarray(centerline, float)
        if path.ndim != 2 or path.shape[1] != 3 or len(path) < 2:
            raise MeshError(f"centerline must be a Centerline or an (n, 3) array of ordered "
                            f"points (mm), got shape {path.shape}")
        return path, (np.inf, np.inf)
    path = centerline.points[centerline.main_path()]
    if len(centerline.branches) == 1:
        return path, (np.inf, np.inf)
    trunk = centerline.branches[0]
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))]
    s_j, r_j = float(arc[len(trunk) - 1]), float(centerline.radius[trunk[-1]])
    return path, (s_j - r_j, s_j + 2.5 * r_j)


# --- cross-sections ----------------------------------------------------------------------


class _Sampler:
    """Blurred (one-voxel Gaussian) vessel mask with world -> index mapping, for sections."""

    def __init__(self, vessel: np.ndarray, spacing, origin, direction, pad: int = 3) -> None:
        idx = np.argwhere(vessel)
        lo = np.maximum(idx.min(0) - pad, 0)
        hi = np.minimum(idx.max(0) + pad + 1, vessel.shape)
        crop = vessel[tuple(slice(a, b) for a, b in zip(lo, hi))].astype(np.float32)
        self.field = ndi.gaussian_filter(np.pad(crop, pad), BLUR_VOXELS)
        self.offset = lo - pad
        self.spacing, self.origin, self.direction = spacing, origin, direction
        self.to_index = np.linalg.inv(direction).T / spacing
        self.edt = ndi.distance_transform_edt(np.pad(crop, pad) > 0, sampling=spacing)

    def index(self, xyz: np.ndarray) -> np.ndarray:
        """Cropped-grid fractional indices (n, 3) of world points."""
        return (np.asarray(xyz, float) - self.origin) @ self.to_index - self.offset

    def values(self, xyz: np.ndarray) -> np.ndarray:
        """Blurred mask (0..1) at world points (trilinear, 0 outside)."""
        return ndi.map_coordinates(self.field, self.index(xyz).T, order=1, cval=0.0)

    def radius(self, xyz: np.ndarray) -> float:
        """Distance-transform radius (mm) at a world point."""
        return float(ndi.map_coordinates(self.edt, self.index(xyz[None]).T, order=1)[0])


def _diameter_section(sampler: _Sampler, centre: np.ndarray, normal: np.ndarray,
                     ) -> tuple[float, float, np.ndarray] | None:
    """(max caliper mm, equivalent diameter mm, caliper end points (2, 3)) of the vessel section
    through ``centre`` normal to ``normal``; None when the centre is outside the vessel."""
    from skimage.measure import find_contours

    from biomech.mesh.centerline import plane_basis

    if sampler.values(centre[None])[0] < 0.5:
        return None
    u, v = plane_basis(normal)
    h = 0.5 * float(sampler.spacing.min())
    half = 1.6 * sampler.radius(centre) + 4.0 * h  # grown below when the section does not fit
    for _ in range(4):
        n = int(np.ceil(half / h))
        t = np.arange(-n, n + 1) * h
        a, b = np.meshgrid(t, t, indexing="ij")
        img = sampler.values(centre + a.reshape(-1, 1) * u + b.reshape(-1, 1) * v)
        img = img.reshape(a.shape)
        loop = _central_contour(find_contours(img, 0.5), n)
        if loop is not None and np.all((loop > 1) & (loop < 2 * n - 1)):
            return _caliper(loop, h, n, centre, u, v, LOWPASS_VOXELS * float(sampler.spacing.max()))
        half *= 2.0
    return None


def _central_contour(contours: list[np.ndarray], n: int) -> np.ndarray | None:
    """The contour enclosing the plane centre (pixel (n, n)); else the nearest one."""
    if not contours:
        return None
    around = [c for c in contours if len(c) > 3 and _encloses(c, np.array([n, n], float))]
    if around:
        return max(around, key=lambda c: abs(_shoelace(c)))
    return min(contours, key=lambda c: np.min(np.linalg.norm(c - n, axis=1)))


def _encloses(poly: np.ndarray, q: np.ndarray) -> bool:
    """Whether the closed polygon (m, 2) contains the point q (even-odd ray casting)."""
    a, b = poly, np.roll(poly, -1, axis=0)
    crosses = (a[:, 1] > q[1]) != (b[:, 1] > q[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        x = a[:, 0] + (q[1] - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return bool(np.count_nonzero(crosses & (x > q[0])) % 2)


def _caliper(loop: np.ndarray, h: float, n: int, centre, u, v, wavelength: float,
             ) -> tuple[float, float, np.ndarray]:
    """Max caliper of the low-passed contour, equivalent-circle diameter of the contour's area,
    and the caliper end points (world mm)."""
    from scipy.spatial import ConvexHull
    from scipy.spatial.distance import pdist, squareform

    pts = (loop - n) * h
    smooth = _lowpass(pts, wavelength)
    hull = smooth[ConvexHull(smooth).vertices] if len(smooth) > 3 else smooth
    dist = squareform(pdist(hull))
    i, j = np.unravel_index(np.argmax(dist), dist.shape)
    ends = centre + np.outer(hull[[i, j], 0], u) + np.outer(hull[[i, j], 1], v)
    area = abs(_shoelace(pts))
    return float(dist[i, j]), float(np.sqrt(4.0 * area / np.pi)), ends


def _lowpass(pts: np.ndarray, wavelength: float, n: int = 512) -> np.ndarray:
    """Closed contour resampled to ``n`` points with Fourier modes shorter than ``wavelength``
    (mm) removed: the voxel staircase goes, the vessel's shape stays."""
    closed = np.vstack([pts, pts[:1]])
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(closed, axis=0), axis=1))]
    t = np.linspace(0.0, arc[-1], n, endpoint=False)
    z = np.interp(t, arc, closed[:, 0]) + 1j * np.interp(t, arc, closed[:, 1])
    spec = np.fft.fft(z)
    keep = max(int(arc[-1] / wavelength), 2)
    k = np.fft.fftfreq(n, d=1.0 / n)
    spec[np.abs(k) > keep] = 0.0
    z = np.fft.ifft(spec)
    return np.column_stack([z.real, z.imag])


def _shoelace(p: np.ndarray) -> float:
    """Signed area of a closed polygon (n, 2)."""
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _profile(path: np.ndarray, sampler: _Sampler, step: float, trunk_end: float,
             branch_start: float) -> dict:
    """Diameter profile along a centerline path: arc (mm), caliper and equivalent diameters
    (NaN at the ends and in the bifurcation zone, where a section is not one vessel);
    ``in_trunk`` marks sections before the bifurcation zone."""
    from biomech.mesh.centerline import _resample, _smooth

    pts = _resample(path, step)
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
    tang = np.gradient(_smooth(pts, 2.0), axis=0)
    margin = float(sampler.spacing.max())
    cal, eq = np.full(len(pts), np.nan), np.full(len(pts), np.nan)
    ends = np.full((len(pts), 2, 3), np.nan)
    for k, (p, t) in enumerate(zip(pts, tang)):
        if arc[k] < margin or arc[-1] - arc[k] < margin or trunk_end < arc[k] < branch_start:
            continue  # end planes cut the flat end; bifurcation planes cut two vessels
        sec = _diameter_section(sampler, p, t)
        if sec is not None:
            cal[k], eq[k], ends[k] = sec
    if not np.isfinite(cal).any():
        raise MeshError("no valid cross-section along the centerline: the vessel is shorter "
                        "than two voxels or the centerline lies outside it")
    return {"arc_mm": arc, "diameter_mm": cal, "equivalent_diameter_mm": eq, "points": pts,
            "caliper_ends": ends, "in_trunk": arc <= trunk_end,
            "bifurcation_zone_mm": (trunk_end, branch_start)}


# --- derived measurements ----------------------------------------------------------------


def _max_diameter(prof: dict) -> dict:
    """Largest caliper on the aortic trunk (after a 3-section running median, which removes
    single-section digitisation spikes), where it is (world mm, arc mm), its end points."""
    d = np.where(prof["in_trunk"], _running_median(prof["diameter_mm"]), np.nan)
    if not np.isfinite(d).any():
        d = _running_median(prof["diameter_mm"])
    k = int(np.nanargmax(d))
    return {"max_diameter_mm": float(d[k]),
            "max_diameter_at": prof["points"][k].copy(),
            "max_diameter_arc_mm": float(prof["arc_mm"][k]),
            "max_diameter_caliper": prof["caliper_ends"][k].copy(),
            "max_equivalent_diameter_mm": float(np.nanmax(
                np.where(np.isfinite(d), prof["equivalent_diameter_mm"], np.nan)))}


def _running_median(d: np.ndarray) -> np.ndarray:
    """Median of each value and its two neighbours (NaN-aware; ends use what exists)."""
    padded = np.r_[np.nan, d, np.nan]
    stack = np.vstack([padded[:-2], padded[1:-1], padded[2:]])
    out = np.full(len(d), np.nan)
    ok = np.isfinite(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out[ok] = np.nanmedian(stack[:, ok], axis=0)
    return out


def neck_extent(prof: dict, ratio: float, ref_len: float) -> dict:
    """Proximal reference (neck) diameter (mm): the median over the profile's first ``ref_len``
    mm; and the neck's length (mm along ``prof["arc_mm"]``) to the first ``ratio`` × dilatation
    of ``prof["diameter_mm"]`` (the whole profile when there is none)."""
    s, d = prof["arc_mm"], prof["diameter_mm"]
    ok = np.isfinite(d)
    s0 = s[ok][0]
    ref = float(np.median(d[ok & (s <= s0 + ref_len)]))
    above = np.flatnonzero(ok & (d > ratio * ref) & (s > s0))
    out = {"neck_diameter_mm": ref, "neck_ratio": ratio, "aneurysm_found": bool(above.size)}
    if not above.size:
        out["neck_length_mm"] = float(s[ok][-1])
        return out
    k = above[0]
    prev = k - 1 if k > 0 and ok[k - 1] else k
    f = 0.0 if prev == k else (ratio * ref - d[prev]) / (d[k] - d[prev])
    out["neck_length_mm"] = float(s[prev] + f * (s[k] - s[prev]))
    return out


def _volumes(masks: dict[str, np.ndarray], spacing, direction) -> dict:
    """Voxel-count volumes (ml) of each label."""
    voxel_ml = float(np.prod(spacing) * abs(np.linalg.det(direction)) / 1000.0)
    out = {f"{k}_volume_ml": float(masks[k].sum() * voxel_ml) if k in masks else 0.0
           for k in ("lumen", "thrombus", "wall")}
    if out["lumen_volume_ml"] == 0.0:
        warnings.warn("measure: the lumen label is empty or missing; the centreline and the "
                      "diameters use the other labels only", stacklevel=3)
    return out


def _ilt(masks: dict[str, np.ndarray], spacing, origin, direction) -> dict:
    """Largest lumen-to-outer-thrombus distance (mm) and its world position."""
    thr, lum = masks.get("thrombus"), masks.get("lumen")
    if thr is None or lum is None or not thr.any() or not lum.any():
        return {"max_ilt_thickness_mm": 0.0, "max_ilt_at": None}
    dist = ndi.distance_transform_edt(~lum, sampling=spacing)
    dist[~thr] = 0.0
    k = np.unravel_index(int(np.argmax(dist)), dist.shape)
    at = origin + (np.asarray(k, float) * spacing) @ direction.T
    return {"max_ilt_thickness_mm": float(dist[k]), "max_ilt_at": at}


def _tortuosity(path: np.ndarray, trunk_end: float) -> dict:
    """Length, chord and tortuosity (length / chord) of the trunk (inlet to the bifurcation
    zone; the whole main path without a bifurcation), and of the whole main path."""
    arc = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))]
    end = int(np.searchsorted(arc, trunk_end, side="right")) - 1 if np.isfinite(trunk_end) \
        else len(path) - 1
    end = max(end, 1)
    chord = float(np.linalg.norm(path[end] - path[0]))
    full = float(np.linalg.norm(path[-1] - path[0]))
    return {"centerline_length_mm": float(arc[end]), "chord_mm": chord,
            "tortuosity": float(arc[end]) / max(chord, 1e-300),
            "path_length_mm": float(arc[-1]), "path_tortuosity": float(arc[-1]) / max(full, 1e-300)}


def _rule_inputs(max_diameter: float, masks: dict[str, np.ndarray]) -> dict:
    """What the clinical diameter rule needs: the diameter, how it was measured, thresholds."""
    has_wall = "wall" in masks and bool(masks["wall"].any())
    return {"max_diameter_mm": max_diameter,
            "measurement": "max caliper of the outer vessel contour in planes normal to the "
                           "centerline",
            "outer_boundary": "wall" if has_wall else "thrombus/lumen (no wall label: the "
                              "adventitial diameter is ~2 wall thicknesses larger)",
            **DIAMETER_RULE}


# --- plot --------------------------------------------------------------------------------


def plot_diameter_profile(result: dict, path_png: str | Path) -> Path:
    """PNG of diameter vs arc length (mm) with the maximum and the neck marked (matplotlib Agg)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("plot_diameter_profile needs matplotlib: pip install matplotlib") from exc

    prof = result["diameter_profile"]
    fig = Figure(figsize=(7, 4), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(prof["arc_mm"], prof["diameter_mm"], "k-", label="max caliper")
    ax.plot(prof["arc_mm"], prof["equivalent_diameter_mm"], "k:", label="equivalent circle")
    lo, hi = prof["bifurcation_zone_mm"]
    if np.isfinite(lo):
        ax.axvspan(lo, hi, color="0.85", label="bifurcation (not measured)")
    ax.plot(result["max_diameter_arc_mm"], result["max_diameter_mm"], "ro",
            label=f"max {result['max_diameter_mm']:.1f} mm")
    neck = result["neck_length_mm"]
    ax.axvspan(0.0, neck, color="tab:blue", alpha=0.15,
               label=f"neck {neck:.0f} mm, {result['neck_diameter_mm']:.1f} mm")
    ax.axhline(result["neck_diameter_mm"] * result["neck_ratio"], color="tab:blue", ls="--", lw=0.8)
    ax.set_xlabel("arc length from inlet (mm)")
    ax.set_ylabel("diameter (mm)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    path_png = Path(path_png)
    fig.savefig(path_png)
    return path_png
