"""Image / surface / mesh -> solver-ready vessel mesh, and measurements, in one call.

* :func:`load_input` reads a label map or level set (``.nii``, ``.nii.gz``, ``.mha``,
  ``.mhd``, ``.nrrd``), a lumen surface (``.stl``, ``.vtp``, ``.obj``, ``.ply``; optional
  ``outer=`` abluminal surface) or a volume mesh (anything :func:`biomech.mesh.io.read_mesh`
  reads; passed through with its tags) into a :class:`VesselInput`.
* :func:`build_vessel_mesh` turns it into a layered WEDGE6 wall (+ thrombus) mesh:
  masks -> centreline of the whole vessel -> closed smoothed surfaces (lumen, and lumen U
  thrombus when a thrombus is present) -> the vessel ends OPENED by planes normal to the
  centreline's end tangents, a few mm inside each end (see :func:`open_ends`) ->
  :func:`~biomech.mesh.vessel.thrombus_and_wall` or :func:`~biomech.mesh.vessel.wall_from_surface`
  -> :func:`~biomech.mesh.vessel.assert_mesh_quality`. Adds per-cell ``local_diameter_mm``
  (2 x the inscribed radius of the OUTER vessel - lumen U thrombus U wall label - at the
  nearest centreline point).
* :func:`measure_input` - :func:`biomech.mesh.measure.measure` for label maps / level sets;
  for surfaces the diameter is 2 x the centreline's inscribed-sphere radius (not a caliper).

Opening the ends: clipping a triangulated closed surface with a plane leaves sliver
triangles wherever a vertex lies close to the plane. Here, before clipping, vertices within
0.4 edge lengths of the cut plane are slid along the plane normal (along the vessel, i.e.
tangentially on a tube cut across) away from it, so every cut edge is cut near its middle;
the clipped surface then gets tangential relaxation (rim vertices re-spaced evenly along
the rim and kept in the cut plane, interior vertices projected back onto the original
surface). Only the part of the surface near the end (within a ball around the centreline's
end point) is cut, so a plane does not cut other branches.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biomech.errors import MeshError

__all__ = [
    "VesselInput",
    "load_input",
    "build_vessel_mesh",
    "measure_input",
    "open_ends",
    "IMAGE_SUFFIXES",
    "SURFACE_SUFFIXES",
]

IMAGE_SUFFIXES = (".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr")
SURFACE_SUFFIXES = (".stl", ".vtp", ".obj", ".ply")
DEFAULT_LABELS = {"lumen": 1, "thrombus": 2, "wall": 3}
_UNITS = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
_MIN_SPAN_MM, _MAX_SPAN_MM = 5.0, 2000.0


@dataclass
class VesselInput:
    """What :func:`load_input` read: ``kind`` is 'labels', 'levelset', 'surface' or 'mesh'."""

    kind: str
    source: str
    image: Any = None  # LabelImage (labels / levelset)
    masks: dict[str, np.ndarray] = field(default_factory=dict)  # boolean, image grid
    lumen: Any = None  # pyvista.PolyData (surface)
    outer: Any = None  # pyvista.PolyData (surface, optional)
    mesh: Any = None  # biomech Mesh (mesh)
    notes: list[str] = field(default_factory=list)

    @property
    def has_thrombus(self) -> bool:
        return bool(self.masks.get("thrombus") is not None and self.masks["thrombus"].any()) \
            or (self.kind == "surface" and self.outer is not None)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _factor(units: str, what: str) -> float:
    if units not in _UNITS:
        raise MeshError(f"{what}: units={units!r} is not supported; use 'mm', 'cm' or 'm'")
    return _UNITS[units]


def load_input(path, *, units: str = "mm", labels: dict | None = None, outer=None) -> VesselInput:
    """Read a label map / level set, a surface (lumen, optional ``outer`` surface path) or a
    volume mesh; MeshError for missing/empty labels and implausible sizes (wrong units)."""
    path = Path(path)
    labels = dict(DEFAULT_LABELS if labels is None else labels)
    fac = _factor(units, str(path))
    if not path.exists():
        raise MeshError(f"input file {path} does not exist; check the path")
    suf = _suffix(path)
    if suf in IMAGE_SUFFIXES:
        return _load_image(path, fac, units, labels)
    if suf in SURFACE_SUFFIXES:
        from biomech.mesh.surface import read_surface

        inp = VesselInput("surface", str(path), lumen=read_surface(path, units=units))
        if outer is not None:
            inp.outer = read_surface(outer, units=units)
        return inp
    from biomech.mesh.io import read_mesh

    mesh = read_mesh(path, units=units)
    _check_span(mesh.points.max(0) - mesh.points.min(0), path, units)
    return VesselInput("mesh", str(path), mesh=mesh)


def _check_span(extent: np.ndarray, path, units: str) -> None:
    span = float(np.linalg.norm(extent))
    if not _MIN_SPAN_MM <= span <= _MAX_SPAN_MM:
        hint = "'mm' or 'cm'" if span > _MAX_SPAN_MM else "'cm' or 'm'"
        raise MeshError(f"{path}: looks like the wrong units: the model spans {span:.4g} mm "
                        f"when read with units='{units}'; a vessel spans 5 mm - 2 m; pass "
                        f"units={hint}")


def _load_image(path: Path, fac: float, units: str, labels: dict) -> VesselInput:
    from biomech.mesh.image import LabelImage, is_level_set, largest_component, read_image

    img = read_image(path)
    if fac != 1.0:
        img = LabelImage(img.data, img.spacing * fac, img.origin * fac, img.direction, img.source)
    notes: list[str] = []
    if is_level_set(img):
        masks = {"lumen": img.data < 0}
        kind = "levelset"
    else:
        kind = "labels"
        data = img.data
        present = [int(v) for v in np.unique(data)]
        if "lumen" not in labels:
            raise MeshError(f"{path}: labels must name 'lumen', got {sorted(labels)}")
        masks = {}
        for name, value in labels.items():
            if value is None:
                continue
            vals = np.atleast_1d(value)
            if not np.isin(vals, present).any():
                if name == "lumen":
                    raise MeshError(f"{path}: lumen label {list(map(int, vals))} not found; "
                                    f"labels present: {present}; pass --lumen N")
                notes.append(f"no {name} label {list(map(int, vals))} (labels present: {present})")
                continue
            masks[name] = np.isin(data, vals)
    if not masks["lumen"].any():
        raise MeshError(f"{path}: the lumen is empty")
    vessel = np.zeros(img.shape, bool)
    for m in masks.values():
        vessel |= m
    idx = np.argwhere(vessel)
    ext = img.index_to_world(idx.max(0)) - img.index_to_world(idx.min(0))
    _check_span(np.abs((idx.max(0) - idx.min(0)) * img.spacing), path, units)
    del ext
    keep, n, dropped = largest_component(vessel)
    if n > 1:
        msg = f"the vessel has {n} disconnected components; kept the largest, dropped {dropped} voxels"
        warnings.warn(f"{path}: {msg}", stacklevel=2)
        notes.append(msg)
        masks = {k: m & keep for k, m in masks.items()}
    for name in list(masks):
        if not masks[name].any():
            if name == "lumen":
                raise MeshError(f"{path}: the lumen is empty after keeping the largest component")
            notes.append(f"{name} label empty")
            del masks[name]
    lum, n, dropped = largest_component(masks["lumen"])
    if n > 1:
        msg = f"the lumen has {n} components; kept the largest, dropped {dropped} voxels"
        warnings.warn(f"{path}: {msg}", stacklevel=2)
        notes.append(msg)
        masks["lumen"] = lum
    return VesselInput(kind, str(path), image=img, masks=masks, notes=notes)


# --- opening the ends --------------------------------------------------------------------


def _end_planes(cl, margin: float | None) -> list[dict]:
    """Cut planes at each centreline end: point moved inward, normal pointing out of the vessel."""
    planes = []
    ends = [(cl.branches[0], True)] + [(cl.branches[b], False) for b in cl._leaves()]
    for br, is_inlet in ends:
        idx = br if not is_inlet else br[::-1]  # ordered towards the end
        p = cl.points[idx]
        s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(p[::-1], axis=0), axis=1))]
        # the inscribed radius near an end is capped by the end's own cap: look further in
        r_end = float(np.max(cl.radius[idx[::-1][s <= 25.0]]))
        cut = max(4.0, 0.5 * r_end) if margin is None else float(margin)
        k = len(p) - 1 - int(np.searchsorted(s, cut))
        k = max(k, 1)
        # direction: chord of the 10 mm of centreline inside the cut (the last mm of a
        # centreline can curl towards the closed end), pointing out of the vessel
        rev = p[::-1]
        sel = np.flatnonzero((s >= cut) & (s <= cut + 10.0))
        if len(sel) < 2:
            sel = np.arange(len(rev))
        t = rev[sel[0]] - rev[sel[-1]]
        t /= np.linalg.norm(t)
        planes.append({"point": p[k], "normal": t, "radius": r_end,
                       "inlet": is_inlet})
    return planes


def _clip(points, tris, plane, h):
    """Remove the part of the surface beyond ``plane`` near its point; no slivers."""
    c, nrm, r = plane["point"], plane["normal"], plane["radius"]
    pts = points.copy()
    d = (pts - c) @ nrm
    near = np.linalg.norm(pts - c - np.outer(d, nrm), axis=1) < 2.0 * r + 3 * h
    near &= np.abs(d) < 6 * r + 10 * h
    # slide vertices near the plane along the normal so cut edges are cut near their middle
    gap = 0.4 * h
    close = near & (np.abs(d) < gap)
    shift = np.where(d[close] >= 0, gap - d[close], -gap - d[close])
    pts[close] += shift[:, None] * nrm
    d = (pts - c) @ nrm
    # beyond: the parts of the surface on the far side of the plane (edge-connected pieces of
    # {d > 0}) that reach into the ball around the end; other branches the plane crosses stay
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    pos = d > 0
    e = tris[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    e = e[pos[e[:, 0]] & pos[e[:, 1]]]
    g = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(len(pts),) * 2)
    _, lab = connected_components(g, directed=False)
    seeds = np.unique(lab[pos & near])
    beyond = pos & np.isin(lab, seeds)
    nb = beyond[tris].sum(1)
    keep = [tris[nb == 0]]
    new_pts = [pts]
    edge_pt: dict[tuple[int, int], int] = {}
    count = len(pts)

    def cut(a, b):
        nonlocal count
        key = (min(a, b), max(a, b))
        if key not in edge_pt:
            t = d[a] / (d[a] - d[b])
            new_pts.append((pts[a] + t * (pts[b] - pts[a]))[None])
            edge_pt[key] = count
            count += 1
        return edge_pt[key]

    extra = []
    for tri, m in zip(tris[(nb == 1) | (nb == 2)], nb[(nb == 1) | (nb == 2)]):
        bmask = beyond[tri]
        # rotate so the odd-one-out is first
        odd = int(np.flatnonzero(bmask if m == 1 else ~bmask)[0])
        a, b, cc = tri[odd], tri[(odd + 1) % 3], tri[(odd + 2) % 3]
        ab, ac = cut(a, b), cut(a, cc)
        if m == 1:  # a beyond: keep quad b, cc, ac, ab
            extra += [(ab, b, cc), (ab, cc, ac)]
        else:  # a kept
            extra += [(a, ab, ac)]
    if extra:
        keep.append(np.array(extra, dtype=np.int64))
    return np.vstack(new_pts), np.vstack(keep)


def _compact(points, tris):
    used = np.unique(tris)
    new = -np.ones(len(points), dtype=np.int64)
    new[used] = np.arange(len(used))
    return points[used], new[tris]


def _largest_piece(points, tris):
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    n = len(points)
    e = tris[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    g = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    nc, lab = connected_components(g, directed=False)
    if nc > 1:
        big = np.argmax(np.bincount(lab[tris[:, 0]]))
        tris = tris[lab[tris[:, 0]] == big]
    return _compact(points, tris)


def _relax_open(points, tris, reference, planes, sweeps=8):
    """Tangential relaxation; rim vertices evenly re-spaced along their rim, kept in its plane."""
    import pyvista as pv
    from scipy.spatial import cKDTree

    from biomech.mesh.surface import _boundary_points, _umbrella, _vertex_normals, _vtk_faces
    from biomech.mesh.vessel import _boundary_loops

    surf = pv.PolyData(points, _vtk_faces(tris))
    lap = _umbrella(surf)
    loops, _ = _boundary_loops(points, tris, "opened surface")
    pts = points.copy()
    for loop in loops:  # re-space rim points evenly by arc length, within their plane
        q = pts[loop]
        seg = np.linalg.norm(np.roll(q, -1, 0) - q, axis=1)
        s = np.r_[0.0, np.cumsum(seg)]
        total = s[-1]
        closed = np.vstack([q, q[:1]])
        target = np.linspace(0, total, len(loop), endpoint=False) + s[0]
        # keep the phase: shift so the mean displacement is minimal (sufficient for a smooth loop)
        new = np.column_stack([np.interp(target, s, closed[:, k]) for k in range(3)])
        pts[loop] = 0.5 * q + 0.5 * new
    fixed = _boundary_points(surf)
    ref_pts, ref_nrm = _vertex_normals(reference)
    tree = cKDTree(ref_pts)
    for _ in range(sweeps):
        new = pts + 0.5 * (lap @ pts - pts)
        near = tree.query(new)[1]
        new -= np.sum((new - ref_pts[near]) * ref_nrm[near], axis=1, keepdims=True) * ref_nrm[near]
        new[fixed] = pts[fixed]
        pts = new
    return pts


def open_ends(surface, planes: list[dict], size: float):
    """Open a closed (or open) surface with the cut planes; returns (pyvista.PolyData, info)."""
    import pyvista as pv

    from biomech.mesh.surface import _triangles, _vtk_faces

    points = np.asarray(surface.points, float)
    tris = _triangles(surface)
    for plane in planes:
        points, tris = _clip(points, tris, plane, size)
    points, tris = _largest_piece(points, tris)
    points = _relax_open(points, tris, surface, planes)
    out = pv.PolyData(points, _vtk_faces(tris))
    return out


# --- building ----------------------------------------------------------------------------


def _length(value, name: str) -> float:
    from biomech.units import parse_quantity

    try:
        return float(parse_quantity(value, "length", key=name))
    except Exception as exc:  # noqa: BLE001 - turn into a one-line MeshError
        raise MeshError(f"{name}={value!r}: {exc}") from None


def _label_surfaces(inp: VesselInput, size: float, timings: dict, report: dict):
    from biomech.mesh.centerline import compute_centerline
    from biomech.mesh.surface import label_surface

    img = inp.image
    geo = (img.spacing, img.origin, img.direction)
    vessel = np.zeros(img.shape, bool)
    for m in inp.masks.values():
        vessel |= m
    t = time.perf_counter()
    cl = compute_centerline(vessel, *geo)
    timings["centerline_s"] = time.perf_counter() - t
    t = time.perf_counter()
    lumen = label_surface(inp.masks["lumen"], *geo, target_edge=size)
    outer = None
    if inp.has_thrombus:
        outer = label_surface(inp.masks["lumen"] | inp.masks["thrombus"], *geo, target_edge=size)
    timings["surfaces_s"] = time.perf_counter() - t
    report["repaired"] = [str(r) for r in np.asarray(lumen.field_data["repaired"]).tolist()]
    return cl, lumen, outer


CREASE_REPAIRS = 6  # rounds of local surface smoothing where columns still fold


def _round_creases(lumen, outer, where: np.ndarray, radius: float, report: dict):
    """Lumen (and thrombus outer) surfaces smoothed within ``radius`` mm of the cells that
    fold or fail the quality gate (a sharp crease, e.g. at a flow divider); the repair is
    recorded in ``report["repaired"]``."""
    from biomech.mesh.surface import smooth_near

    lumen, info = smooth_near(lumen, where, radius)
    shifts = [info["max_shift_mm"]]
    if outer is not None:
        outer, info_outer = smooth_near(outer, where, radius)
        shifts.append(info_outer["max_shift_mm"])
    centre = np.asarray(where).mean(axis=0)
    repaired = [r for r in report.get("repaired", []) if r != "nothing"]
    report["repaired"] = repaired
    repaired.append(
        f"{'lumen and thrombus surfaces' if outer is not None else 'lumen surface'} smoothed "
        f"within {radius:g} mm of {len(where)} folding or poor cells near "
        f"({', '.join(f'{c:.1f}' for c in centre)}) mm, max shift {max(shifts):.2f} mm")
    return lumen, outer


def build_vessel_mesh(
    inp: VesselInput,
    *,
    wall_thickness: Any = 1.5,
    layers: int = 2,
    size: Any = 1.0,
    ilt_layers: int = 3,
    end_margin: Any = None,
    smoothing: tuple[int, ...] = (5, 15, 30),
    check: bool = True,
):
    """(Mesh, report): a solver-ready wall (+ thrombus) mesh of ``inp`` (see the module doc).

    ``wall_thickness``/``size``/``end_margin`` in mm or strings with units (``end_margin``:
    how far inside each end the vessel is cut, default max(4 mm, 0.6 x end radius))."""
    from biomech.mesh.centerline import compute_centerline
    from biomech.mesh.surface import check_surface
    from biomech.mesh.vessel import assert_mesh_quality, thrombus_and_wall, vessel_mesh_report
    from biomech.mesh.vessel import wall_from_surface

    t_all = time.perf_counter()
    timings: dict[str, float] = {}
    report: dict[str, Any] = {"source": inp.source, "kind": inp.kind, "notes": list(inp.notes)}
    if inp.kind == "mesh":
        report["timings_s"] = {"total_s": 0.0}
        report.update(vessel_mesh_report(inp.mesh) if _is_wedge_like(inp.mesh) else
                      {"n_points": int(inp.mesh.n_points), "n_cells": int(inp.mesh.n_cells)})
        return inp.mesh, report
    tw = _length(wall_thickness, "wall_thickness")
    h = _length(size, "size")
    margin = None if end_margin is None else _length(end_margin, "end_margin")
    if inp.kind in ("labels", "levelset"):
        cl, lumen, outer = _label_surfaces(inp, h, timings, report)
    else:
        from biomech.mesh.surface import remesh_surface

        t = time.perf_counter()
        cl = compute_centerline(inp.outer if inp.outer is not None else inp.lumen)
        timings["centerline_s"] = time.perf_counter() - t
        lumen = remesh_surface(inp.lumen, h)
        outer = None if inp.outer is None else remesh_surface(inp.outer, h)
    t = time.perf_counter()
    planes = []
    if inp.lumen is not None and inp.lumen.n_open_edges > 0 and inp.kind == "surface":
        opened = lumen
        report["opened"] = "input surface already open"
    else:
        planes = _end_planes(cl, margin)
        opened = open_ends(lumen, planes, h)
        report["opened"] = [{"point_mm": p["point"].round(3).tolist(),
                             "normal": p["normal"].round(4).tolist(),
                             "radius_mm": round(p["radius"], 3)} for p in planes]
    rep = check_surface(opened, self_intersection=False)
    report["lumen_surface"] = {"n_points": rep.n_points, "n_faces": rep.n_faces,
                               "n_open_ends": rep.n_boundary_loops,
                               "n_nonmanifold_edges": rep.n_nonmanifold_edges}
    timings["open_ends_s"] = time.perf_counter() - t
    t = time.perf_counter()
    attempts: list[dict] = []
    # more normal smoothing when a fold or the quality gate refuses; then the same again,
    # now rounding the surfaces locally where cells still fold (a crease at a flow divider)
    plan = [(sm, False) for sm in smoothing] + [(sm, True) for sm in smoothing]
    k, repairs = 0, 0
    while True:
        (sm, repair), last = plan[k], k == len(plan) - 1
        thin = 0.7 if sm == smoothing[-1] else 0.5
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if outer is not None:
                    mesh = thrombus_and_wall(opened, outer, wall_thickness=tw, wall_layers=layers,
                                             ilt_layers=ilt_layers, centerline=cl, smoothing=sm,
                                             min_ilt=min(max(0.2, 0.1 * h * ilt_layers), 0.5 * tw),
                                             max_thinning=thin)
                else:
                    mesh = wall_from_surface(opened, thickness=tw, layers=layers, centerline=cl,
                                             smoothing=sm, max_thinning=thin)
            q = assert_mesh_quality(mesh) if check else vessel_mesh_report(mesh)
        except MeshError as exc:
            attempts.append({"smoothing": sm, "max_thinning": thin, "error": str(exc)[:300]})
            where = getattr(exc, "where", None)
            if repair and where is not None and len(where) and repairs < CREASE_REPAIRS:
                repairs += 1
                opened, outer = _round_creases(opened, outer, where, max(2 * h, 2 * tw), report)
                continue
            if last:
                raise MeshError(f"{inp.source}: no acceptable mesh with normal smoothing "
                                f"{list(smoothing)} and {repairs} local surface repairs; "
                                f"last error: {exc}") from None
            k += 1
            continue
        attempts.append({"smoothing": sm, "max_thinning": thin, "ok": True,
                         "warnings": [str(w.message)[:300] for w in caught]})
        break
    report["attempts"] = attempts
    timings["wall_mesh_and_quality_s"] = time.perf_counter() - t
    _add_cell_data(mesh, cl, planes if isinstance(report.get("opened"), list) else [])
    timings["total_s"] = time.perf_counter() - t_all
    report.update(q)
    report["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    ld = np.concatenate(mesh.cell_data["local_diameter_mm"])
    report["local_diameter_mm"] = {"min": float(ld.min()), "max": float(ld.max())}
    return mesh, report


def _is_wedge_like(mesh) -> bool:
    return all(b.type in ("tetra", "tetra10", "wedge", "hexahedron") for b in mesh.blocks)


def _add_cell_data(mesh, cl, planes) -> None:
    """Per-cell ``local_diameter_mm`` (2 x inscribed radius at the nearest centreline point
    between the cut planes) and ``ilt_thickness`` 0 when absent."""
    from scipy.spatial import cKDTree

    inside = np.ones(len(cl.points), bool)
    for p in planes:
        inside &= (cl.points - p["point"]) @ p["normal"] <= 0
    if inside.sum() < 2:
        inside[:] = True
    pts = cl.points[inside]
    # inscribed radius of the meshed OUTER surface (the centreline's own radius is capped by
    # the closed ends near the cuts): distance to the nearest node of the `outer` face set
    outer_nodes = np.unique(np.concatenate([np.ravel(c) for c in mesh.face_sets["outer"].values()]))
    rad = cKDTree(mesh.points[outer_nodes]).query(pts)[0]
    tree = cKDTree(pts)
    ld, ilt = [], []
    for k, b in enumerate(mesh.blocks):
        cen = mesh.points[b.conn].mean(axis=1)
        ld.append(2.0 * rad[tree.query(cen)[1]])
        ilt.append(np.zeros(len(b.conn)))
    mesh.cell_data["local_diameter_mm"] = ld
    if "ilt_thickness" not in mesh.cell_data:
        mesh.cell_data["ilt_thickness"] = ilt


# --- measuring ---------------------------------------------------------------------------


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if np.isfinite(v) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if x is None or isinstance(x, (str, int, bool)):
        return x
    return str(x)


def measure_input(inp: VesselInput, *, plot=None) -> dict:
    """Measurements (JSON-serialisable). Label maps / level sets: :func:`measure` (max
    caliper diameters). Surfaces: diameter = 2 x the centreline's inscribed-sphere radius
    (``diameter_method`` says which)."""
    from biomech.mesh.measure import measure, plot_diameter_profile

    if inp.kind == "mesh":
        raise MeshError(f"{inp.source}: measure needs a label map, level set or surface, "
                        f"not a volume mesh")
    if inp.kind in ("labels", "levelset"):
        img = inp.image
        res = measure(dict(inp.masks), spacing=img.spacing, origin=img.origin,
                      direction=img.direction)
        if plot is not None:
            plot_diameter_profile(res, plot)
        res.pop("centerline", None)
        res["diameter_method"] = "max caliper of centreline-normal sections"
        return _jsonable(res)
    from biomech.mesh.centerline import compute_centerline

    surf = inp.outer if inp.outer is not None else inp.lumen
    cl = compute_centerline(surf)
    path = cl.main_path()
    d = 2.0 * cl.radius[path]
    s = cl.arc_length(path)
    i = int(np.argmax(d))
    ref = d[s <= s[0] + 10.0]
    neck_d = float(np.median(ref))
    beyond = np.flatnonzero(d > 1.2 * neck_d)
    res = {
        "diameter_method": "2 x centreline inscribed-sphere radius (surface input)",
        "max_diameter_mm": float(d[i]),
        "max_diameter_at": cl.points[path[i]],
        "neck_diameter_mm": neck_d,
        "neck_length_mm": float(s[beyond[0]]) if len(beyond) else float(s[-1]),
        "lumen_volume_ml": float(abs(inp.lumen.volume) / 1000.0) if inp.lumen.n_open_edges == 0
        else None,
        "thrombus_volume_ml": (float((abs(inp.outer.volume) - abs(inp.lumen.volume)) / 1000.0)
                               if inp.outer is not None else None),
        "max_ilt_thickness_mm": None,
        "tortuosity": cl.tortuosity(path),
        "diameter_profile": {"arc_mm": s, "diameter_mm": d, "points": cl.points[path]},
    }
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(s, d)
        ax.set_xlabel("arc length (mm)")
        ax.set_ylabel("2 x inscribed radius (mm)")
        fig.tight_layout()
        fig.savefig(plot, dpi=120)
        plt.close(fig)
    return _jsonable(res)


def summary_lines(res: dict) -> list[str]:
    """The headline measurements as ``key: value`` lines."""
    keys = ("max_diameter_mm", "max_diameter_at", "neck_diameter_mm", "neck_length_mm",
            "lumen_volume_ml", "thrombus_volume_ml", "max_ilt_thickness_mm", "tortuosity")
    out = []
    for k in keys:
        v = res.get(k)
        if isinstance(v, float):
            v = f"{v:.2f}"
        elif isinstance(v, list):
            v = "[" + ", ".join(f"{x:.1f}" if isinstance(x, float) else str(x) for x in v) + "]"
        out.append(f"{k}: {v}")
    return out


def to_json(res: dict) -> str:
    return json.dumps(_jsonable(res))
