"""Synthetic, CT-like label maps of abdominal aortic aneurysms (AAA) with exact analytic truth.

Geometry (mm, world = LPS, see :mod:`biomech.mesh.image`). The aorta runs inferiorly (-z)
from the top of an infrarenal neck, through a fusiform sac, to a short distal segment and,
optionally, two iliac arteries. Each vessel is a *tube*: a smooth reference curve C(s) (a
gentle lateral bow) and, in every plane normal to it, three circles:

* outer circle, radius R(s), centred at C(s) + a(s): the adventitia (outside of the wall);
  a(s) shifts the sac anteriorly (``asymmetry``) and is 0 outside the sac;
* inner circle, radius R(s) - wall_thickness, same centre: the luminal side of the wall;
* lumen circle, radius r(s), centred at C(s) + a(s) + e(s), inside the inner circle; the
  thrombus (ILT) fills inner minus lumen, a crescent thickest opposite e(s).

Because the circles lie in normal planes, volumes are exact 1-D integrals,
V = integral of pi r^2 (1 - c(s) . k(s)) ds, with c the circle's centre offset and
k = dT/ds the curvature vector of C. The *centreline* reported in ``truth`` is the curve
of outer-circle centres, C + a; at the widest section a' = 0, so the planes there are
normal to it and the maximum outer diameter is 2 max R(s) = ``max_diameter`` exactly. ILT
thickness is measured in the plane. Vessel ends are flat and open (the lumen touches the
end planes), except at the bifurcation, where a wall plate one wall thickness thick closes
the aortic end around the iliac openings.

Voxels (centre sampling) get label lumen, else thrombus, else wall, else 0. The image grid
has the given spacing, direction and origin; the anatomy is placed inside it with a margin,
so every world position in ``truth`` already includes that placement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from biomech.errors import MeshError
from biomech.mesh.image import LabelImage

__all__ = ["synthetic_aaa", "rotation", "DEFAULT_DIRECTION", "DEFAULT_ORIGIN", "DEFAULT_LABELS"]

DEFAULT_LABELS = {"lumen": 1, "thrombus": 2, "wall": 3}
DEFAULT_ORIGIN = (-90.0, -70.0, -260.0)  # mm, LPS: the world position of voxel (0, 0, 0)
_STEP = 0.05  # mm, centreline sampling used for voxelisation and truth integrals
_COARSE = 1.0  # mm, sampling of the centreline search tree (refined on the _STEP samples)
_NEWTON_STEPS = 3  # foot-point refinement; converges to < 1e-6 mm
_MARGIN = 4  # voxels of background around the anatomy
_DISTAL_LENGTH = 15.0  # mm of normal aorta below the sac
_ILIAC = {"radius_ratio": 0.45, "straight": 5.0, "bend_radius": 30.0, "length": 45.0}


def rotation(axis, degrees: float) -> np.ndarray:
    """3x3 rotation matrix about ``axis`` (any length) by ``degrees`` (right-hand rule)."""
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis)
    a = np.deg2rad(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)


DEFAULT_DIRECTION = rotation((1.0, 2.0, 3.0), 20.0)  # an oblique scan, 20 degrees off LPS


@dataclass(frozen=True)
class _Tube:
    """A vessel sampled every ~_STEP mm along its reference curve: points (n, 3), unit
    tangents, curvature vectors dT/ds, arc length s (n,), outer/inner/lumen radii (n,), and
    the in-plane offsets (n, 3) of the wall circles' centre and of the lumen circle's centre."""

    points: np.ndarray
    tangents: np.ndarray
    curvature: np.ndarray
    s: np.ndarray
    outer: np.ndarray
    inner: np.ndarray
    lumen: np.ndarray
    center: np.ndarray
    lumen_center: np.ndarray


# --- geometry ----------------------------------------------------------------------------


def _in_plane(vectors: np.ndarray, tangents: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Directions (n, 3) projected into the normal planes and scaled to ``length`` (n,) mm."""
    v = vectors - np.sum(vectors * tangents, axis=1, keepdims=True) * tangents
    return v / np.linalg.norm(v, axis=1, keepdims=True) * length[:, None]


def _tube(points, outer, inner, lumen, center=None, lumen_center=None) -> _Tube:
    """Tube from dense reference-curve samples; centre offsets default to 0 (concentric)."""
    d = np.gradient(points, axis=0)
    tangents = d / np.linalg.norm(d, axis=1, keepdims=True)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    zero = np.zeros_like(points)
    return _Tube(points, tangents, np.gradient(tangents, s, axis=0), s, outer, inner, lumen,
                 zero if center is None else center,
                 zero if lumen_center is None else lumen_center)


def _sac_profile(u: np.ndarray, peak: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth bump on u in [0, 1]: 0 with zero slope at both ends, widest near ``peak``
    (a quadratic warp of sin^2), a seeded low-order wobble, and maximum exactly 1."""
    u = np.clip(u, 0.0, 1.0)
    warp = u + (0.5 - peak) / (peak * (1 - peak)) * u * (1 - u)  # warp(peak) = 0.5
    bump = np.sin(np.pi * warp) ** 2
    k = np.arange(2, 5)
    coef = rng.uniform(-1.0, 1.0, k.size) * 0.04 / (k - 1)
    wobble = 1.0 + np.sum(coef[:, None] * np.sin(np.pi * k[:, None] * u[None, :]), axis=0)
    g = bump * wobble
    return g / g.max()


def _bow_curve(length: float, curvature: float) -> tuple[np.ndarray, np.ndarray]:
    """(axial, lateral) samples every ~_STEP mm of arc length of a half-sine bow (sagitta =
    ``curvature`` x chord, arc length ``length``), turned so that it starts along the axis:
    the neck runs straight down and the sac leans toward +lateral (neck angulation)."""
    t1 = np.linspace(0.0, 1.0, 40001)  # the bow on a unit chord; arc / chord is scale-free
    arc1 = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(t1),
                                                     np.diff(curvature * np.sin(np.pi * t1))))])
    chord = length / arc1[-1]
    t = np.interp(np.linspace(0.0, arc1[-1], int(np.ceil(length / _STEP)) + 1), arc1, t1)
    axial, lateral = t * chord, curvature * chord * np.sin(np.pi * t)
    turn = np.arctan(np.pi * curvature)  # initial slope of the bow
    return (np.cos(turn) * axial + np.sin(turn) * lateral,
            np.sin(turn) * axial - np.cos(turn) * lateral)


def _main_tube(p: dict, frame: dict, rng: np.random.Generator) -> tuple[_Tube, dict]:
    """Neck + sac + distal aorta in canonical coordinates (top of the neck at 0)."""
    length = p["neck_length"] + p["sac_length"] + _DISTAL_LENGTH
    axial, lateral = _bow_curve(length, p["centerline_curvature"])
    tau = np.linspace(0.0, length, len(axial))  # arc length along the reference curve
    u = (tau - p["neck_length"]) / p["sac_length"]
    g = np.where((u > 0) & (u < 1), _sac_profile(u, p["peak_position"], rng), 0.0)
    r_neck, r_max = p["neck_diameter"] / 2, p["max_diameter"] / 2
    outer = r_neck + (r_max - r_neck) * g
    inner = outer - (p["wall_thickness"] or 0.0)
    pts = axial[:, None] * frame["axis"] + lateral[:, None] * frame["bow"]
    eps = p["thrombus_eccentricity"]
    h = p["thrombus_max_thickness"] / (1 + eps) * g if p["thrombus"] else 0.0 * g
    twist = np.deg2rad(rng.uniform(-30, 30) + rng.uniform(-30, 30) * np.clip(u, 0, 1))
    toward = _rotate_about(-frame["bulge"], frame["axis"], twist)  # lumen shifts posteriorly
    tube = _tube(pts, outer, inner, inner - h)
    center = _in_plane(np.broadcast_to(frame["bulge"], pts.shape), tube.tangents,
                       p["asymmetry"] * (outer - r_neck))
    tube = replace(tube, center=center,
                   lumen_center=center + _in_plane(toward, tube.tangents, eps * h))
    marks = {"sac_start": int(np.searchsorted(tau, p["neck_length"])),
             "sac_end": int(np.searchsorted(tau, p["neck_length"] + p["sac_length"]))}
    return tube, marks


def _rotate_about(v: np.ndarray, axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate vector v (3,) about unit ``axis`` by each angle (n,) (Rodrigues) -> (n, 3)."""
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    return v * c + np.cross(axis, v) * s + np.outer(1 - c[:, 0], axis * (axis @ v))


def _iliac_tubes(main: _Tube, p: dict, frame: dict, rng) -> list[_Tube]:
    """Two iliac tubes leaving the aortic end plane side by side, straight then bending out."""
    r_d = main.outer[-1]
    r_il = _ILIAC["radius_ratio"] * r_d
    wall = p["wall_thickness"] or 0.0
    end, axis = main.points[-1], main.tangents[-1]
    lateral = frame["bow"] - (frame["bow"] @ axis) * axis
    lateral /= np.linalg.norm(lateral)
    tubes = []
    for side in (1.0, -1.0):
        half_angle = np.deg2rad(rng.uniform(20.0, 35.0))
        pts = _bent_path(end + side * (r_d - r_il) * lateral, axis, side * lateral, half_angle)
        n = len(pts)
        tubes.append(_tube(pts, np.full(n, r_il), np.full(n, r_il - wall),
                           np.full(n, r_il - wall)))
    return tubes


def _bent_path(start, axis, out, angle) -> np.ndarray:
    """Straight run along ``axis``, a circular bend of ``angle`` toward ``out``, then straight."""
    straight, radius, total = _ILIAC["straight"], _ILIAC["bend_radius"], _ILIAC["length"]
    arc = radius * angle
    s = np.linspace(0.0, total, int(np.ceil(total / _STEP)) + 1)
    phi = np.clip((s - straight) / radius, 0.0, angle)
    along = np.minimum(s, straight) + radius * np.sin(phi)
    across = radius * (1 - np.cos(phi))
    tail = np.clip(s - straight - arc, 0.0, None)
    along = along + tail * np.cos(angle)
    across = across + tail * np.sin(angle)
    return start + along[:, None] * axis + across[:, None] * out


# --- truth -------------------------------------------------------------------------------


def _trapz(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoidal integral."""
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


def _volumes_mm3(tube: _Tube) -> dict[str, float]:
    """Exact (to the sampling) outer, inner and lumen volumes of a tube, mm^3."""
    wall_jac = 1.0 - _dot(tube.center, tube.curvature)
    lumen_jac = 1.0 - _dot(tube.lumen_center, tube.curvature)
    return {"outer": _trapz(np.pi * tube.outer**2 * wall_jac, tube.s),
            "inner": _trapz(np.pi * tube.inner**2 * wall_jac, tube.s),
            "lumen": _trapz(np.pi * tube.lumen**2 * lumen_jac, tube.s)}


def _truth(main: _Tube, marks: dict, iliacs: list[_Tube], p: dict) -> dict:
    """Analytic measurements of the model (world positions in LPS mm)."""
    v = _volumes_mm3(main)
    for il in iliacs:
        v = {k: v[k] + val for k, val in _volumes_mm3(il).items()}
    centre = main.points + main.center
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(centre, axis=0), axis=1))])
    i_max = int(np.argmax(main.outer))
    r_n = p["neck_diameter"] / 2
    truth = {
        "max_diameter_mm": 2 * float(main.outer[i_max]),
        "max_diameter_position": centre[i_max].copy(),
        "max_diameter_s_mm": float(s[i_max]),
        "neck_diameter_mm": 2 * r_n,
        "neck_lumen_diameter_mm": 2 * float(main.lumen[0]),
        "neck_length_mm": float(s[marks["sac_start"]]),
        "neck_length_10pct_mm": _first_beyond(main.outer, 1.1 * r_n, s),
        "neck_length_20pct_mm": _first_beyond(main.outer, 1.2 * r_n, s),
        "sac_start_s_mm": float(s[marks["sac_start"]]),
        "sac_end_s_mm": float(s[marks["sac_end"]]),
        "lumen_volume_ml": v["lumen"] / 1000,
        "thrombus_volume_ml": (v["inner"] - v["lumen"]) / 1000,
        "wall_volume_ml": (v["outer"] - v["inner"] + _plate_volume(main, iliacs, p)) / 1000,
        "centerline_length_mm": float(s[-1]),
        "tortuosity": float(s[-1] / np.linalg.norm(centre[-1] - centre[0])),
    }
    truth.update(_ilt_truth(main, p))
    truth.update(_centerline_samples(main, s))
    if iliacs:
        truth["bifurcation_position"] = main.points[-1].copy()
        truth["iliac_centerlines"] = [il.points[:: int(round(1 / _STEP))].copy() for il in iliacs]
        truth["iliac_outer_diameter_mm"] = 2 * float(iliacs[0].outer[0])
        truth["iliac_lumen_diameter_mm"] = 2 * float(iliacs[0].lumen[0])
    return truth


def _first_beyond(radius: np.ndarray, limit: float, s: np.ndarray) -> float | None:
    """Arc length where ``radius`` first exceeds ``limit`` (None if it never does)."""
    above = np.nonzero(radius > limit)[0]
    return float(s[above[0]]) if above.size else None


def _ilt_truth(main: _Tube, p: dict) -> dict:
    """Largest in-plane ILT thickness and the point of the inner wall where it occurs."""
    if not p["thrombus"]:
        return {"max_ilt_thickness_mm": 0.0, "max_ilt_position": None}
    shift = main.lumen_center - main.center
    thick = main.inner - main.lumen + np.linalg.norm(shift, axis=1)
    i = int(np.argmax(thick))
    away = -shift[i] / max(float(np.linalg.norm(shift[i])), 1e-300)
    return {"max_ilt_thickness_mm": float(thick[i]),
            "max_ilt_position": main.points[i] + main.center[i] + main.inner[i] * away}


def _centerline_samples(main: _Tube, s: np.ndarray) -> dict:
    """Centreline (outer-circle centres), arc length, plane normals and radii every ~0.5 mm."""
    idx = np.arange(0, len(s), int(round(0.5 / _STEP)))
    return {"centerline": (main.points + main.center)[idx], "centerline_s_mm": s[idx],
            "plane_normals": main.tangents[idx].copy(),
            "outer_radius_mm": main.outer[idx].copy(), "inner_radius_mm": main.inner[idx].copy(),
            "lumen_radius_mm": main.lumen[idx].copy(),
            "lumen_centerline": (main.points + main.lumen_center)[idx]}


def _plate_volume(main: _Tube, iliacs: list[_Tube], p: dict) -> float:
    """Volume (mm^3) of the wall plate closing the aortic end around the iliac openings."""
    if not iliacs or not p["wall_thickness"]:
        return 0.0
    area = np.pi * main.outer[-1] ** 2 - sum(np.pi * il.outer[0] ** 2 for il in iliacs)
    return float(area * p["wall_thickness"])


# --- voxelisation ------------------------------------------------------------------------


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product of (n, 3) arrays."""
    return np.einsum("ij,ij->i", a, b)


def _coarse_foot(points: np.ndarray, x: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Fractional index of the closest point of each x on the polyline segments i-1 and i."""
    n = len(points)
    best_d, best_f = np.full(len(x), np.inf), np.zeros(len(x))
    for j in (np.clip(i - 1, 0, n - 2), np.clip(i, 0, n - 2)):
        a, ab = points[j], points[j + 1] - points[j]
        lam = np.clip(_dot(x - a, ab) / _dot(ab, ab), 0.0, 1.0)
        rel = x - a - lam[:, None] * ab
        d = _dot(rel, rel)
        better = d < best_d
        best_d[better], best_f[better] = d[better], (j + lam)[better]
    return best_f


def _extent(tube: _Tube) -> np.ndarray:
    """Largest distance (n,) of the vessel from its reference curve in each normal plane."""
    return tube.outer + np.linalg.norm(tube.center, axis=1)


def _local_reach(tube: _Tube, stride: int) -> np.ndarray:
    """Per coarse sample, the largest extent within 3 coarse samples, + 1 mm."""
    outer = _extent(tube)[::stride]
    padded = np.pad(outer, 3, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 7)
    return windows.max(axis=1) + 1.0


def _foot(tube: _Tube, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Foot points on the centreline of the points x that may lie in the tube: (their
    indices into x, fractional sample index of the foot, in-plane vector from the foot).

    The nearest 1 mm sample discards far points and a 1 mm polyline gives the start; Newton
    steps on the smooth centreline, ds = (x - C).T / (1 - (x - C).k), then put x in the
    normal plane of its foot point. Points beyond the end planes are dropped."""
    stride = int(round(_COARSE / _STEP))
    coarse = tube.points[::stride]
    reach = _local_reach(tube, stride)
    dist, i = cKDTree(coarse).query(x, distance_upper_bound=reach.max(), workers=-1)
    keep = np.nonzero(i < len(coarse))[0]
    keep = keep[dist[keep] < reach[i[keep]]]
    x = x[keep]
    f = _coarse_foot(coarse, x, i[keep]) * stride
    last = len(tube.points) - 1
    frame = np.hstack([tube.points, tube.tangents, tube.curvature])
    for _ in range(_NEWTON_STEPS):
        c = _interp(frame, f)
        rel = x - c[:, :3]
        ds = _dot(rel, c[:, 3:6]) / (1.0 - _dot(rel, c[:, 6:]))
        step = np.diff(tube.s)[np.minimum(f.astype(int), last - 1)]
        f = np.clip(f + ds / step, 0.0, last)
    c = _interp(frame, f)
    tan = c[:, 3:6] / np.linalg.norm(c[:, 3:6], axis=1, keepdims=True)
    rel = x - c[:, :3]
    rho = rel - _dot(rel, tan)[:, None] * tan
    inside = ((x - tube.points[0]) @ tube.tangents[0] >= 0) & (
        (x - tube.points[-1]) @ tube.tangents[-1] <= 0)
    return keep[inside], f[inside], rho[inside]


def _interp(values: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Linear interpolation of per-sample rows (n, m) at fractional sample indices f."""
    j = np.minimum(f.astype(int), len(values) - 2)
    w = (f - j)[:, None]
    return values[j] * (1 - w) + values[j + 1] * w


def _paint(tube: _Tube, x: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """Set the lumen / inner / outer membership of points x (world mm) inside ``tube``."""
    reach = float(np.max(_extent(tube))) + 2.0
    box = np.all((x > tube.points.min(axis=0) - reach) & (x < tube.points.max(axis=0) + reach),
                 axis=1)
    cand = np.nonzero(box)[0]
    keep, f, rho = _foot(tube, x[cand])
    idx = cand[keep]
    at = _interp(np.column_stack([tube.outer, tube.inner, tube.lumen, tube.center,
                                  tube.lumen_center]), f)
    r = np.linalg.norm(rho - at[:, 3:6], axis=1)
    out["lumen"][idx] |= np.linalg.norm(rho - at[:, 6:], axis=1) < at[:, 2]
    out["inner"][idx] |= r < at[:, 1]
    out["outer"][idx] |= r < at[:, 0]


def _paint_plate(main: _Tube, wall: float, x: np.ndarray, out: dict[str, np.ndarray]) -> None:
    """Wall plate: the aortic end disc extruded by ``wall`` beyond the end plane."""
    reach = main.outer[-1] + wall + 1.0
    cand = np.nonzero(np.all(np.abs(x - main.points[-1]) < reach, axis=1))[0]
    rel = x[cand] - main.points[-1]
    h = rel @ main.tangents[-1]  # distance beyond the aortic end plane
    radial = np.linalg.norm(rel - h[:, None] * main.tangents[-1], axis=1)
    out["outer"][cand] |= (h > 0) & (h <= wall) & (radial < main.outer[-1])


def _grid(tubes: list[_Tube], spacing, direction) -> tuple[np.ndarray, np.ndarray]:
    """(shift, shape): index-space offset placing the canonical anatomy inside the grid with a
    margin, and the grid shape."""
    pts = np.vstack([t.points for t in tubes])
    rad = np.concatenate([_extent(t) for t in tubes])
    idx = (pts @ direction) / spacing  # index coordinates relative to the canonical origin
    lo = np.min(idx - rad[:, None] / spacing, axis=0)
    hi = np.max(idx + rad[:, None] / spacing, axis=0)
    shape = np.ceil(hi - lo).astype(int) + 2 * _MARGIN + 1
    return _MARGIN - lo, shape


def _voxel_centres(shape, spacing, direction, origin) -> np.ndarray:
    """World coordinates (n, 3) of all voxel centres, i fastest (Fortran order)."""
    axes = [np.arange(n) * h for n, h in zip(shape, spacing, strict=True)]
    out = np.empty((int(np.prod(shape)), 3))
    for c in range(3):
        coord = (origin[c] + direction[c, 0] * axes[0][:, None, None]
                 + direction[c, 1] * axes[1][None, :, None]
                 + direction[c, 2] * axes[2][None, None, :])
        out[:, c] = coord.ravel(order="F")
    return out


# --- public API --------------------------------------------------------------------------


def _check_params(p: dict) -> None:
    """Raise MeshError for parameter combinations that cannot make a valid AAA."""
    def bad(msg: str) -> MeshError:
        return MeshError(f"synthetic_aaa: {msg}")

    wall = p["wall_thickness"] or 0.0
    if p["wall_thickness"] is not None and wall <= 0:
        raise bad(f"wall_thickness={p['wall_thickness']} must be > 0 mm (or None for no wall)")
    for key in ("neck_diameter", "max_diameter", "sac_length", "neck_length"):
        if not p[key] > 0:
            raise bad(f"{key}={p[key]} must be > 0 mm")
    if p["neck_diameter"] / 2 <= wall + 1.0:
        raise bad(f"neck_diameter={p['neck_diameter']} leaves no lumen inside the wall")
    if p["max_diameter"] <= p["neck_diameter"]:
        raise bad(f"max_diameter={p['max_diameter']} must exceed neck_diameter="
                  f"{p['neck_diameter']} (the sac is a dilation)")
    if not 0 <= p["asymmetry"] <= 1:
        raise bad(f"asymmetry={p['asymmetry']} must be in [0, 1]")
    if not 0 <= p["thrombus_eccentricity"] < 1:
        raise bad(f"thrombus_eccentricity={p['thrombus_eccentricity']} must be in [0, 1)")
    if not 0.3 <= p["peak_position"] <= 0.7:  # keeps the warp of the sac profile monotone
        raise bad(f"peak_position={p['peak_position']} must be in [0.3, 0.7]")
    if not 0 <= p["centerline_curvature"] <= 0.25:
        raise bad(f"centerline_curvature={p['centerline_curvature']} must be in [0, 0.25]")
    room = (1 + p["thrombus_eccentricity"]) * (p["max_diameter"] - p["neck_diameter"]) / 2
    if p["thrombus"] and not 0 < p["thrombus_max_thickness"] <= room:
        raise bad(f"thrombus_max_thickness={p['thrombus_max_thickness']} must be in (0, {room:.1f}]"
                  " mm: the lumen may not narrow below the neck lumen; lower it or raise "
                  "thrombus_eccentricity")


def _check_grid(spacing, direction, labels) -> None:
    """Raise MeshError for an unusable grid or label numbering."""
    if spacing.shape != (3,) or np.any(spacing <= 0):
        raise MeshError(f"synthetic_aaa: spacing={spacing.tolist()} must be 3 positive mm values")
    if direction.shape != (3, 3) or not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise MeshError("synthetic_aaa: direction must be an orthonormal 3x3 matrix (columns = "
                        "world directions of the i, j, k axes); build one with rotation()")
    vals = list(labels.values())
    if set(labels) != set(DEFAULT_LABELS) or len(set(vals)) != 3 \
            or not all(isinstance(v, (int, np.integer)) and 0 < v < 256 for v in vals):
        raise MeshError(f"synthetic_aaa: labels={labels} must map lumen, thrombus and wall to "
                        "three distinct integers in 1..255")


def _check_curvature(tube: _Tube) -> None:
    """Refuse shapes whose normal planes would overlap inside the vessel (extent x curvature)."""
    worst = float(np.max(_extent(tube) * np.linalg.norm(tube.curvature, axis=1)))
    if worst > 0.8:
        raise MeshError(f"synthetic_aaa: the centreline bends too sharply for the sac (vessel "
                        f"extent x curvature = {worst:.2f} > 0.8); lower centerline_curvature or "
                        "asymmetry, or lengthen the sac")


def synthetic_aaa(
    *,
    max_diameter: float = 55.0,
    sac_length: float = 80.0,
    neck_diameter: float = 22.0,
    neck_length: float = 25.0,
    wall_thickness: float | None = 1.5,
    thrombus: bool = True,
    thrombus_max_thickness: float = 15.0,
    thrombus_eccentricity: float = 0.6,
    asymmetry: float = 0.3,
    centerline_curvature: float = 0.15,
    peak_position: float = 0.5,
    iliacs: bool = False,
    spacing: tuple[float, float, float] = (0.8, 0.8, 1.5),
    direction: np.ndarray | None = None,
    origin: tuple[float, float, float] = DEFAULT_ORIGIN,
    labels: dict[str, int] | None = None,
    seed: int = 0,
) -> tuple[LabelImage, dict]:
    """Voxelised synthetic AAA label map (uint8) and its exact truth (mm, ml; world = LPS).

    Shape: ``neck_diameter``/``max_diameter`` are outer (adventitial) diameters in the planes
    normal to the centreline; ``neck_length``/``sac_length`` are arc lengths along the
    reference curve (the neck's is exact; the sac's centreline is slightly longer when
    ``asymmetry`` > 0); 15 mm of normal aorta follow the sac. ``asymmetry`` in [0, 1]: the
    fraction of the sac's radial growth that shifts it anteriorly (1 keeps the posterior wall
    straight). ``centerline_curvature`` in [0, 0.25]: lateral bow, sagitta / chord; the neck
    starts straight down (-z) and the sac leans to the patient's left. ``peak_position`` in
    [0.3, 0.7]: where along the sac the widest section lies. Thrombus: the lumen is offset so
    the ILT crescent is (1 + e) / (1 - e) times thicker on one side (e =
    ``thrombus_eccentricity`` in [0, 1)); ``thrombus_max_thickness`` is its largest in-plane
    thickness. ``iliacs`` adds two iliac arteries (outer diameter 0.45 x neck diameter).
    Grid: ``image.origin == origin``, ``image.direction == direction`` (default 20 degrees
    oblique); the anatomy is placed inside with a 4-voxel margin. ``seed`` varies the sac's
    radius wobble, the thrombus orientation, the bow direction and the iliac angles.

    truth: ``max_diameter_mm`` and ``max_diameter_position``/``_s_mm`` (centre of the widest
    section, arc length), ``neck_diameter_mm``, ``neck_lumen_diameter_mm``, ``neck_length_mm``
    (to the sac start) and ``neck_length_10pct_mm``/``20pct`` (to where D > 1.1/1.2 x neck),
    ``sac_start_s_mm``/``sac_end_s_mm``, ``lumen``/``thrombus``/``wall_volume_ml``,
    ``max_ilt_thickness_mm``/``max_ilt_position`` (on the inner wall), ``tortuosity`` and
    ``centerline_length_mm`` (neck top to aortic end), every 0.5 mm: ``centerline`` (outer
    circle centres), ``centerline_s_mm``, ``plane_normals``, ``outer``/``inner``/
    ``lumen_radius_mm``, ``lumen_centerline``; with iliacs ``bifurcation_position``,
    ``iliac_centerlines``, ``iliac_outer``/``lumen_diameter_mm``; ``labels`` present.
    """
    p = dict(max_diameter=max_diameter, sac_length=sac_length, neck_diameter=neck_diameter,
             neck_length=neck_length, wall_thickness=wall_thickness, thrombus=bool(thrombus),
             thrombus_max_thickness=thrombus_max_thickness, asymmetry=asymmetry,
             thrombus_eccentricity=thrombus_eccentricity, peak_position=peak_position,
             centerline_curvature=centerline_curvature)
    _check_params(p)
    spacing = np.asarray(spacing, dtype=float)
    direction = DEFAULT_DIRECTION if direction is None else np.asarray(direction, dtype=float)
    labels = dict(DEFAULT_LABELS if labels is None else labels)
    _check_grid(spacing, direction, labels)

    rng = np.random.default_rng(seed)
    main, marks, iliac = _anatomy(p, rng, iliacs)
    shift, shape = _grid([main, *iliac], spacing, direction)
    move = np.asarray(origin, dtype=float) + direction @ (spacing * shift)
    main = replace(main, points=main.points + move)
    iliac = [replace(t, points=t.points + move) for t in iliac]
    data = _voxelise(main, iliac, p, shape, spacing, direction, np.asarray(origin, float), labels)
    image = LabelImage(data, spacing, origin, direction, source="synthetic_aaa")
    truth = _truth(main, marks, iliac, p)
    truth["labels"] = {k: v for k, v in labels.items()
                       if (k != "thrombus" or p["thrombus"]) and (k != "wall" or wall_thickness)}
    return image, truth


def _anatomy(p: dict, rng: np.random.Generator, iliacs: bool):
    """Main tube (+ sac marks) and iliac tubes in canonical coordinates (neck top at 0)."""
    phi = np.deg2rad(rng.uniform(-20.0, 20.0))
    frame = {"axis": np.array([0.0, 0.0, -1.0]),  # inferior
             "bow": np.array([np.cos(phi), -np.sin(phi), 0.0]),  # patient left, turned
             "bulge": np.array([-np.sin(phi), -np.cos(phi), 0.0])}  # anterior, turned
    main, marks = _main_tube(p, frame, rng)
    _check_curvature(main)
    return main, marks, _iliac_tubes(main, p, frame, rng) if iliacs else []


def _voxelise(main, iliac, p, shape, spacing, direction, origin, labels) -> np.ndarray:
    """uint8 label array (nx, ny, nz) of the tubes on the grid."""
    x = _voxel_centres(shape, spacing, direction, origin)
    out = {k: np.zeros(len(x), dtype=bool) for k in ("lumen", "inner", "outer")}
    for tube in (main, *iliac):
        _paint(tube, x, out)
    if iliac and p["wall_thickness"]:
        _paint_plate(main, p["wall_thickness"], x, out)
    flat = np.zeros(len(x), dtype=np.uint8)
    flat[out["outer"]] = labels["wall"]
    flat[out["inner"]] = labels["thrombus"]
    flat[out["lumen"]] = labels["lumen"]
    return flat.reshape(tuple(shape), order="F")
