"""Lumen/vessel surfaces (mm): from a label mask, from a file, their open ends, caps and checks.

* :func:`label_surface` - flying edges on the padded mask, non-shrinking smoothing (VTK windowed
  sinc or Taubin λ/μ), remeshing to a target edge length (:func:`remesh_surface`: Voronoi
  clustering with pyacvd into near-equilateral triangles, then tangential relaxation projected
  back onto the smoothed surface and a local volume correction) and a repair pass; the repairs
  are listed in the field-data array ``repaired``.
* :func:`read_surface` - STL/VTP/OBJ/PLY/VTK read through pyvista, scaled to mm, units sanity.
* :func:`boundary_loops` / :func:`cap_faces` / :func:`openings` - open ends and capped ends
  (e.g. SimVascular ``ModelFaceID``) with centroid, outward normal, area, equivalent diameter.
* :func:`repair_surface` / :func:`check_surface` - clean-up and a :class:`SurfaceReport`
  (non-manifold edges, boundary edges, components, triangle-triangle self-intersections).

Grid convention (shared with ``biomech.mesh.image``): ``mask[i, j, k]`` sits at world point
``origin + direction @ (spacing * (i, j, k))``; world coordinates are LPS mm.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyvista as pv
import scipy.ndimage as ndi
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from biomech.errors import MeshError

__all__ = [
    "Opening",
    "SurfaceReport",
    "boundary_loops",
    "cap_faces",
    "cap_openings",
    "check_surface",
    "index_to_world",
    "keep_largest_component",
    "label_surface",
    "openings",
    "read_surface",
    "remesh_surface",
    "repair_surface",
    "self_intersections",
    "smooth_near",
    "smooth_surface",
    "world_to_index",
]

SURFACE_SUFFIXES = (".stl", ".vtp", ".obj", ".ply", ".vtk")
FACE_ID_ARRAYS = ("ModelFaceID", "CapID", "CellEntityIds", "FaceID", "face_id")
MAX_SPAN_MM = 2000.0  # bounding-box diagonal above this: not a vessel in mm
MIN_SPAN_MM = 5.0  # ... below this: not a vessel in mm
MIN_VESSEL_DIAMETER_MM = 3.0  # largest opening smaller than this: warn about units
SMALL_HOLE_EDGES = 12  # repair fills boundary loops this short by default
ACVD_OVERSAMPLING = 30  # remeshing: at least this many (subdivided) input points per cluster
GOOD_RADIUS_RATIO = 0.3  # remeshing keeps a surface near the target with no triangle worse
_UNITS = {"mm": 1.0, "cm": 10.0, "m": 1000.0}


@dataclass
class SurfaceReport:
    """State of a triangle surface (mm): sizes, topology, what a repair changed."""

    n_points: int
    n_faces: int
    closed: bool
    n_components: int
    repaired: list[str] = field(default_factory=list)
    n_boundary_loops: int = 0
    n_nonmanifold_edges: int = 0
    n_self_intersections: int = -1  # intersecting triangle pairs; -1 = not checked
    area_mm2: float = 0.0
    volume_mm3: float = float("nan")  # enclosed volume when closed


@dataclass
class Opening:
    """An open end (boundary loop) or a planar cap face (mm); the normal points out of the lumen."""

    centroid: np.ndarray
    normal: np.ndarray
    area: float  # mm²
    diameter: float  # equivalent-circle diameter sqrt(4 area / pi), mm
    point_ids: np.ndarray  # loop points in order (loops) or the cap's points (caps)
    face_id: int | None = None  # value of the face-id cell array for caps


# --- grid geometry -----------------------------------------------------------------------


def _geometry(spacing, origin, direction) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated (spacing (3,), origin (3,), direction (3, 3)) of an image grid, mm."""
    spacing = np.asarray(spacing, float).reshape(3)
    origin = np.zeros(3) if origin is None else np.asarray(origin, float).reshape(3)
    direction = np.eye(3) if direction is None else np.asarray(direction, float).reshape(3, 3)
    if np.any(spacing <= 0) or not np.all(np.isfinite(spacing)):
        raise MeshError(f"voxel spacing {spacing} must be positive finite mm; check the image "
                        f"header")
    if abs(np.linalg.det(direction)) < 1e-6:
        raise MeshError(f"direction matrix {direction.tolist()} is singular; check the image "
                        f"header")
    return spacing, origin, direction


def index_to_world(ijk, spacing, origin=None, direction=None) -> np.ndarray:
    """World (LPS mm) coordinates of (fractional) voxel indices ``ijk`` (n, 3)."""
    spacing, origin, direction = _geometry(spacing, origin, direction)
    return origin + (np.asarray(ijk, float) * spacing) @ direction.T


def world_to_index(xyz, spacing, origin=None, direction=None) -> np.ndarray:
    """Fractional voxel indices of world (LPS mm) points ``xyz`` (n, 3)."""
    spacing, origin, direction = _geometry(spacing, origin, direction)
    return (np.linalg.solve(direction, (np.asarray(xyz, float) - origin).T).T) / spacing


def keep_largest_component(mask: np.ndarray, what: str = "mask") -> np.ndarray:
    """Largest 26-connected component of a boolean 3-D mask; warns when others are dropped."""
    mask = np.asarray(mask, bool)
    if mask.ndim != 3:
        raise MeshError(f"the {what} must be a 3-D array, got shape {mask.shape}")
    if not mask.any():
        raise MeshError(f"the {what} is empty (no voxel set); check the label value and the image")
    lab, n = ndi.label(mask, structure=np.ones((3, 3, 3), bool))
    if n == 1:
        return mask
    sizes = np.bincount(lab.ravel())[1:]
    keep = int(np.argmax(sizes)) + 1
    warnings.warn(
        f"the {what} has {n} disconnected components; keeping the largest ({sizes.max()} voxels) "
        f"and dropping {sizes.sum() - sizes.max()} voxels - clean the segmentation to silence this",
        stacklevel=3,
    )
    return lab == keep


# --- surface from a label mask -----------------------------------------------------------


def label_surface(
    mask: np.ndarray,
    spacing,
    origin=None,
    direction=None,
    *,
    smoothing: str | None = "windowed-sinc",
    iterations: int = 30,
    pass_band: float = 0.1,
    target_edge: float | None = 1.0,
    keep_largest: bool = True,
) -> pv.PolyData:
    """Closed, smoothed, remeshed triangle surface (world mm, outward normals) of a boolean mask:
    flying edges on the mask padded by a voxel, smoothing, repair, remeshing to ``target_edge``
    mm (:func:`remesh_surface`; None keeps the extracted mesh), repair. The repairs are listed in
    ``surface.field_data["repaired"]`` (read back by :func:`check_surface`)."""
    spacing, origin, direction = _geometry(spacing, origin, direction)
    mask = keep_largest_component(mask) if keep_largest else _nonempty(mask)
    local = _flying_edges(mask, spacing)
    if smoothing:
        local = smooth_surface(local, method=smoothing, iterations=iterations, pass_band=pass_band)
    surf = _to_world(local, origin, direction)
    surf, report = repair_surface(surf)
    if target_edge is not None:
        surf = remesh_surface(surf, target_edge)
        surf, more = repair_surface(surf)
        report.repaired += [r for r in more.repaired if r not in report.repaired]
    surf.field_data["repaired"] = np.array(report.repaired or ["nothing"])
    return surf


def _nonempty(mask: np.ndarray) -> np.ndarray:
    """The mask as bool, after checking it is 3-D and not empty."""
    mask = np.asarray(mask, bool)
    if mask.ndim != 3 or not mask.any():
        raise MeshError(f"the mask (shape {mask.shape}) must be a non-empty 3-D array; check the "
                        f"label value")
    return mask


def _flying_edges(mask: np.ndarray, spacing: np.ndarray) -> pv.PolyData:
    """0.5-isosurface of the mask, cropped and padded by one voxel, in the axis-aligned frame."""
    idx = np.argwhere(mask)
    lo, hi = idx.min(0) - 1, idx.max(0) + 2
    padded = np.zeros(tuple(hi - lo), np.float32)
    sub = mask[tuple(slice(max(a, 0), b) for a, b in zip(lo, hi))]
    start = np.maximum(-lo, 0)
    padded[tuple(slice(s, s + n) for s, n in zip(start, sub.shape))] = sub
    grid = pv.ImageData(dimensions=padded.shape, spacing=spacing, origin=lo * spacing)
    grid.point_data["m"] = padded.ravel(order="F")
    surf = grid.contour([0.5], scalars="m", method="flying_edges")
    return surf.triangulate().clean()


def _to_world(local: pv.PolyData, origin: np.ndarray, direction: np.ndarray) -> pv.PolyData:
    """Map an axis-aligned-frame surface to world mm; reverses windings when det(direction) < 0."""
    out = local.copy()
    out.points = origin + np.asarray(local.points, float) @ direction.T
    if np.linalg.det(direction) < 0:
        faces = _triangles(out)[:, ::-1]
        out = pv.PolyData(np.asarray(out.points), _vtk_faces(faces))
    return out


# --- smoothing ---------------------------------------------------------------------------


def smooth_surface(
    surface: pv.PolyData, *, method: str = "windowed-sinc", iterations: int = 30,
    pass_band: float = 0.1,
) -> pv.PolyData:
    """Low-pass smoothing that does not shrink: VTK windowed sinc or Taubin λ/μ (mm)."""
    if method == "windowed-sinc":
        return _windowed_sinc(surface, iterations, pass_band)
    if method == "taubin":
        return _taubin(surface, iterations, pass_band)
    raise MeshError(f"smoothing={method!r} is unknown; use 'windowed-sinc', 'taubin' or None")


def _windowed_sinc(surface: pv.PolyData, iterations: int, pass_band: float) -> pv.PolyData:
    """vtkWindowedSincPolyDataFilter with normalised coordinates, boundaries kept."""
    from vtkmodules.vtkFiltersCore import vtkWindowedSincPolyDataFilter

    f = vtkWindowedSincPolyDataFilter()
    f.SetInputData(surface)
    f.SetNumberOfIterations(int(iterations))
    f.SetPassBand(float(pass_band))
    f.NormalizeCoordinatesOn()
    f.BoundarySmoothingOff()
    f.FeatureEdgeSmoothingOff()
    f.NonManifoldSmoothingOn()
    f.Update()
    return pv.wrap(f.GetOutput())


def _taubin(surface: pv.PolyData, iterations: int, pass_band: float) -> pv.PolyData:
    """Taubin λ/μ smoothing (λ = 0.5, 1/λ + 1/μ = pass band) on the umbrella operator."""
    weight = np.ones((surface.n_points, 1))
    weight[_boundary_points(surface)] = 0.0
    return _weighted_taubin(surface, weight, iterations, 1.0 / (pass_band - 2.0))


def _weighted_taubin(surface: pv.PolyData, weight: np.ndarray, iterations: int,
                     mu: float) -> pv.PolyData:
    """``iterations`` Taubin λ/μ passes (λ = 0.5) whose steps are scaled per point by
    ``weight`` (n, 1) (0: the point stays)."""
    pts = np.asarray(surface.points, float).copy()
    lap = _umbrella(surface)
    for _ in range(int(iterations)):
        for w in (0.5, mu):
            pts += w * weight * (lap @ pts - pts)
    out = surface.copy()
    out.points = pts
    return out


def smooth_near(surface: pv.PolyData, centres: np.ndarray, radius: float,
                iterations: int = 10) -> tuple[pv.PolyData, dict]:
    """Taubin λ/μ smoothing (λ = 0.5, μ = −0.53) of the points within ``radius`` mm of any of
    ``centres`` (mm), fading out to 1.5 × ``radius``; boundary points stay. Rounds a local
    crease (e.g. the flow divider of a bifurcation) that columns cannot be extruded from,
    leaving the rest of the surface as it was. Returns (surface, {"points", "max_shift_mm"})."""
    pts0 = np.asarray(surface.points, float)
    dist = cKDTree(np.atleast_2d(np.asarray(centres, float))).query(pts0)[0]
    weight = np.clip(1.5 - dist / radius, 0.0, 1.0)[:, None]
    weight[_boundary_points(surface)] = 0.0
    out = _weighted_taubin(surface, weight, iterations, -0.53)
    shift = np.linalg.norm(np.asarray(out.points) - pts0, axis=1)
    return out, {"points": int((weight > 0).sum()), "max_shift_mm": float(shift.max())}


def _umbrella(surface: pv.PolyData) -> sp.csr_matrix:
    """Row-normalised vertex adjacency (mean of the edge neighbours)."""
    e = _edges(_triangles(surface))
    n = surface.n_points
    a = sp.coo_matrix((np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
                      shape=(n, n)).tocsr()
    a.data[:] = 1.0
    deg = np.maximum(np.asarray(a.sum(1)).ravel(), 1.0)
    return sp.diags(1.0 / deg) @ a


# --- remeshing ---------------------------------------------------------------------------


def remesh_surface(surface: pv.PolyData, target_edge: float, relax: int = 5) -> pv.PolyData:
    """Near-isotropic triangles with a mean edge near ``target_edge`` mm.

    Closed surfaces: Voronoi clustering (ACVD, Valette et al. 2008, via pyacvd) of the surface,
    linearly subdivided until it has at least ``ACVD_OVERSAMPLING`` points per cluster, into
    n = area / (√3/4 h²) / 2 clusters; the triangles dual to the clusters are the new mesh.
    Open surfaces (clustering would pull the open ends inward), surfaces whose clustering is
    not a clean closed manifold, and installs without pyacvd (a warning): VTK quadric
    decimation when finer than the target, adaptive subdivision when coarser. Then ``relax``
    tangential Laplacian sweeps, each projected back onto the input surface, and (clustered
    surfaces) a local normal offset that gives back the volume lost by cutting chords across
    the curved input. A surface already within 20 % of the target with no poor triangle
    (radius ratio ≥ ``GOOD_RADIUS_RATIO``) is returned as it is.
    """
    if target_edge <= 0:
        raise MeshError(f"target_edge = {target_edge} mm must be positive (or None to keep the "
                        f"mesh as extracted)")
    tri = _triangles(surface)
    h = _edge_lengths(surface.points, tri).mean()
    if 0.8 * target_edge <= h <= 1.25 * target_edge and \
            _radius_ratios(surface.points, tri).min() >= GOOD_RADIUS_RATIO:
        return surface
    if surface.n_open_edges == 0:
        out = _acvd(surface, target_edge)
        if out is not None:
            out = _restore_volume(_relax(out, surface, relax), surface)
            if _radius_ratios(out.points, _triangles(out)).min() > 1e-3:
                return out
            warnings.warn(f"Voronoi-clustering remesh to {target_edge:g} mm left degenerate "
                          f"triangles; remeshing by VTK quadric decimation instead", stacklevel=2)
    if h < 0.8 * target_edge:
        n_goal = surface.area / (np.sqrt(3.0) / 4.0 * target_edge**2)
        reduction = float(np.clip(1.0 - n_goal / len(tri), 0.0, 0.99))
        out = surface.decimate(reduction, volume_preservation=True)
    elif h > 1.25 * target_edge:
        out = _subdivide(surface, 1.25 * target_edge)
    else:
        return surface  # within 20 % of the target: decimation would not improve it
    return _relax(out.clean(), surface, relax)


def _acvd(surface: pv.PolyData, target_edge: float) -> pv.PolyData | None:
    """Closed ``surface`` remeshed by Voronoi clustering (pyacvd); None (with a warning) when
    pyacvd is missing or the result is not a clean closed, consistently wound manifold."""
    try:
        import pyacvd
    except ImportError:
        warnings.warn("pyacvd is not installed: remeshing by VTK quadric decimation, which can "
                      "leave sliver triangles on near-cylindrical vessels (pip install pyacvd)",
                      stacklevel=3)
        return None
    n_clusters = max(int(np.rint(surface.area / (np.sqrt(3.0) / 4.0 * target_edge**2) / 2.0)), 8)
    nsub = int(np.ceil(np.log(max(ACVD_OVERSAMPLING * n_clusters / surface.n_points, 1.0))
                       / np.log(4.0)))
    n_pieces = _face_components(surface)[1]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*_connectivity_array")  # pyacvd, pyvista
        clus = pyacvd.Clustering(pv.PolyData(np.asarray(surface.points, float),
                                             _vtk_faces(_triangles(surface))))
        if nsub:
            clus.subdivide(nsub)
        clus.cluster(n_clusters)
        out = clus.create_mesh(moveclus=False)  # _relax projects onto the input instead
    out, _ = repair_surface(out, keep_largest=n_pieces == 1)  # odd non-manifold spots
    tri = _triangles(out)
    problem = None
    if len(tri) == 0:
        problem = "no triangles"
    else:
        _, counts = _edge_counts(tri)
        if not np.all(counts == 2):
            problem = (f"{int((counts > 2).sum())} non-manifold and {int((counts == 1).sum())} "
                       f"boundary edges")
        elif not _is_consistent(tri):
            problem = "inconsistent winding"
        elif _face_components(out)[1] != n_pieces:
            problem = "a different number of pieces"
    if problem:
        warnings.warn(f"Voronoi-clustering remesh to {target_edge:g} mm gave {problem}; "
                      f"remeshing by VTK quadric decimation instead", stacklevel=3)
        return None
    return pv.PolyData(np.asarray(out.points, float), _vtk_faces(tri))


def _restore_volume(surface: pv.PolyData, reference: pv.PolyData) -> pv.PolyData:
    """Offset each vertex along the ``reference`` normal by minus the mean signed distance of
    its faces from the reference, so chords cut across a curved surface do not shrink it (zero
    mean deviation instead of an inscribed polyhedron). A face's mean distance is 1/4 of its
    corners' mean plus 3/4 of its centroid's (exact for a quadratic surface)."""
    pts = np.asarray(surface.points, float)
    tri = _triangles(surface)
    cen = pts[tri].mean(axis=1)
    probe = pv.PolyData(np.vstack([pts, cen]))
    ref = pv.PolyData(np.asarray(reference.points, float), _vtk_faces(_triangles(reference)))
    d = np.asarray(probe.compute_implicit_distance(ref)["implicit_distance"], float)
    face_mean = 0.25 * d[: len(pts)][tri].mean(axis=1) + 0.75 * d[len(pts):]
    area = 0.5 * np.linalg.norm(np.cross(pts[tri[:, 1]] - pts[tri[:, 0]],
                                         pts[tri[:, 2]] - pts[tri[:, 0]]), axis=1)
    num = np.zeros(len(pts))
    den = np.zeros(len(pts))
    for k in range(3):
        np.add.at(num, tri[:, k], area * face_mean)
        np.add.at(den, tri[:, k], area)
    shift = -num / np.maximum(den, 1e-300)
    shift[_boundary_points(surface)] = 0.0
    ref_pts, ref_nrm = _vertex_normals(ref)  # the side vtk calls outside: along the winding
    out = surface.copy()
    out.points = pts + shift[:, None] * ref_nrm[cKDTree(ref_pts).query(pts)[1]]
    return out


def _radius_ratios(points, tri: np.ndarray) -> np.ndarray:
    """Per triangle 2 r_in / r_circ: 1 for equilateral, 0 for degenerate."""
    p = np.asarray(points, float)[tri]
    a, b, c = (np.linalg.norm(p[:, (i + 1) % 3] - p[:, i], axis=1) for i in range(3))
    s = 0.5 * (a + b + c)
    prod = np.maximum((s - a) * (s - b) * (s - c), 0.0)
    return 8.0 * prod / np.maximum(a * b * c, 1e-300)


def _subdivide(surface: pv.PolyData, max_edge: float) -> pv.PolyData:
    """Split triangles until no edge exceeds ``max_edge`` mm (vtkAdaptiveSubdivisionFilter)."""
    from vtkmodules.vtkFiltersModeling import vtkAdaptiveSubdivisionFilter

    f = vtkAdaptiveSubdivisionFilter()
    f.SetInputData(surface)
    f.SetMaximumEdgeLength(float(max_edge))
    f.Update()
    return pv.wrap(f.GetOutput())


def _relax(surface: pv.PolyData, reference: pv.PolyData, sweeps: int) -> pv.PolyData:
    """Tangential umbrella relaxation (boundary points fixed), each sweep projected onto the
    tangent plane of the nearest ``reference`` vertex (accurate for a finer reference)."""
    if sweeps <= 0 or surface.n_points == 0:
        return surface
    out = surface.copy()
    lap = _umbrella(out)
    fixed = _boundary_points(out)
    ref_pts, ref_nrm = _vertex_normals(reference)
    tree = cKDTree(ref_pts)
    for _ in range(sweeps):
        pts = np.asarray(out.points, float)
        new = pts + 0.5 * (lap @ pts - pts)
        near = tree.query(new)[1]
        new -= np.sum((new - ref_pts[near]) * ref_nrm[near], axis=1, keepdims=True) * ref_nrm[near]
        new[fixed] = pts[fixed]
        out.points = new
    return out


def _vertex_normals(surface: pv.PolyData) -> tuple[np.ndarray, np.ndarray]:
    """Points and area-weighted unit vertex normals of a triangle surface."""
    pts = np.asarray(surface.points, float)
    tri = _triangles(surface)
    fn = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]])
    vn = np.zeros_like(pts)
    for k in range(3):
        np.add.at(vn, tri[:, k], fn)
    return pts, vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-300)


# --- repair and checks -------------------------------------------------------------------


def repair_surface(
    surface: pv.PolyData, *, max_hole_diameter: float | None = None, keep_largest: bool = True
) -> tuple[pv.PolyData, SurfaceReport]:
    """Merge duplicate points, drop degenerate/duplicate/non-manifold faces, fill small holes,
    keep the largest component, orient outward; returns the surface and what was repaired."""
    done: list[str] = []
    surf = _triangulated(surface, done)
    surf = _drop_bad_faces(surf, done)
    if keep_largest:
        surf = _keep_largest_surface(surf, done)
    surf = _fill_small_holes(surf, max_hole_diameter, done)
    surf = _orient_outward(surf, done)
    report = check_surface(surf, self_intersection=False)
    report.repaired = done
    return surf, report


def _triangulated(surface: pv.PolyData, done: list[str]) -> pv.PolyData:
    """Triangles only, duplicate points merged, unused points and faces with repeated corners
    removed (VTK clean)."""
    if not isinstance(surface, pv.PolyData) or surface.n_cells == 0:
        raise MeshError("the surface has no faces; check the file or the mask it came from")
    n0 = surface.n_points
    sizes = np.diff(pv.convert_array(surface.GetPolys().GetOffsetsArray()))
    tri = surface.triangulate()
    surf = tri.clean(tolerance=0.0, absolute=True, polys_to_lines=False, lines_to_points=False)
    lost = int(np.maximum(sizes - 2, 0).sum()) - surf.GetNumberOfPolys() if len(sizes) else 0
    if lost > 0:
        done.append(f"removed {lost} degenerate faces (repeated corners)")
    if surf.n_points < n0:
        done.append(f"merged/removed {n0 - surf.n_points} duplicate or unused points")
    return surf


def _drop_bad_faces(surf: pv.PolyData, done: list[str]) -> pv.PolyData:
    """Remove degenerate (zero-area), repeated and non-manifold-edge triangles."""
    tri = _triangles(surf)
    pts = np.asarray(surf.points, float)
    area = 0.5 * np.linalg.norm(np.cross(pts[tri[:, 1]] - pts[tri[:, 0]],
                                         pts[tri[:, 2]] - pts[tri[:, 0]]), axis=1)
    flat = area <= 1e-12 * max(area.max(), 1e-300)
    repeated = np.isin(np.arange(len(tri)), _duplicate_faces(tri), invert=True) & ~flat
    nm = np.zeros(len(tri), bool)
    nm[~(flat | repeated)] = _nonmanifold_faces(tri[~(flat | repeated)])
    for what, sel in (("degenerate (zero-area)", flat), ("repeated", repeated),
                      ("non-manifold-edge", nm)):
        if sel.any():
            done.append(f"removed {int(sel.sum())} {what} faces")
    keep = ~(flat | repeated | nm)
    if keep.all():
        return surf
    return pv.PolyData(pts, _vtk_faces(tri[keep])).clean()


def _duplicate_faces(tri: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct triangle (vertex set)."""
    _, first = np.unique(np.sort(tri, axis=1), axis=0, return_index=True)
    return first


def _nonmanifold_faces(tri: np.ndarray) -> np.ndarray:
    """Mask of triangles that touch an edge shared by more than two triangles."""
    inv, counts = _edge_counts(tri)
    return (counts[inv] > 2).reshape(-1, 3).any(axis=1)


def _keep_largest_surface(surf: pv.PolyData, done: list[str]) -> pv.PolyData:
    """Largest connected piece of the surface (by faces)."""
    labels, n = _face_components(surf)
    if n <= 1:
        return surf
    sizes = np.bincount(labels)
    tri = _triangles(surf)[labels == np.argmax(sizes)]
    done.append(f"removed {n - 1} disconnected pieces besides the largest "
                f"({len(labels) - sizes.max()} faces)")
    return pv.PolyData(np.asarray(surf.points), _vtk_faces(tri)).clean()


def _fill_small_holes(surf: pv.PolyData, max_diameter: float | None, done: list[str],
                      ) -> pv.PolyData:
    """Close boundary loops spanning at most ``max_diameter`` mm; by default those of at most
    ``SMALL_HOLE_EDGES`` edges (a few missing triangles, never a vessel's open end)."""
    loops = _loops(surf)
    if not loops:
        return surf
    pts = np.asarray(surf.points, float)
    if max_diameter is None:
        small = [lp for lp in loops if len(lp) <= SMALL_HOLE_EDGES]
        rule = f"<= {SMALL_HOLE_EDGES} edges"
    else:
        small = [lp for lp in loops if _loop_span(pts[lp]) <= max_diameter]
        rule = f"span <= {max_diameter:.2g} mm"
    if not small:
        return surf
    done.append(f"filled {len(small)} small holes ({rule})")
    return _cap_loops(surf, small)


def _loop_span(p: np.ndarray) -> float:
    """Largest distance between two points of a loop (mm)."""
    return float(np.max(np.linalg.norm(p[:, None] - p[None], axis=2))) if len(p) < 400 else \
        float(np.linalg.norm(p.max(0) - p.min(0)))


def _orient_outward(surf: pv.PolyData, done: list[str]) -> pv.PolyData:
    """Consistent winding, outward: positive enclosed volume (open ends capped for the test)."""
    tri = _triangles(surf)
    fixed = tri if _is_consistent(tri) else _consistent_winding(tri)
    wound = pv.PolyData(np.asarray(surf.points), _vtk_faces(fixed))
    loops = _loops(wound)
    closed = _cap_loops(wound, loops) if loops else wound  # open ends fanned, for the sign only
    if _signed_volume(closed.points, _triangles(closed)) < 0:
        fixed = fixed[:, ::-1]
    if not np.array_equal(fixed, tri):
        flipped = int(np.any(fixed != tri, axis=1).sum())
        done.append(f"re-oriented {flipped} faces (consistent, outward winding)")
        surf = pv.PolyData(np.asarray(surf.points), _vtk_faces(fixed))
    return surf


def _is_consistent(tri: np.ndarray) -> bool:
    """True when no directed edge is used twice (neighbours traverse shared edges oppositely)."""
    return len(np.unique(_edge_key(_half_edges(tri), undirected=False))) == 3 * len(tri)


def _consistent_winding(tri: np.ndarray) -> np.ndarray:
    """Flip triangles so neighbours traverse shared edges in opposite directions (BFS per piece)."""
    tri = tri.copy()
    key = _edge_key(_half_edges(tri))
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    a, b = order[:-1][same] // 3, order[1:][same] // 3
    nbrs = sp.coo_matrix((np.ones(2 * len(a)), (np.r_[a, b], np.r_[b, a])),
                         shape=(len(tri), len(tri))).tocsr()
    flip = np.zeros(len(tri), bool)
    seen = np.zeros(len(tri), bool)
    for seed in range(len(tri)):
        if seen[seed]:
            continue
        seen[seed] = True
        stack = [seed]
        while stack:
            f = stack.pop()
            tf = tri[f][::-1] if flip[f] else tri[f]
            for g in nbrs.indices[nbrs.indptr[f]:nbrs.indptr[f + 1]]:
                if seen[g]:
                    continue
                seen[g] = True
                flip[g] = _same_direction(tf, tri[g])
                stack.append(g)
    tri[flip] = tri[flip][:, ::-1]
    return tri


def _same_direction(t1: np.ndarray, t2: np.ndarray) -> bool:
    """True when triangles t1 and t2 traverse their shared edge in the same direction."""
    e1 = {(t1[i], t1[(i + 1) % 3]) for i in range(3)}
    return any((t2[i], t2[(i + 1) % 3]) in e1 for i in range(3))


def check_surface(surface: pv.PolyData, *, self_intersection: bool = True) -> SurfaceReport:
    """Report on a triangle surface: counts, closedness, components, non-manifold edges,
    boundary loops, area, volume and (optionally) self-intersecting triangle pairs."""
    surf = surface.triangulate()
    tri = _triangles(surf)
    _, counts = _edge_counts(tri)
    n_nm = int((counts > 2).sum())
    closed = bool(np.all(counts == 2))
    repaired = surface.field_data["repaired"].tolist() if "repaired" in surface.field_data else []
    return SurfaceReport(
        n_points=len(np.unique(tri)), n_faces=len(tri), closed=closed,
        n_components=_face_components(surf)[1], repaired=[r for r in repaired if r != "nothing"],
        n_boundary_loops=len(_loops(surf)), n_nonmanifold_edges=n_nm,
        n_self_intersections=self_intersections(surf) if self_intersection else -1,
        area_mm2=float(surf.area),
        volume_mm3=abs(_signed_volume(surf.points, tri)) if closed else float("nan"),
    )


def self_intersections(surface: pv.PolyData) -> int:
    """Number of triangle pairs (sharing no vertex) where an edge of one crosses the other.

    Exact segment/triangle tests (Möller-Trumbore) on candidate pairs found by a KD-tree on
    edge midpoints and triangle centroids; coplanar overlaps are not detected.
    """
    pts = np.asarray(surface.points, float)
    tri = _triangles(surface)
    if len(tri) < 4:
        return 0
    edges, edge_face = _edge_faces(tri)
    a, b = pts[edges[:, 0]], pts[edges[:, 1]]
    cen = pts[tri].mean(axis=1)
    rad = np.linalg.norm(pts[tri] - cen[:, None], axis=2).max(axis=1)
    ei, fi = _sphere_pairs(0.5 * (a + b), 0.5 * np.linalg.norm(b - a, axis=1), cen, rad)
    nrm = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]])
    off = np.einsum("ij,ij->i", nrm, pts[tri[:, 0]])
    da = np.einsum("ij,ij->i", nrm[fi], a[ei]) - off[fi]
    db = np.einsum("ij,ij->i", nrm[fi], b[ei]) - off[fi]
    ei, fi = ei[da * db < 0], fi[da * db < 0]  # edge end points on both sides of the plane
    share = (tri[fi] == edges[ei, 0:1]).any(1) | (tri[fi] == edges[ei, 1:2]).any(1)
    ei, fi = ei[~share], fi[~share]
    hit = _segment_hits_triangle(a[ei], b[ei], pts[tri[fi, 0]], pts[tri[fi, 1]], pts[tri[fi, 2]])
    owners = edge_face[ei[hit]]
    others = fi[hit]
    pairs = np.sort(np.column_stack([np.r_[owners[:, 0], owners[:, 1]], np.r_[others, others]]), 1)
    pairs = pairs[pairs.min(axis=1) >= 0]
    return len(np.unique(pairs, axis=0))


def _sphere_pairs(c1, r1, c2, r2) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) whose bounding spheres (c1[i], r1[i]) and (c2[j], r2[j]) overlap.

    The 5 % largest items of each set are queried one by one so that a few big triangles
    (e.g. flat caps) do not inflate the search radius of all the others.
    """
    big1, big2 = r1 > np.percentile(r1, 95), r2 > np.percentile(r2, 95)
    s1, s2 = np.flatnonzero(~big1), np.flatnonzero(~big2)
    reach = r1[s1].max(initial=0.0) + r2[s2].max(initial=0.0)
    m = cKDTree(c1[s1]).sparse_distance_matrix(cKDTree(c2[s2]), reach, output_type="ndarray")
    parts_i, parts_j = [s1[m["i"]]], [s2[m["j"]]]
    tree2, tree1 = cKDTree(c2), cKDTree(c1[s1])
    for i in np.flatnonzero(big1):
        j = np.asarray(tree2.query_ball_point(c1[i], r1[i] + r2.max()), int)
        parts_i.append(np.full(len(j), i))
        parts_j.append(j)
    for j in np.flatnonzero(big2):
        i = s1[np.asarray(tree1.query_ball_point(c2[j], r2[j] + r1[s1].max(initial=0.0)), int)]
        parts_i.append(i)
        parts_j.append(np.full(len(i), j))
    i, j = np.concatenate(parts_i), np.concatenate(parts_j)
    keep = np.linalg.norm(c1[i] - c2[j], axis=1) <= r1[i] + r2[j]
    return i[keep], j[keep]


def _segment_hits_triangle(a, b, p0, p1, p2, eps: float = 1e-9) -> np.ndarray:
    """Vectorised Möller-Trumbore: does segment a-b cross the interior of triangle p0 p1 p2."""
    d = b - a
    e1, e2 = p1 - p0, p2 - p0
    pv_ = np.cross(d, e2)
    det = np.sum(e1 * pv_, axis=1)
    ok = np.abs(det) > eps * np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1) * \
        np.linalg.norm(d, axis=1)
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = a - p0
    u = np.sum(s * pv_, axis=1) * inv
    q = np.cross(s, e1)
    v = np.sum(d * q, axis=1) * inv
    t = np.sum(e2 * q, axis=1) * inv
    tol = 1e-7
    return ok & (u > tol) & (v > tol) & (u + v < 1 - tol) & (t > tol) & (t < 1 - tol)


# --- reading -----------------------------------------------------------------------------


def read_surface(path: str | os.PathLike, units: str = "mm", *, check: bool = True) -> pv.PolyData:
    """Read an STL/VTP/OBJ/PLY/VTK surface with pyvista; coordinates in ``units`` returned in mm.

    Raises MeshError when the model spans more than 2 m or less than 5 mm (wrong units) and
    warns when its largest opening is narrower than 3 mm (probably cm read as mm).
    """
    path = Path(path)
    if units not in _UNITS:
        raise MeshError(f"{path}: units={units!r} is not supported; use 'mm', 'cm' or 'm'")
    if not path.is_file():
        raise MeshError(f"surface file {path} does not exist; check the path")
    if path.suffix.lower() not in SURFACE_SUFFIXES:
        raise MeshError(f"{path}: unsupported surface format {path.suffix!r}; "
                        f"use one of {', '.join(SURFACE_SUFFIXES)}")
    try:
        data = pv.read(path)
    except Exception as exc:
        raise MeshError(f"{path} could not be read as a surface ({exc}); re-export it") from exc
    if not isinstance(data, pv.PolyData):
        data = data.extract_surface()
    if data.n_cells == 0 or np.asarray(data.faces).size == 0:
        raise MeshError(f"{path} holds no surface triangles; export the lumen surface, not "
                        f"lines or points")
    surf = data.triangulate()
    surf.points = np.asarray(surf.points, float) * _UNITS[units]
    if check:
        _check_units(surf, path, units)
    return surf


def _check_units(surf: pv.PolyData, path, units: str) -> None:
    """Raise on an implausible model span; warn on an implausibly narrow largest opening."""
    lo, hi = np.asarray(surf.bounds).reshape(3, 2).T
    span = float(np.linalg.norm(hi - lo))
    if not MIN_SPAN_MM <= span <= MAX_SPAN_MM:
        hint = "'mm' or 'cm'" if span > MAX_SPAN_MM else "'cm' or 'm'"
        raise MeshError(
            f"{path}: looks like the wrong units: the model spans {span:.4g} mm (bounding-box "
            f"diagonal) when read with units='{units}'; a vessel spans 5 mm - 2 m; "
            f"pass units={hint}"
        )
    widest = max((o.diameter for o in openings(surf)), default=None)
    if widest is None and surf.n_open_edges == 0 and surf.volume > 0:
        widest = 4.0 * surf.volume / surf.area  # hydraulic diameter of a closed tube
    if widest is not None and widest < MIN_VESSEL_DIAMETER_MM:
        warnings.warn(
            f"{path}: the widest vessel opening is {widest:.3g} mm across when read with "
            f"units='{units}', narrower than any artery this tool targets; if the file is in "
            f"cm or m pass units='cm' or units='m'",
            stacklevel=3,
        )


# --- open ends and caps ------------------------------------------------------------------


def boundary_loops(surface: pv.PolyData) -> list[Opening]:
    """Open ends of a surface: ordered boundary loops with centroid, outward normal, area (mm)."""
    pts = np.asarray(surface.points, float)
    return [_loop_opening(pts, lp) for lp in _loops(surface)]


def cap_faces(surface: pv.PolyData, array: str | None = None, flatness: float = 0.02,
              ) -> list[Opening]:
    """Planar faces of a capped model named by a cell-data face-id array (e.g. ``ModelFaceID``).

    A face is a cap when its points lie within ``flatness`` x sqrt(area) of its mean plane.
    """
    name = array or next((a for a in FACE_ID_ARRAYS if a in surface.cell_data), None)
    if name is None:
        return []
    if name not in surface.cell_data:
        raise MeshError(f"the surface has no cell-data array {name!r}; "
                        f"it has {list(surface.cell_data.keys())}")
    surf = surface.triangulate()
    ids = np.asarray(surf.cell_data[name]).astype(int)
    tri = _triangles(surf)
    pts = np.asarray(surf.points, float)
    caps = [_cap_opening(pts, tri[ids == v], int(v), flatness) for v in np.unique(ids)]
    return [c for c in caps if c is not None]


def openings(surface: pv.PolyData) -> list[Opening]:
    """Boundary loops of an open surface, else the planar caps of a face-id array (mm)."""
    return boundary_loops(surface) or cap_faces(surface)


def cap_openings(surface: pv.PolyData) -> pv.PolyData:
    """Close every boundary loop with a centroid fan (flat caps), for voxelising open surfaces."""
    loops = _loops(surface)
    return _cap_loops(surface.triangulate(), loops) if loops else surface


def _loops(surface: pv.PolyData) -> list[np.ndarray]:
    """Ordered point-id loops of the boundary edges (edges with one face), in face winding order."""
    tri = _triangles(surface)
    if len(tri) == 0:
        return []
    he = _half_edges(tri)
    inv, counts = _edge_counts(tri)
    bnd = he[counts[inv] == 1]
    if len(bnd) == 0:
        return []
    nxt = dict(zip(bnd[:, 0].tolist(), bnd[:, 1].tolist()))
    loops, seen = [], set()
    for start in nxt:
        if start in seen:
            continue
        loop, p = [], start
        while p not in seen and p in nxt:
            seen.add(p)
            loop.append(p)
            p = nxt[p]
        if len(loop) >= 3:
            loops.append(np.array(loop))
    return loops


def _loop_opening(pts: np.ndarray, loop: np.ndarray) -> Opening:
    """Centroid, outward normal, area and equivalent diameter of a boundary loop."""
    p = pts[loop]
    c = p.mean(axis=0)
    newell = 0.5 * np.cross(p - c, np.roll(p, -1, axis=0) - c).sum(axis=0)
    area = float(np.linalg.norm(newell))
    d = float(np.sqrt(4.0 * area / np.pi))
    return Opening(c, _outward(pts, c, newell, loop, d), area, d, loop)


def _cap_opening(pts: np.ndarray, tri: np.ndarray, face_id: int, flatness: float) -> Opening | None:
    """Opening of one face-id group when planar, else None (a wall)."""
    if len(tri) == 0:
        return None
    p = pts[tri]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    area = 0.5 * float(np.linalg.norm(cross, axis=1).sum())
    nsum = cross.sum(axis=0)
    n = nsum / max(np.linalg.norm(nsum), 1e-300)
    ids = np.unique(tri)
    c = (p.mean(axis=1) * np.linalg.norm(cross, axis=1)[:, None]).sum(0) / max(2 * area, 1e-300)
    if np.abs((pts[ids] - c) @ n).max() > flatness * np.sqrt(max(area, 1e-300)):
        return None
    d = float(np.sqrt(4.0 * area / np.pi))
    return Opening(c, _outward(pts, c, n, ids, d), area, d, ids, face_id)


def _outward(pts: np.ndarray, c: np.ndarray, n: np.ndarray, own: np.ndarray, d: float,
             ) -> np.ndarray:
    """Unit normal ``n`` of an opening at ``c`` signed to point away from the 200 nearest other
    surface points (the wall behind the opening)."""
    n = n / max(np.linalg.norm(n), 1e-300)
    dist = np.linalg.norm(pts - c, axis=1)
    dist[own] = np.inf
    near = np.argsort(dist)[: min(200, int(np.isfinite(dist).sum()))]
    if near.size and np.dot(c - pts[near].mean(axis=0), n) < 0:
        n = -n
    return n


def _cap_loops(surf: pv.PolyData, loops: list[np.ndarray]) -> pv.PolyData:
    """Add a centroid fan in each loop (winding matches the surface)."""
    pts = np.asarray(surf.points, float)
    tri = [_triangles(surf)]
    new_pts = [pts]
    n = len(pts)
    for lp in loops:
        new_pts.append(pts[lp].mean(axis=0, keepdims=True))
        # boundary half-edges run lp[i] -> lp[i+1] in face order; the cap uses the reverse
        tri.append(np.column_stack([np.roll(lp, -1), lp, np.full(len(lp), n)]))
        n += 1
    return pv.PolyData(np.vstack(new_pts), _vtk_faces(np.vstack(tri)))


# --- small mesh helpers ------------------------------------------------------------------


def _triangles(surface: pv.PolyData) -> np.ndarray:
    """(m, 3) point ids of the triangles of an all-triangle PolyData."""
    if surface.n_cells == 0:
        return np.zeros((0, 3), int)
    faces = np.asarray(surface.faces)
    if len(faces) == 0:
        return np.zeros((0, 3), int)
    if faces.size % 4 or np.any(faces[::4] != 3):
        faces = np.asarray(surface.triangulate().faces)
    return faces.reshape(-1, 4)[:, 1:].astype(np.int64)


def _vtk_faces(tri: np.ndarray) -> np.ndarray:
    """VTK face array of (m, 3) triangles."""
    return np.column_stack([np.full(len(tri), 3), tri]).ravel()


def _half_edges(tri: np.ndarray) -> np.ndarray:
    """Directed edges (3m, 2) of triangles in winding order (face f owns rows 3f..3f+2)."""
    return tri[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2)


def _edge_key(e: np.ndarray, undirected: bool = True) -> np.ndarray:
    """int64 key of each edge row (sorted first when undirected)."""
    e = np.sort(e, axis=1) if undirected else e
    return e[:, 0].astype(np.int64) * (int(e.max(initial=0)) + 1) + e[:, 1]


def _edge_counts(tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per half-edge: index of its undirected edge; per undirected edge: number of faces."""
    _, inv, counts = np.unique(_edge_key(_half_edges(tri)), return_inverse=True, return_counts=True)
    return inv.ravel(), counts


def _edges(tri: np.ndarray) -> np.ndarray:
    """Unique undirected edges (e, 2) of triangles."""
    e = np.sort(_half_edges(tri), axis=1)
    _, first = np.unique(_edge_key(e, undirected=False), return_index=True)
    return e[first]


def _edge_faces(tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique edges and their first two faces (-1 when only one)."""
    e = np.sort(_half_edges(tri), axis=1)
    _, first_he, inv = np.unique(_edge_key(e, undirected=False), return_index=True,
                                 return_inverse=True)
    edges, inv = e[first_he], inv.ravel()
    faces = np.repeat(np.arange(len(tri)), 3)
    order = np.argsort(inv, kind="stable")
    first = np.full(len(edges), -1)
    second = np.full(len(edges), -1)
    first[inv[order[::-1]]] = faces[order[::-1]]
    second[inv[order]] = faces[order]
    second[second == first] = -1
    return edges, np.column_stack([first, second])


def _edge_lengths(points, tri: np.ndarray) -> np.ndarray:
    """Lengths of the unique edges (mm)."""
    pts = np.asarray(points, float)
    e = _edges(tri)
    return np.linalg.norm(pts[e[:, 1]] - pts[e[:, 0]], axis=1)


def _boundary_points(surface: pv.PolyData) -> np.ndarray:
    """Boolean mask of points on boundary edges."""
    out = np.zeros(surface.n_points, bool)
    for lp in _loops(surface):
        out[lp] = True
    return out


def _face_components(surf: pv.PolyData) -> tuple[np.ndarray, int]:
    """Component label per face (faces connected through shared points) and their count."""
    tri = _triangles(surf)
    if len(tri) == 0:
        return np.zeros(0, int), 0
    m = len(tri)
    rows = np.repeat(np.arange(m), 3)
    g = sp.coo_matrix((np.ones(rows.size), (rows, m + tri.ravel())), shape=(m + surf.n_points,) * 2)
    _, lab = connected_components(g, directed=False)
    face_lab = lab[: len(tri)]
    uniq, face_lab = np.unique(face_lab, return_inverse=True)
    return face_lab, len(uniq)


def _signed_volume(points, tri: np.ndarray) -> float:
    """Enclosed volume (mm³) by the divergence theorem; positive for outward winding."""
    p = np.asarray(points, float)[tri]
    return float(np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0)
