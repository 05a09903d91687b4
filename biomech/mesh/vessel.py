"""Solver-ready vessel wall (and intraluminal thrombus) volume meshes from triangulated surfaces.

The lumen surface (triangles in mm, open or closed, any orientation) is extruded along
smoothed outward vertex normals into layers of WEDGE6 cells: one wedge per surface triangle
per layer, the prism axis running through the wall. This is the layout the README
verification table recommends for thin walls - radially layered wedges do not lock with the
mixed (Q1P0) formulation, unlike wedges with triangles in the cross-section or TET4. No
volume mesher is involved (numpy, scipy and VTK only; nothing GPL).

Pipeline (:func:`wall_from_surface`, :func:`thrombus_and_wall`):

1. Surface clean-up: triangulate, merge coincident points, drop degenerate and duplicate
   triangles; non-manifold edges, pinched open ends and non-orientable surfaces are refused.
2. Orientation: triangles are made consistent per connected component (breadth-first over
   shared edges), then flipped as a whole where the signed volume enclosed by the component
   - its open ends capped by fans - is negative, so that normals point out of the lumen.
3. Open ends: boundary loops. The ``inlet`` is chosen by ``inlet="auto"``: the end with the
   largest enclosed area (the widest vessel); ends whose equivalent diameter is within 5 % of
   the largest tie and the most superior one (largest z, superior in both LPS and RAS) wins
   (the rule of :mod:`biomech.mesh.centerline`). ``inlet="superior"`` takes the largest z,
   a point ``(x, y, z)`` the end whose centroid is nearest. The others are ``outlet_1``,
   ``outlet_2``, ... by decreasing area (ties: decreasing z).
4. Normals: angle-weighted vertex normals, ``smoothing`` Jacobi iterations of Laplacian
   smoothing (weight 1/2); on an open end cut across the vessel the normals are projected
   into the plane of the end loop, so the rim faces stay planar (flat clamps and flow
   extensions); on oblique cuts (surface normal > 40 deg off the end plane) they are left
   free so the rim wedges are not skewed (partly projected between 20 and 40 deg).
5. Extrusion with a guard: straight columns ``x_i + s h_i n_i``, ``s`` uniform in [0, 1]
   per layer. Wedges that fold (det J <= 0 at a corner or quadrature point) or nearly fold
   (scaled Jacobian < 0.15 and < half of that of the right prism on the same triangle) -
   concave regions whose radius of curvature is below the thickness - get extra local
   normal smoothing around them, in rounds with a growing neighbourhood, which spreads the
   columns. Where columns still fold (sharper than the normals can follow, e.g. the flow
   divider of a bifurcation) the step is limited: those columns are shortened, tapered into
   their neighbours, down to ``1 - max_thinning`` of their height (default: half), with a
   warning; ``wall_thickness`` holds the thickness actually meshed. If cells stay inverted a
   MeshError names them and the fix. A second guard refuses walls of parts of the surface
   that are near in space but far along the surface (e.g. two touching vessels) when they
   overlap.
6. Thickness: a constant, a per-point array (one value per input point) or, with an
   ``outer`` surface, the distance along the normal to the first crossing of the outer
   surface (VTK ray casting; the nearest-point distance where a ray misses, e.g. grazing an
   open end), so that the outer nodes lie on the given surface.

Returned :class:`~biomech.mesh.core.Mesh` conventions:

* node ``k * n + i`` is surface vertex ``i`` on level ``k`` (level 0 = lumen);
* wedge ``(a_k, b_k, c_k, a_k+1, b_k+1, c_k+1)`` for each outward triangle ``(a, b, c)``:
  positive det J in the reference wedge of :mod:`biomech.fem.elements`;
* regions ``wall`` (tag 1) and ``thrombus`` (tag 2);
* face sets, outward: ``lumen`` (triangles), ``outer`` (triangles) and per open end its rim
  quads, ``inlet``, ``outlet_1``, ...;
* cell data ``basis`` (n, 9): rows circumferential, axial, radial unit vectors (the layout
  :class:`biomech.model.Model` reads for fibre materials); radial = the extrusion direction;
  axial = tangent of a given ``centerline`` (in its point order), else the projected
  ``axis_hint``, else the surface gradient of a harmonic field (0 on the inlet, 1 on the
  outlets, so it points downstream; for one open end a Poisson field growing away from it;
  for a closed surface the principal axis of the points) - it follows curved vessels and
  branches; circumferential = axial x radial, re-orthonormalised; ``wall_thickness`` (mm,
  wall thickness of the cell's column at its footprint); ``layer`` (0 = at the lumen);
  ``ilt_thickness`` (thrombus meshes, mm).

Thrombus thickness -> 0 (:func:`thrombus_and_wall`): the mesh must stay conforming and all
wedge, so no column collapses (a partly collapsed wedge is a pyramid or a tet: degenerate as
a wedge, and locking if split into TET4). A surface triangle is a thrombus footprint when
the mean ILT of its vertices (measured along the initial smoothed normals) is >=
``min_ilt``; its column's thrombus-layer cells are ``thrombus``, with ``ilt_thickness`` = the
mean of ``max(ilt, min_ilt)`` over its vertices. Elsewhere there is no thrombus: the
thrombus-layer cells of the column are tagged ``wall`` (the wall sits on the lumen) and
``ilt_thickness`` is 0. Heights of the thrombus layers per vertex: ``max(ilt, min_ilt)`` on
vertices of a thrombus footprint; on the others a placeholder ``max(min_ilt, wall/2)``,
whose wall extrusion is shortened by the same amount, so the wall there is exactly
``wall_thickness`` thick (in ``ilt_layers + wall_layers`` layers, aspect ratio about
edge x ilt_layers / (wall/2)). Along the border of the thrombus (vertices shared by both
kinds of footprint) the wall is thicker by the local ILT, at most a few ``min_ilt``. The
thinnest thrombus cells, ``min_ilt / ilt_layers`` thick, lie along that border.
"""

from __future__ import annotations

import itertools
import logging
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree

from biomech.errors import MeshError
from biomech.fem.elements import ELEMENTS
from biomech.mesh.core import CellBlock, Mesh

__all__ = [
    "WALL_TAG",
    "THROMBUS_TAG",
    "wall_from_surface",
    "thrombus_and_wall",
    "vessel_mesh_report",
    "assert_mesh_quality",
    "cell_quality",
]

WALL_TAG = 1
THROMBUS_TAG = 2

_LOG = logging.getLogger(__name__)
_TIE = 0.95  # ends within 5 % of the largest equivalent diameter tie for the inlet
_RELAX = 0.5  # weight of the neighbour mean in one normal-smoothing iteration
_REPAIR_SJ = 0.15  # cells below this scaled Jacobian (and half their right prism's) get repaired
_OVERLAP = 0.95  # outer node closer than this x the other wall's thickness -> overlap
_INLET_CHOICES = "inlet={!r}: use 'auto', 'largest', 'superior' or a point (x, y, z)"

# --- quality of single cells (same measures as biomech.mesh.quality) --------------------

from biomech.mesh.quality import _EDGES, _IDEAL, _S3  # noqa: E402  (one definition of the measures)
from biomech.mesh.quality import _scaled_jacobian as _scaled  # noqa: E402


def _tabulated(cell_type: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Gradients at quadrature points and corners, quadrature weights, number of corners."""
    elem = ELEMENTS[cell_type]
    _, dq, w = elem.tabulate()
    dc = elem.grad(elem.reference_nodes[: elem.corner_nodes])
    return dq, dc, w, elem.corner_nodes


def _jacobian(x: np.ndarray, dN: np.ndarray) -> list[list[np.ndarray]]:
    """J[i][j] (cells, points) = sum_a x[c, a, i] dN[q, a, j] for x (cells, nodes, 3)."""
    nc, nn, _ = x.shape
    a = np.ascontiguousarray(x.transpose(0, 2, 1)).reshape(-1, nn)
    b = np.ascontiguousarray(dN.transpose(1, 0, 2)).reshape(nn, -1)
    j = (a @ b).reshape(nc, 3, len(dN), 3)
    return [[j[:, i, :, k] for k in range(3)] for i in range(3)]


def _det3(J: list[list[np.ndarray]]) -> np.ndarray:
    return (
        J[0][0] * (J[1][1] * J[2][2] - J[1][2] * J[2][1])
        - J[0][1] * (J[1][0] * J[2][2] - J[1][2] * J[2][0])
        + J[0][2] * (J[1][0] * J[2][1] - J[1][1] * J[2][0])
    )




def cell_quality(points: np.ndarray, conn: np.ndarray, cell_type: str) -> dict[str, np.ndarray]:
    """Per-cell quality: ``min_det_j`` (minimum over quadrature points and corners),
    ``scaled_jacobian`` (minimum over corners, 1 = ideal, <= 0 = inverted), ``aspect_ratio``
    (longest / shortest corner edge) and ``volume`` (mm^3), as in :mod:`biomech.mesh.quality`."""
    dq, dc, w, _ = _tabulated(cell_type)
    x = points[conn[:, : dc.shape[1]]]
    det_q = _det3(_jacobian(x, dq))
    jc = _jacobian(x, dc)
    edges = np.array(_EDGES[cell_type])
    d = x[:, edges[:, 1]] - x[:, edges[:, 0]]
    sq = np.einsum("cek,cek->ce", d, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(sq.min(axis=1) > 0, np.sqrt(sq.max(axis=1) / sq.min(axis=1)), np.inf)
    return {
        "min_det_j": np.minimum(det_q.min(axis=1), _det3(jc).min(axis=1)),
        "scaled_jacobian": _scaled(jc, np.linalg.inv(_IDEAL[cell_type])).min(axis=1),
        "aspect_ratio": ratio,
        "volume": det_q @ w,
    }


# --- surfaces ----------------------------------------------------------------------------


@dataclass
class _Surface:
    """A cleaned, outward-oriented triangle surface with its open ends."""

    points: np.ndarray  # (n, 3)
    tris: np.ndarray  # (m, 3), right-hand normals out of the lumen
    index: np.ndarray  # (n_input,) new index of each input point, -1 if dropped
    loops: list[np.ndarray]  # open ends: vertex ids in the direction of the triangles' edges
    loop_edges: list[np.ndarray]  # per loop: (k, 2) rows (triangle, local edge) of its edges
    adjacency: sp.csr_matrix  # vertex adjacency, edge lengths as data
    smoother: sp.csr_matrix  # row-normalised adjacency (mean of the neighbours)
    component: np.ndarray  # (m,) connected component of each triangle
    n_components: int
    name: str

    @property
    def n(self) -> int:
        return len(self.points)

    @property
    def edge_length(self) -> float:
        return float(self.adjacency.data.mean())


def _input_arrays(surface: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Points (n, 3) and triangles (m, 3) of a pyvista surface or a (points, triangles) pair."""
    if isinstance(surface, tuple) and len(surface) == 2:
        pts, tris = (np.asarray(a) for a in surface)
        pts = np.asarray(pts, dtype=np.float64)
        tris = np.asarray(tris, dtype=np.int64)
    else:
        import pyvista as pv

        if not isinstance(surface, pv.DataSet):
            raise MeshError(
                f"{what}: expected a pyvista.PolyData triangle surface or a (points, triangles) "
                f"pair, got {type(surface).__name__}"
            )
        poly = surface if isinstance(surface, pv.PolyData) else surface.extract_surface()
        n_in = poly.n_points
        tri = poly.triangulate()
        if tri.n_points != n_in:  # keep per-point arrays aligned with the input points
            raise MeshError(f"{what}: triangulating the surface changed its points; pass triangles")
        pts = np.asarray(tri.points, dtype=np.float64)
        faces = np.asarray(tri.faces, dtype=np.int64)
        if faces.size == 0:
            raise MeshError(f"{what}: the surface has no polygons (faces); pass a triangle surface")
        faces = faces.reshape(-1, 4)
        if (faces[:, 0] != 3).any():
            raise MeshError(f"{what}: triangulation left non-triangle polygons")
        tris = faces[:, 1:]
    if pts.ndim != 2 or pts.shape[1] != 3 or tris.ndim != 2 or tris.shape[1] != 3 or not len(tris):
        raise MeshError(f"{what}: need points (n, 3) and at least one triangle (m, 3)")
    if not np.isfinite(pts).all():
        raise MeshError(f"{what}: the surface has non-finite point coordinates")
    if tris.min() < 0 or tris.max() >= len(pts):
        raise MeshError(f"{what}: triangle indices out of range")
    return pts, tris


def _half_edges(tris: np.ndarray, n: int):
    """Directed half-edges (3m, 2) (edge k of triangle t is row 3t+k), the undirected edge id
    of each and the number of triangles using each undirected edge."""
    e = tris[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    key = np.sort(e, axis=1)
    _, inv, counts = np.unique(key[:, 0] * n + key[:, 1], return_inverse=True, return_counts=True)
    return e, inv.ravel(), counts


def _prepare_surface(surface: Any, what: str) -> _Surface:
    pts, tris = _input_arrays(surface, what)
    diag = float(np.linalg.norm(pts.max(axis=0) - pts.min(axis=0))) or 1.0
    # merge coincident points
    tol = 1e-9 * diag
    keys = np.round((pts - pts.min(axis=0)) / tol).astype(np.int64)
    _, first, merged = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    merged = merged.ravel()
    pts_m = pts[first]
    tris = merged[tris]
    # drop degenerate and duplicate triangles
    p = pts_m[tris]
    area2 = np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)
    ok = (
        (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 0] != tris[:, 2])
        & (area2 > 1e-12 * diag**2)
    )
    tris = tris[ok]
    _, uniq = np.unique(np.sort(tris, axis=1), axis=0, return_index=True)
    tris = tris[np.sort(uniq)]
    if not len(tris):
        raise MeshError(f"{what}: the surface has no non-degenerate triangles")
    # drop unused points
    used = np.zeros(len(pts_m), dtype=bool)
    used[tris.ravel()] = True
    new = -np.ones(len(pts_m), dtype=np.int64)
    new[used] = np.arange(used.sum())
    points = pts_m[used]
    tris = new[tris]
    index = new[merged]
    n = len(points)

    tris, component, n_comp = _orient_consistently(points, tris, what)
    loops, loop_edges = _boundary_loops(points, tris, what)
    # outward: signed volume of each component with its open ends capped must be positive
    vol = np.zeros(n_comp)
    centre = points.mean(axis=0)
    q = points[tris] - centre
    np.add.at(vol, component, np.einsum("ij,ij->i", q[:, 0], np.cross(q[:, 1], q[:, 2])))
    for loop, edges in zip(loops, loop_edges):
        c = points[loop].mean(axis=0) - centre
        a, b = points[loop] - centre, points[np.roll(loop, -1)] - centre
        vol[component[edges[0, 0]]] += np.einsum("j,ij->", c, np.cross(b, a))
    flip_comp = vol < 0
    if flip_comp.any():
        flip = flip_comp[component]
        tris[flip] = tris[flip][:, [0, 2, 1]]
        loops, loop_edges = _boundary_loops(points, tris, what)
    # vertex adjacency weighted by edge length, and the neighbour-mean operator
    e, _, _ = _half_edges(tris, n)
    length = np.linalg.norm(points[e[:, 0]] - points[e[:, 1]], axis=1)
    adj = sp.coo_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    adj = adj.maximum(adj.T).tocsr()
    ones = adj.copy()
    ones.data[:] = 1.0
    deg = np.asarray(ones.sum(axis=1)).ravel()
    smoother = (sp.diags(1.0 / np.maximum(deg, 1)) @ ones).tocsr()
    return _Surface(points, tris, index, loops, loop_edges, adj, smoother, component, n_comp, what)


def _orient_consistently(points: np.ndarray, tris: np.ndarray, what: str):
    """Flip triangles so neighbours traverse shared edges in opposite directions."""
    m, n = len(tris), len(points)
    e, inv, counts = _half_edges(tris, n)
    if (counts > 2).any():
        bad = np.flatnonzero(counts[inv] > 2)[0]
        loc = points[e[bad]].mean(axis=0)
        raise MeshError(
            f"{what}: {int((counts > 2).sum())} edges are shared by more than two triangles "
            f"(non-manifold), e.g. near {_fmt(loc)} mm; repair the surface (e.g. pymeshfix, "
            f"vmtk) before meshing the wall"
        )
    order = np.argsort(inv, kind="stable")
    starts = np.searchsorted(inv[order], np.arange(len(counts)))
    two = np.flatnonzero(counts == 2)
    h1, h2 = order[starts[two]], order[starts[two] + 1]
    t1, t2 = h1 // 3, h2 // 3
    same = e[h1, 0] == e[h2, 0]  # both triangles run the edge the same way: inconsistent
    graph = sp.coo_matrix((np.ones(len(two)), (t1, t2)), shape=(m, m)).tocsr()
    graph = (graph + graph.T).tocsr()
    n_comp, component = connected_components(graph, directed=False)
    rel = sp.coo_matrix((same.astype(np.float64) + 1.0, (t1, t2)), shape=(m, m)).tocsr()
    rel = (rel + rel.T).tocsr()
    flip = np.zeros(m, dtype=bool)
    _, roots = np.unique(component, return_index=True)
    for root in roots:
        bfs, pred = breadth_first_order(graph, int(root), directed=False, return_predecessors=True)
        if len(bfs) < 2:
            continue
        child = bfs[1:]
        inconsistent = np.asarray(rel[pred[child], child]).ravel() == 2.0
        for v, parent, bad in zip(child, pred[child], inconsistent):
            flip[v] = flip[parent] ^ bad
    if (same ^ flip[t1] ^ flip[t2]).any():
        raise MeshError(f"{what}: the surface is not orientable (Moebius-like); repair it first")
    tris = tris.copy()
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return tris, component, n_comp


def _boundary_loops(points: np.ndarray, tris: np.ndarray, what: str):
    """Open-end loops (vertex ids) and their edges (triangle, local edge), walked along the
    triangles' edge direction."""
    e, inv, counts = _half_edges(tris, len(points))
    half = np.flatnonzero(counts[inv] == 1)
    if not len(half):
        return [], []
    start_v = e[half, 0]
    if len(np.unique(start_v)) != len(start_v):
        dup = np.flatnonzero(np.bincount(start_v) > 1)[0]
        raise MeshError(
            f"{what}: an open end is pinched at vertex {dup} ({_fmt(points[dup])} mm): two "
            f"boundary loops touch there; repair the surface"
        )
    nxt = -np.ones(len(points), dtype=np.int64)
    nxt[start_v] = e[half, 1]
    half_of = -np.ones(len(points), dtype=np.int64)
    half_of[start_v] = half
    seen = np.zeros(len(points), dtype=bool)
    loops, loop_edges = [], []
    for v0 in start_v:
        if seen[v0]:
            continue
        loop = []
        v = v0
        while not seen[v]:
            seen[v] = True
            loop.append(v)
            v = nxt[v]
            if v < 0:
                raise MeshError(f"{what}: an open end does not close into a loop; repair it")
        if v != v0:
            raise MeshError(f"{what}: open-end loops are tangled; repair the surface")
        loop = np.array(loop, dtype=np.int64)
        h = half_of[loop]
        loops.append(loop)
        loop_edges.append(np.column_stack([h // 3, h % 3]))
    return loops, loop_edges


@dataclass
class _End:
    loop: int
    centroid: np.ndarray
    normal: np.ndarray  # unit, pointing out of the vessel through the end
    area: float


def _ends(surf: _Surface) -> list[_End]:
    out = []
    for k, loop in enumerate(surf.loops):
        p = surf.points[loop]
        c = p.mean(axis=0)
        a = 0.5 * np.cross(p - c, np.roll(p, -1, axis=0) - c).sum(axis=0)
        area = float(np.linalg.norm(a))
        normal = -a / area if area > 0 else np.zeros(3)
        out.append(_End(k, c, normal, area))
    return out


def _name_ends(ends: list[_End], inlet: Any) -> dict[int, str]:
    """Face-set name of each open end (loop index -> name)."""
    if not ends:
        return {}
    if isinstance(inlet, str):
        if inlet in ("auto", "largest"):
            big = max(e.area for e in ends)
            tied = [e for e in ends if np.sqrt(e.area) >= _TIE * np.sqrt(big)]
            first = max(tied, key=lambda e: e.centroid[2])
        elif inlet == "superior":
            first = max(ends, key=lambda e: e.centroid[2])
        else:
            raise ValueError(_INLET_CHOICES.format(inlet))
    else:
        point = np.asarray(inlet, dtype=float)
        if point.shape != (3,):
            raise ValueError(_INLET_CHOICES.format(inlet))
        first = min(ends, key=lambda e: float(np.linalg.norm(e.centroid - point)))
    rest = sorted((e for e in ends if e is not first), key=lambda e: (-e.area, -e.centroid[2]))
    names = {first.loop: "inlet"}
    names.update({e.loop: f"outlet_{i + 1}" for i, e in enumerate(rest)})
    return names


# --- normals and extrusion ---------------------------------------------------------------


def _angle_weighted_normals(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    p = points[tris]
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    fn /= np.linalg.norm(fn, axis=1)[:, None]
    vn = np.zeros((len(points), 3))
    for k in range(3):
        u = p[:, (k + 1) % 3] - p[:, k]
        v = p[:, (k + 2) % 3] - p[:, k]
        lengths = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
        cosang = np.einsum("ij,ij->i", u, v) / lengths
        ang = np.arccos(np.clip(cosang, -1.0, 1.0))
        for d in range(3):
            vn[:, d] += np.bincount(tris[:, k], weights=ang * fn[:, d], minlength=len(points))
    return _unit(vn)


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)


class _NormalField:
    """Vertex normals of one extrusion stage with the open-end plane constraint: on an end
    cut roughly across the vessel (surface normal within 20 deg of the end plane) the normals
    are projected into the end plane, so the rim stays planar; on oblique cuts (beyond 40 deg)
    they are left free, which keeps the rim wedges unskewed; in between, partly."""

    _FULL, _FREE = np.sin(np.radians(20.0)), np.sin(np.radians(40.0))

    def __init__(self, surf: _Surface, points: np.ndarray, smoothing: int) -> None:
        self.surf = surf
        n0 = _angle_weighted_normals(points, surf.tris)
        self.rim = np.zeros(surf.n, dtype=bool)
        self.rim_normal = np.zeros((surf.n, 3))
        for loop in surf.loops:
            p = points[loop]
            c = p.mean(axis=0)
            a = np.cross(p - c, np.roll(p, -1, axis=0) - c).sum(axis=0)
            if np.linalg.norm(a) > 0:
                self.rim[loop] = True
                self.rim_normal[loop] = a / np.linalg.norm(a)
        tilt = np.abs(np.einsum("ij,ij->i", n0, self.rim_normal))
        self.weight = np.clip((self._FREE - tilt) / (self._FREE - self._FULL), 0.0, 1.0)
        self.rim &= self.weight > 0
        self.n = self._constrain(n0)
        self.smooth(smoothing)

    def _constrain(self, n: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        sel = self.rim if mask is None else self.rim & mask
        if sel.any():
            m = self.rim_normal[sel]
            n[sel] -= (self.weight[sel] * np.einsum("ij,ij->i", n[sel], m))[:, None] * m
        return _unit(n)

    def smooth(self, iterations: int, mask: np.ndarray | None = None) -> None:
        for _ in range(int(iterations)):
            avg = (1.0 - _RELAX) * self.n + _RELAX * (self.surf.smoother @ self.n)
            new = self._constrain(_unit(avg), mask)
            if mask is None:
                self.n = new
            else:
                self.n[mask] = new[mask]


_WEDGE_QP = ELEMENTS["wedge"].quadrature()[0]
_WEDGE_CORNERS = ELEMENTS["wedge"].reference_nodes


def _wedge_check(bottom: np.ndarray, top: np.ndarray, tris: np.ndarray, top_tris=None):
    """min det J (quadrature points and corners) and min scaled Jacobian (corners) of the
    wedges (bottom[tri], top[top_tri]) (top_tris defaults to tris), per wedge; the linear
    wedge's Jacobian in closed form."""
    top_tris = tris if top_tris is None else top_tris
    b0, b1, b2 = (bottom[tris[:, k]] for k in range(3))
    t0, t1, t2 = (top[top_tris[:, k]] for k in range(3))
    er0, es0 = b1 - b0, b2 - b0  # d/dr, d/ds on the bottom (t = 0) ...
    er1, es1 = t1 - t0, t2 - t0  # ... and on the top (t = 1)
    c0, c1, c2 = t0 - b0, t1 - b1, t2 - b2  # d/dt at the three columns
    min_det = np.full(len(tris), np.inf)
    min_sj = np.full(len(tris), np.inf)
    for pts, corner in ((_WEDGE_QP, False), (_WEDGE_CORNERS, True)):
        for r, s, t in pts:
            jr = (1 - t) * er0 + t * er1
            js = (1 - t) * es0 + t * es1
            jt = (1 - r - s) * c0 + r * c1 + s * c2
            det = np.einsum("ij,ij->i", jr, np.cross(js, jt))
            min_det = np.minimum(min_det, det)
            if corner:  # T = J W^-1: columns jr, (2 js - jr) / sqrt(3), jt
                norms = (np.linalg.norm(jr, axis=1) * np.linalg.norm(2 * js - jr, axis=1)
                         / _S3 * np.linalg.norm(jt, axis=1))
                with np.errstate(divide="ignore", invalid="ignore"):
                    sj = np.where(norms > 0, det * (2 / _S3) / norms, -1.0)
                min_sj = np.minimum(min_sj, sj)
    return min_det, min_sj


def _right_prism_quality(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Scaled Jacobian of the right prism on each triangle: the best an extrusion can do."""
    p = points[tris]
    fn = _unit(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]))
    ell = np.linalg.norm(p[:, 1] - p[:, 0], axis=1)[:, None, None]
    top = p + ell * fn[:, None, :]
    idx = np.arange(3 * len(tris)).reshape(-1, 3)
    return _wedge_check(p.reshape(-1, 3), top.reshape(-1, 3), idx)[1]


@dataclass
class _Stage:
    """One extrusion stage: ``levels[k]`` = node coordinates of level k (n, 3)."""

    normals: np.ndarray
    heights: np.ndarray  # column heights actually used (after any thinning), mm
    levels: list[np.ndarray]
    repair_rounds: int
    thinned: np.ndarray  # vertices whose column was shortened by the fold guard


def _evaluate(base, normals, heights, fractions, tris):
    levels = [base + f * heights[:, None] * normals for f in fractions]
    min_det = np.full(len(tris), np.inf)
    min_sj = np.full(len(tris), np.inf)
    for k in range(len(fractions) - 1):
        d, s = _wedge_check(levels[k], levels[k + 1], tris)
        min_det, min_sj = np.minimum(min_det, d), np.minimum(min_sj, s)
    return levels, min_det, min_sj


def _grow(surf: _Surface, mask: np.ndarray, rings: int) -> np.ndarray:
    for _ in range(rings):
        mask = mask | ((surf.smoother @ mask.astype(float)) > 0)
    return mask


def _extrude(
    surf: _Surface,
    base: np.ndarray,
    field: _NormalField,
    heights_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n_layers: int,
    what: str,
    max_rounds: int,
    max_thinning: float,
    floor: np.ndarray | None = None,
) -> _Stage:
    """Straight-column extrusion of ``base`` with the fold guard: local normal smoothing
    first; where columns still fold, shorter columns (down to ``floor`` (per vertex), by
    default ``1 - max_thinning``, of the requested height)."""
    tris, n = surf.tris, surf.n
    if not 0.0 <= max_thinning < 1.0:
        raise ValueError(f"max_thinning must be in [0, 1), got {max_thinning!r}")
    heights = np.asarray(heights_of(field.n, np.arange(n)), dtype=float).copy()
    right = _right_prism_quality(base, tris)
    fractions = np.linspace(0.0, 1.0, n_layers + 1)
    stale, best, rnd = 0, None, 0
    for rnd in range(max_rounds + 1):
        levels, min_det, min_sj = _evaluate(base, field.n, heights, fractions, tris)
        bad = (min_det <= 0) | ((min_sj < _REPAIR_SJ) & (min_sj < 0.5 * right))
        if not bad.any():
            break
        score = (int((min_det <= 0).sum()), int(bad.sum()))
        if best is None or score < best:
            best, stale = score, 0
        else:
            stale += 1
        if rnd == max_rounds or stale >= 8:
            break
        mask = np.zeros(n, dtype=bool)
        mask[tris[bad].ravel()] = True
        mask = _grow(surf, mask, 1 + rnd // 4)  # a growing neighbourhood as rounds go on
        field.smooth(2, mask)
        changed = np.flatnonzero(mask)
        heights[changed] = heights_of(field.n, changed)
    # limit the step: shorten the columns around cells that still fold
    scale = np.ones(n)
    floor = np.full(n, 1.0 - float(max_thinning)) if floor is None else floor
    for _ in range(60 if max_thinning > 0 else 0):
        inverted = min_det <= 0
        if not inverted.any():
            break
        mask = np.zeros(n, dtype=bool)
        mask[tris[inverted].ravel()] = True
        mask = _grow(surf, mask, 1)
        if (scale[mask] <= floor[mask] + 1e-12).all():
            break
        scale[mask] = np.maximum(0.9 * scale[mask], floor[mask])
        taper = _grow(surf, mask, 2)  # no steps in the thickness: blend into the neighbours
        smooth = np.minimum(scale, (1 - _RELAX) * scale + _RELAX * (surf.smoother @ scale))
        scale[taper] = smooth[taper]
        levels, min_det, min_sj = _evaluate(base, field.n, heights * scale, fractions, tris)
    heights = heights * scale
    inverted = np.flatnonzero(min_det <= 0)
    if len(inverted):
        worst = inverted[np.argsort(min_det[inverted])[:3]]
        where = "; ".join(
            f"triangle {t} near {_fmt(base[tris[t]].mean(axis=0))} mm (height "
            f"{heights[tris[t]].mean():.3g} mm)" for t in worst
        )
        thinning = (f" and shortening those columns to {floor[tris[worst[0]]].min():.0%} of "
                    f"their height" if max_thinning > 0 else "")
        error = MeshError(
            f"{what}: extruding the {surf.name} surface folds {len(inverted)} wedge columns "
            f"(det J <= 0) even after {rnd} rounds of local normal smoothing{thinning}, e.g. "
            f"{where}. The surface is concave there with a radius of curvature below the "
            f"extrusion height, or its triangles are tangled. Fix: smooth or remesh the surface "
            f"there (e.g. pyvista smooth_taubin, a finer and more regular triangulation), raise "
            f"`smoothing`, allow more `max_thinning`, or lower the thickness locally "
            f"(per-point thickness array)."
        )
        error.where = base[tris[inverted]].mean(axis=1)  # for a local repair by the caller
        raise error
    thinned = np.flatnonzero(scale < 1.0)
    if rnd:
        _LOG.info("%s: %d rounds of local normal smoothing against folds", what, rnd)
    if len(thinned):
        message = (
            f"{what}: {len(thinned)} columns of the {surf.name} surface folded in concave "
            f"regions and were shortened to as little as {scale.min():.0%} of their height "
            f"(e.g. near {_fmt(base[thinned[np.argmin(scale[thinned])]])} mm); the cell data "
            f"'wall_thickness' holds the thickness actually meshed"
        )
        warnings.warn(message, stacklevel=3)
    return _Stage(field.n.copy(), heights, levels, rnd, thinned)


def _check_overlap(surf: _Surface, base: np.ndarray, top: np.ndarray, total: np.ndarray, what: str):
    """Refuse walls of parts of the surface that are near in space but far apart along the
    surface (e.g. two branches at a crotch) when they overlap: an outer node closer to a
    lumen vertex than 95 % of that vertex's column height lies inside the other wall."""
    lists = cKDTree(top).query_ball_point(base, _OVERLAP * total)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    if not counts.sum():
        return
    pj = np.repeat(np.arange(len(base)), counts)  # lumen vertex
    pi = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
    keep = pi != pj
    pi, pj = pi[keep], pj[keep]
    if not len(pi):
        return
    # near in space, far along the surface: the path from i to j is much longer than the
    # straight line between them (on a smooth surface they are close for near vertices)
    limit = 2.0 * np.linalg.norm(base[pi] - base[pj], axis=1) + 3.0 * surf.edge_length
    remote = np.zeros(len(pi), dtype=bool)
    sources = np.unique(pi)
    for start in range(0, len(sources), 64):
        chunk = sources[start : start + 64]
        sel = np.flatnonzero(np.isin(pi, chunk))
        reach = float(limit[sel].max())
        dist = dijkstra(surf.adjacency, directed=False, indices=chunk, limit=reach)
        remote[sel] = dist[np.searchsorted(chunk, pi[sel]), pj[sel]] > limit[sel]
    if remote.any():
        k = np.flatnonzero(remote)
        i, j = int(pi[k[0]]), int(pj[k[0]])
        raise MeshError(
            f"{what}: the walls of two parts of the {surf.name} surface that are far apart "
            f"along the surface overlap in space at {len(np.unique(pi[k]))} outer nodes, e.g. "
            f"the outer node above {_fmt(base[i])} mm lies {np.linalg.norm(top[i] - base[j]):.3g} "
            f"mm from the {surf.name} at {_fmt(base[j])} mm, whose wall is {total[j]:.3g} mm "
            f"thick. Fix: lower the thickness there (per-point thickness array) or separate the "
            f"branches in the surface; `check_overlap=False` skips this check."
        )


class _RayCaster:
    """Distances from points along directions to an oriented target surface (VTK)."""

    def __init__(self, surf: _Surface, extent: float) -> None:
        import pyvista as pv
        from vtkmodules.vtkCommonDataModel import vtkGenericCell, vtkStaticCellLocator
        from vtkmodules.vtkCommonCore import vtkIdList, vtkPoints
        from vtkmodules.vtkFiltersCore import vtkImplicitPolyDataDistance

        self.poly = pv.PolyData.from_regular_faces(surf.points, surf.tris)
        self.locator = vtkStaticCellLocator()
        self.locator.SetDataSet(self.poly)
        self.locator.BuildLocator()
        self.implicit = vtkImplicitPolyDataDistance()
        self.implicit.SetInput(self.poly)
        self._buf = (vtkPoints(), vtkIdList(), vtkGenericCell())
        self.extent = extent

    def signed_distance(self, pts: np.ndarray) -> np.ndarray:
        """Negative inside (behind the outward normals), positive outside."""
        from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
        from vtkmodules.vtkCommonCore import vtkDoubleArray

        out = vtkDoubleArray()
        self.implicit.FunctionValue(numpy_to_vtk(np.ascontiguousarray(pts, dtype=np.float64)), out)
        return vtk_to_numpy(out).copy()

    def first_hit(self, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """Distance to the first crossing along each ray (nan where none)."""
        pts, ids, cell = self._buf
        out = np.full(len(origins), np.nan)
        ends = origins + self.extent * dirs
        for k, (a, b) in enumerate(zip(origins.tolist(), ends.tolist())):
            found = self.locator.IntersectWithLine(a, b, 0.0, pts, ids, cell)
            if found and pts.GetNumberOfPoints():
                hits = np.array([pts.GetPoint(i) for i in range(pts.GetNumberOfPoints())])
                out[k] = np.linalg.norm(hits - origins[k], axis=1).min()
        return out

    def thickness(self, origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:
        """Distance along ``dirs`` to the target for points inside it; minus the distance
        to the target for points outside it."""
        sd = self.signed_distance(origins)
        out = sd.copy() * -1.0
        inside = np.flatnonzero(sd < 0)
        if len(inside):
            hit = self.first_hit(origins[inside], dirs[inside])
            miss = np.isnan(hit)
            hit[miss] = -sd[inside][miss]  # grazing rays: nearest-point distance
            out[inside] = hit
        return out


# --- axial direction ---------------------------------------------------------------------


def _triangle_gradients(points: np.ndarray, tris: np.ndarray, u: np.ndarray) -> np.ndarray:
    p = points[tris]
    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    a2 = np.linalg.norm(normal, axis=1)[:, None]
    nu = normal / a2
    g = (
        u[tris[:, 0], None] * np.cross(nu, p[:, 2] - p[:, 1])
        + u[tris[:, 1], None] * np.cross(nu, p[:, 0] - p[:, 2])
        + u[tris[:, 2], None] * np.cross(nu, p[:, 1] - p[:, 0])
    )
    return g / a2


def _harmonic_axis(surf: _Surface, names: dict[int, str]) -> np.ndarray:
    """Per-triangle tangent along the vessel: surface gradient of a harmonic field (inlet 0,
    outlets 1; Poisson away from a single open end); zeros on closed components."""
    pts, tris, n = surf.points, surf.tris, surf.n
    rows, cols, vals = [], [], []
    p = pts[tris]
    for k in range(3):
        i, j, o = tris[:, k], tris[:, (k + 1) % 3], tris[:, (k + 2) % 3]
        u, v = pts[i] - pts[o], pts[j] - pts[o]
        cot = np.einsum("ij,ij->i", u, v) / np.linalg.norm(np.cross(u, v), axis=1)
        w = np.maximum(0.5 * cot, 1e-6)
        rows += [i, j]
        cols += [j, i]
        vals += [w, w]
    ij = (np.concatenate(rows), np.concatenate(cols))
    wmat = sp.coo_matrix((np.concatenate(vals), ij), (n, n)).tocsr()
    stiff = (sp.diags(np.asarray(wmat.sum(axis=1)).ravel()) - wmat).tocsr()
    area = np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1) / 6.0
    mass = np.bincount(tris.ravel(), weights=np.repeat(area, 3), minlength=n)
    vert_comp = np.zeros(n, dtype=np.int64)
    vert_comp[tris.ravel()] = np.repeat(surf.component, 3)
    loops_of = {c: [] for c in range(surf.n_components)}
    for k, loop in enumerate(surf.loops):
        loops_of[int(vert_comp[loop[0]])].append(k)
    u = np.zeros(n)
    fixed = np.zeros(n, dtype=bool)
    rhs = np.zeros(n)
    active = np.zeros(n, dtype=bool)
    for c, ks in loops_of.items():
        if not ks:
            continue
        active |= vert_comp == c
        if len(ks) == 1:
            rhs[vert_comp == c] = mass[vert_comp == c]
            fixed[surf.loops[ks[0]]] = True
            continue
        inlet = [k for k in ks if names.get(k) == "inlet"]
        first = inlet[0] if inlet else max(ks, key=lambda k: len(surf.loops[k]))
        for k in ks:
            fixed[surf.loops[k]] = True
            u[surf.loops[k]] = 0.0 if k == first else 1.0
    free = np.flatnonzero(active & ~fixed)
    if len(free):
        fx = np.flatnonzero(fixed)
        b = rhs[free] - stiff[free][:, fx] @ u[fx]
        u[free] = spsolve(stiff[free][:, free].tocsc(), b)
    g = _triangle_gradients(pts, tris, u)
    # one vertex-averaging pass: smoother directions on irregular triangulations
    gv = np.zeros((n, 3))
    for d in range(3):
        gv[:, d] = np.bincount(tris.ravel(), weights=np.repeat(g[:, d] * area, 3), minlength=n)
    g = gv[tris].mean(axis=1)
    g[~active[tris[:, 0]]] = 0.0
    return g


def _principal_axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = points - points.mean(axis=0)
    _, vecs = np.linalg.eigh(c.T @ c)
    return vecs[:, 2], vecs[:, 1]


def _polylines(centerline: Any) -> list[np.ndarray]:
    """Ordered point lists of a centerline: a :class:`biomech.mesh.centerline.Centerline`
    (its branches), a PolyData (its lines, else its points in order), an (m, 3) array or a
    list of such arrays."""
    if hasattr(centerline, "branches") and hasattr(centerline, "points"):
        pts = np.asarray(centerline.points, dtype=float)
        return [pts[np.asarray(b, dtype=np.int64)] for b in centerline.branches]
    if hasattr(centerline, "lines") and hasattr(centerline, "points"):
        pts = np.asarray(centerline.points, dtype=float)
        lines = np.asarray(centerline.lines, dtype=np.int64)
        if not len(lines):
            return [pts]
        out, k = [], 0
        while k < len(lines):
            out.append(pts[lines[k + 1 : k + 1 + lines[k]]])
            k += 1 + lines[k]
        return out
    if isinstance(centerline, (list, tuple)) and centerline and np.ndim(centerline[0]) == 2:
        return [np.asarray(c, dtype=float) for c in centerline]
    return [np.asarray(centerline, dtype=float)]


def _centerline_tangents(centerline: Any, where: np.ndarray) -> np.ndarray:
    """Unit tangent (in point order) of the centerline segment nearest to each point."""
    samples, tangents = [], []
    for cl in _polylines(centerline):
        if cl.ndim != 2 or cl.shape[1] != 3:
            raise ValueError("centerline: need ordered polylines of points (m, 3)")
        seg = np.diff(cl, axis=0)
        seg_len = np.linalg.norm(seg, axis=1)
        keep = seg_len > 0
        for a, s, length in zip(cl[:-1][keep], seg[keep], seg_len[keep]):
            k = max(1, int(np.ceil(4 * length / max(float(np.median(seg_len[keep])), 1e-12))))
            t = (np.arange(k) + 0.5) / k
            samples.append(a + t[:, None] * s)
            tangents.append(np.broadcast_to(s / length, (k, 3)))
    if not samples:
        raise ValueError("centerline: need at least one segment of non-zero length")
    _, nearest = cKDTree(np.concatenate(samples)).query(where)
    return np.concatenate(tangents)[nearest]


def _axial_per_triangle(surf, names, centerline, axis_hint) -> tuple[np.ndarray, np.ndarray]:
    """Preferred axial direction per triangle and a fallback direction."""
    m = len(surf.tris)
    major, second = _principal_axes(surf.points)
    if centerline is not None:
        pref = _centerline_tangents(centerline, surf.points[surf.tris].mean(axis=1))
    elif axis_hint is not None:
        hint = np.asarray(axis_hint, dtype=float)
        if hint.shape != (3,) or not np.linalg.norm(hint) > 0:
            raise ValueError(f"axis_hint must be a non-zero 3-vector, got {axis_hint!r}")
        pref = np.broadcast_to(hint / np.linalg.norm(hint), (m, 3)).copy()
    else:
        pref = _harmonic_axis(surf, names)
        norm = np.linalg.norm(pref, axis=1)
        weak = norm <= 1e-9 * max(float(norm.max(initial=0.0)), 1e-300)
        pref[weak] = major
    fallback = np.broadcast_to(second, (m, 3)).copy()
    return pref, fallback


def _basis(radial: np.ndarray, axial: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Rows (circumferential, axial, radial) per cell, flattened to (n, 9)."""
    r = _unit(radial)
    a = _unit(axial)
    a = a - np.einsum("ij,ij->i", a, r)[:, None] * r
    weak = np.linalg.norm(a, axis=1) < 0.2
    if weak.any():
        f = fallback[weak] - np.einsum("ij,ij->i", fallback[weak], r[weak])[:, None] * r[weak]
        still = np.linalg.norm(f, axis=1) < 0.2
        if still.any():  # any direction perpendicular to r
            e = np.where(np.abs(r[weak][still][:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
            f[still] = np.cross(r[weak][still], e)
        a[weak] = f
    a = _unit(a)
    c = _unit(np.cross(a, r))
    a = np.cross(r, c)
    return np.stack([c, a, r], axis=1).reshape(-1, 9)


# --- assembly ----------------------------------------------------------------------------


def _per_point(value: Any, surf: _Surface, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        out = np.full(surf.n, float(arr))
    elif arr.shape == (len(surf.index),):
        out = np.empty(surf.n)
        ok = surf.index >= 0
        out[surf.index[ok]] = arr[ok]
    else:
        raise ValueError(
            f"{name}: a number (mm) or one value per input point ({len(surf.index)}), "
            f"got shape {arr.shape}"
        )
    if not np.isfinite(out).all() or (out <= 0).any():
        raise ValueError(f"{name} must be positive and finite (mm), min {np.nanmin(out):.3g}")
    return out


def _layers(value: Any, name: str) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _fmt(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:.4g}" for x in np.asarray(v, dtype=float)) + ")"


def _assemble(
    surf: _Surface,
    levels: list[np.ndarray],
    layer_normals: list[np.ndarray],
    layer_region: list[np.ndarray],
    names: dict[int, str],
    cell_data: dict[str, np.ndarray],
    axial: tuple[np.ndarray, np.ndarray],
    region_names: dict[str, int],
    source: str,
) -> Mesh:
    """Wedges between consecutive levels; face sets; basis and per-column cell data."""
    n, tris, m = surf.n, surf.tris, len(surf.tris)
    n_layers = len(levels) - 1
    points = np.concatenate(levels)
    conn = np.concatenate(
        [np.hstack([tris + k * n, tris + (k + 1) * n]) for k in range(n_layers)]
    )
    region = np.concatenate(layer_region)
    radial = np.concatenate([normals[tris].sum(axis=1) for normals in layer_normals])
    basis = _basis(radial, np.tile(axial[0], (n_layers, 1)), np.tile(axial[1], (n_layers, 1)))
    face_sets = {
        "lumen": {"triangle": tris[:, [0, 2, 1]].copy()},
        "outer": {"triangle": tris + n_layers * n},
    }
    for k in sorted(names, key=lambda k: (names[k] != "inlet", len(names[k]), names[k])):
        edges = surf.loop_edges[k]
        a = tris[edges[:, 0], edges[:, 1]]
        b = tris[edges[:, 0], (edges[:, 1] + 1) % 3]
        quads = [np.column_stack([a + l * n, b + l * n, b + (l + 1) * n, a + (l + 1) * n])
                 for l in range(n_layers)]
        face_sets[names[k]] = {"quad": np.concatenate(quads)}
    data = {"basis": [basis], "layer": [np.repeat(np.arange(n_layers), m)]}
    for key, per_tri in cell_data.items():
        data[key] = [np.tile(per_tri, n_layers)]
    return Mesh(
        points,
        [CellBlock("wedge", conn, region)],
        region_names=region_names,
        face_sets=face_sets,
        cell_data=data,
        source=source,
    )


def _log_quality(mesh: Mesh, what: str, seconds: float) -> None:
    _LOG.info("%s: %d wedges, %d nodes in %.2f s; min scaled Jacobian %.3g", what,
              mesh.n_cells, mesh.n_points, seconds, _min_scaled_jacobian(mesh))


def _min_scaled_jacobian(mesh: Mesh) -> float:
    conn = mesh.blocks[0].conn
    return float(_wedge_check(mesh.points, mesh.points, conn[:, :3], conn[:, 3:])[1].min())


def wall_from_surface(
    lumen: Any,
    *,
    thickness: float | np.ndarray = 1.5,
    layers: int = 2,
    outer: Any = None,
    smoothing: int = 5,
    centerline: Any = None,
    axis_hint: Sequence[float] | None = None,
    inlet: str | Sequence[float] = "auto",
    min_thickness: float = 0.1,
    check_overlap: bool = True,
    max_repair_rounds: int = 40,
    max_thinning: float = 0.5,
) -> Mesh:
    """Layered WEDGE6 wall mesh (region ``wall``) outside a lumen surface.

    ``lumen``: pyvista.PolyData (or ``(points, triangles)``) in mm, open or closed, normals
    in any (consistent or not) orientation. ``thickness``: mm, a number or one value per
    input point; ignored when ``outer`` (the abluminal surface) is given - then each lumen
    vertex is extruded to the first crossing of ``outer`` along its smoothed normal (a
    MeshError where that is below ``min_thickness`` or the lumen lies outside ``outer``).
    ``layers`` wedges through the wall. ``smoothing``: Jacobi iterations of normal smoothing
    (the fold guard adds local ones). ``centerline`` (a
    :class:`~biomech.mesh.centerline.Centerline`, a PolyData with lines, or ordered (m, 3)
    polylines) or ``axis_hint`` (3-vector) set the axial basis direction, else a harmonic
    field over the surface does. ``inlet``: see the module docstring. ``max_repair_rounds`` and
    ``max_thinning`` bound the fold guard (module docstring, step 5); ``check_overlap``
    switches the overlap guard. Raises MeshError for surfaces that cannot be meshed
    (non-manifold, folds the guard cannot remove, overlapping walls).
    """
    t0 = time.perf_counter()
    layers = _layers(layers, "layers")
    surf = _prepare_surface(lumen, "lumen")
    names = _name_ends(_ends(surf), inlet)
    field = _NormalField(surf, surf.points, smoothing)
    if outer is None:
        h = _per_point(thickness, surf, "thickness")

        def heights_of(normals, idx):
            return h[idx]
    else:
        target = _prepare_surface(outer, "outer")
        caster = _RayCaster(target, _extent(surf, target))

        def heights_of(normals, idx):
            d = caster.thickness(surf.points[idx], normals[idx])
            low = d < min_thickness
            if low.any():
                k = idx[np.flatnonzero(low)[0]]
                raise MeshError(
                    f"wall_from_surface: the outer surface is closer than min_thickness "
                    f"{min_thickness:g} mm to the lumen, or the lumen pokes through it, at "
                    f"{int(low.sum())} lumen points, e.g. {_fmt(surf.points[k])} mm (distance "
                    f"{d[np.flatnonzero(low)[0]]:.3g} mm); check that both surfaces are in the "
                    f"same frame and units, or give a thickness instead of `outer`"
                )
            return d

    stage = _extrude(surf, surf.points, field, heights_of, layers, "wall_from_surface",
                     max_repair_rounds, max_thinning)
    if check_overlap:
        _check_overlap(surf, surf.points, stage.levels[-1], stage.heights, "wall_from_surface")
    axial = _axial_per_triangle(surf, names, centerline, axis_hint)
    m = len(surf.tris)
    mesh = _assemble(
        surf, stage.levels, [stage.normals] * layers, [np.full(m, WALL_TAG)] * layers, names,
        {"wall_thickness": stage.heights[surf.tris].mean(axis=1)}, axial, {"wall": WALL_TAG},
        f"wall_from_surface({m} triangles, {layers} layers)",
    )
    _log_quality(mesh, "wall_from_surface", time.perf_counter() - t0)
    return mesh


def thrombus_and_wall(
    lumen: Any,
    thrombus_outer: Any,
    *,
    wall_thickness: float | np.ndarray = 1.5,
    wall_layers: int = 2,
    ilt_layers: int = 3,
    min_ilt: float = 0.2,
    smoothing: int = 5,
    centerline: Any = None,
    axis_hint: Sequence[float] | None = None,
    inlet: str | Sequence[float] = "auto",
    check_overlap: bool = True,
    max_repair_rounds: int = 40,
    max_thinning: float = 0.5,
) -> Mesh:
    """Layered WEDGE6 mesh of an intraluminal thrombus (region ``thrombus``) between the
    ``lumen`` and its abluminal surface ``thrombus_outer``, and of the wall (region ``wall``,
    ``wall_thickness`` mm, a number or per input lumen point) outside it.

    The ILT thickness is measured from each lumen vertex along its smoothed outward normal
    to the first crossing of ``thrombus_outer`` (0 where the lumen lies on or outside it).
    Where it is below ``min_ilt`` there is no thrombus: see the module docstring for how the
    mesh stays conforming. The wall is extruded along the smoothed normals of the thrombus'
    outer surface. Cell data as :func:`wall_from_surface` plus ``ilt_thickness`` (mm, the
    thrombus thickness of the cell's column at its lumen footprint, 0 where no thrombus).
    """
    t0 = time.perf_counter()
    wall_layers = _layers(wall_layers, "wall_layers")
    ilt_layers = _layers(ilt_layers, "ilt_layers")
    surf = _prepare_surface(lumen, "lumen")
    tw = _per_point(wall_thickness, surf, "wall_thickness")
    if not min_ilt > 0 or min_ilt >= tw.min():
        raise ValueError(
            f"min_ilt must be > 0 and below the wall thickness ({tw.min():.3g} mm), got {min_ilt!r}"
        )
    names = _name_ends(_ends(surf), inlet)
    target = _prepare_surface(thrombus_outer, "thrombus_outer")
    caster = _RayCaster(target, _extent(surf, target))
    tris, m = surf.tris, len(surf.tris)
    field = _NormalField(surf, surf.points, smoothing)
    # thrombus footprints: mean ILT of the triangle's vertices >= min_ilt (initial normals)
    raw = caster.thickness(surf.points, field.n)
    thrombus_tri = raw[tris].mean(axis=1) >= min_ilt
    touches = np.zeros(surf.n, dtype=bool)  # vertices of a thrombus footprint
    touches[tris[thrombus_tri].ravel()] = True
    # thrombus-free vertices: the thrombus layers (tagged wall) take part of the wall
    placeholder = np.maximum(min_ilt, 0.5 * tw)

    def ilt_heights(normals, idx):
        ilt = caster.thickness(surf.points[idx], normals[idx])
        return np.where(touches[idx], np.maximum(ilt, min_ilt), placeholder[idx])

    ilt = _extrude(surf, surf.points, field, ilt_heights, ilt_layers,
                   "thrombus_and_wall (thrombus)", max_repair_rounds, max_thinning)
    base = ilt.levels[-1]
    wall_h = np.where(touches, tw, tw - placeholder)
    # the wall follows the normals of the thrombus' outer surface over thrombus, and
    # continues the lumen columns straight where there is none (no kink in concave regions;
    # blended over two rings along the border)
    wall_field = _NormalField(surf, base, smoothing)
    wall_field.n = np.where(touches[:, None], wall_field.n, ilt.normals)
    border = np.zeros(surf.n, dtype=bool)
    border[tris[thrombus_tri != touches[tris].all(axis=1)].ravel()] = True
    wall_field.smooth(2, _grow(surf, border, 2))
    # the fold guard may thin the wall where there is no thrombus down to (1 - max_thinning)
    # of the whole column, placeholder included
    floor = np.clip(((1 - max_thinning) * (ilt.heights + wall_h) - ilt.heights) / wall_h,
                    0.1, 1.0 - max_thinning)
    floor = np.where(touches, 1.0 - max_thinning, floor)
    wall = _extrude(surf, base, wall_field, lambda normals, idx: wall_h[idx], wall_layers,
                    "thrombus_and_wall (wall)", max_repair_rounds, max_thinning, floor)
    s, wall_h = ilt.heights, wall.heights  # as meshed (the fold guard may shorten columns)
    if check_overlap:
        _check_overlap(surf, surf.points, wall.levels[-1], s + wall_h, "thrombus_and_wall")
    levels = ilt.levels + wall.levels[1:]
    axial = _axial_per_triangle(surf, names, centerline, axis_hint)
    ilt_region = np.where(thrombus_tri, THROMBUS_TAG, WALL_TAG)
    ilt_cell = np.where(thrombus_tri, s[tris].mean(axis=1), 0.0)
    wall_cell = np.where(thrombus_tri[:, None], wall_h[tris], (s + wall_h)[tris]).mean(axis=1)
    mesh = _assemble(
        surf, levels, [ilt.normals] * ilt_layers + [wall.normals] * wall_layers,
        [ilt_region] * ilt_layers + [np.full(m, WALL_TAG)] * wall_layers, names,
        {"wall_thickness": wall_cell, "ilt_thickness": ilt_cell}, axial,
        {"wall": WALL_TAG, "thrombus": THROMBUS_TAG},
        f"thrombus_and_wall({m} triangles, {ilt_layers}+{wall_layers} layers)",
    )
    _log_quality(mesh, "thrombus_and_wall", time.perf_counter() - t0)
    return mesh


def _extent(a: _Surface, b: _Surface) -> float:
    both = np.concatenate([a.points, b.points])
    return 2.0 * float(np.linalg.norm(both.max(axis=0) - both.min(axis=0))) + 1.0


# --- reporting ---------------------------------------------------------------------------


def _stats(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"min": float("nan"), "max": float("nan"), "mean": float("nan")}
    return {"min": float(values.min()), "max": float(values.max()), "mean": float(values.mean())}


def _per_cell_quality(mesh: Mesh) -> list[dict[str, np.ndarray]]:
    return [cell_quality(mesh.points, b.conn, b.type) for b in mesh.blocks]


def vessel_mesh_report(mesh: Mesh) -> dict[str, Any]:
    """Element counts and volumes per region, quality (min det J, scaled Jacobian, aspect
    ratio) and thickness statistics of a mesh (plain floats/ints, JSON-ready)."""
    names = {tag: name for name, tag in mesh.region_names.items()}
    quality = _per_cell_quality(mesh)
    region = np.concatenate([b.region for b in mesh.blocks]) if mesh.blocks else np.zeros(0, int)
    q = {k: np.concatenate([qb[k] for qb in quality]) for k in quality[0]} if quality else {}
    cells, volume = {}, {}
    for tag in np.unique(region):
        name = names.get(int(tag), f"tag_{int(tag)}")
        sel = region == tag
        cells[name] = int(sel.sum())
        volume[name] = float(q["volume"][sel].sum())
    report: dict[str, Any] = {
        "n_points": int(mesh.n_points),
        "n_cells": int(mesh.n_cells),
        "cell_types": {b.type: len(b.conn) for b in mesh.blocks},
        "cells": cells,
        "volume_mm3": volume,
        "min_det_j": float(q["min_det_j"].min()) if q else float("nan"),
        "n_inverted": int((q["min_det_j"] <= 0).sum()) if q else 0,
        "min_scaled_jacobian": float(q["scaled_jacobian"].min()) if q else float("nan"),
        "scaled_jacobian_p01": float(np.percentile(q["scaled_jacobian"], 1)) if q else float("nan"),
        "max_aspect_ratio": float(q["aspect_ratio"].max()) if q else float("nan"),
        "aspect_ratio_p99": float(np.percentile(q["aspect_ratio"], 99)) if q else float("nan"),
        "face_sets": {
            name: int(sum(len(c) for c in faces.values())) for name, faces in mesh.face_sets.items()
        },
    }
    for key in ("wall_thickness", "ilt_thickness"):
        if key in mesh.cell_data:
            vals = np.concatenate([np.asarray(a, dtype=float) for a in mesh.cell_data[key]])
            if key == "ilt_thickness":
                vals = vals[vals > 0]
            report[key] = _stats(vals)
    return report


def assert_mesh_quality(
    mesh: Mesh, min_scaled_jacobian: float = 0.2, max_aspect_ratio: float = 50.0
) -> dict[str, Any]:
    """:func:`vessel_mesh_report` of ``mesh``; MeshError naming the worst cells and the fix
    when a cell is inverted, has a scaled Jacobian below ``min_scaled_jacobian`` or an
    aspect ratio above ``max_aspect_ratio``."""
    quality = _per_cell_quality(mesh)
    names = {tag: name for name, tag in mesh.region_names.items()}
    problems = []

    def describe(key: str, worst_first: np.ndarray, label: str) -> str:
        flat = [(bi, ci) for bi, qb in enumerate(quality) for ci in range(len(qb[key]))]
        values = np.concatenate([qb[key] for qb in quality])
        items = []
        for k in worst_first[:5]:
            bi, ci = flat[k]
            block = mesh.blocks[bi]
            tag = int(block.region[ci])
            where = mesh.points[block.conn[ci]].mean(axis=0)
            items.append(
                f"{block.type} #{ci} of block {bi} in region {names.get(tag, tag)!r} at "
                f"{_fmt(where)} mm ({label} {values[k]:.3g})"
            )
        return "; ".join(items)

    det = np.concatenate([qb["min_det_j"] for qb in quality])
    sj = np.concatenate([qb["scaled_jacobian"] for qb in quality])
    ar = np.concatenate([qb["aspect_ratio"] for qb in quality])
    centroids = np.concatenate([mesh.points[b.conn].mean(axis=1) for b in mesh.blocks])
    bad = np.flatnonzero(det <= 0)
    if len(bad):
        problems.append(
            f"{len(bad)} inverted cells (det J <= 0): "
            f"{describe('min_det_j', bad[np.argsort(det[bad])], 'min det J')}. Fix: more normal "
            f"smoothing, a smoother/finer lumen surface or a smaller thickness there"
        )
    bad = np.flatnonzero((sj < min_scaled_jacobian) & (det > 0))
    if len(bad):
        problems.append(
            f"{len(bad)} cells with scaled Jacobian < {min_scaled_jacobian:g}: "
            f"{describe('scaled_jacobian', bad[np.argsort(sj[bad])], 'scaled Jacobian')}. Fix: a "
            f"finer, more regular lumen triangulation (smaller size, no slivers), more normal "
            f"smoothing (`smoothing`), or fewer layers"
        )
    bad = np.flatnonzero(ar > max_aspect_ratio)
    if len(bad):
        problems.append(
            f"{len(bad)} cells with aspect ratio > {max_aspect_ratio:g}: "
            f"{describe('aspect_ratio', bad[np.argsort(-ar[bad])], 'aspect ratio')}. Fix: fewer "
            f"layers (thin layers under large triangles), a smaller surface element size, or "
            f"a larger min_ilt / fewer ilt_layers for thin thrombus"
        )
    if problems:
        error = MeshError(f"mesh {mesh.source} fails the quality check: " + " | ".join(problems))
        failing = (det <= 0) | (sj < min_scaled_jacobian) | (ar > max_aspect_ratio)
        error.where = centroids[failing]  # for a local repair by the caller
        raise error
    return vessel_mesh_report(mesh)
