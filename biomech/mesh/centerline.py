"""Vessel centerlines (world mm) with maximum-inscribed-sphere radius, from a mask or a surface.

Method (:func:`compute_centerline`):

1. a label mask is used as is (its wall = :func:`label_surface` of it); a surface is repaired,
   capped where open and voxelised (``voxelize_binary_mask``, isotropic ``voxel_size``; its
   wall = the surface without caps);
2. the largest component is 3-D skeletonised (skimage, Lee 1994) and the skeleton voxels
   become a 26-neighbour graph (edge weight = length in mm), reduced to its minimum
   spanning tree (removes corner cliques and spurious loops);
3. spurs are pruned: a terminal branch shorter than ``spur_factor`` x the distance-transform
   radius at its junction is removed, repeatedly;
4. the inlet is chosen among the remaining ends (rule below), the tree is rooted there and
   split into branches at bifurcations; each branch is smoothed (Gaussian, ``smoothing_mm``,
   ends kept) and resampled every ``step_mm``;
5. every point is moved, within the plane normal to the branch, up the distance to the wall
   (projected gradient ascent: the centre of the section's inscribed sphere), then lightly
   smoothed, twice;
6. each inlet/outlet end is re-drawn: the skeleton's last radius (which bends towards the
   rim of the end face) is cut off, the branch is extended along its tangent to the mask
   boundary, and that end zone is moved onto cross-section centroids;
7. radius = the largest distance to the wall in each point's normal plane (exact
   point-triangle distance at the ascent's end point): sub-voxel, like vmtk's
   ``MaximumInscribedSphereRadius``.

Inlet rule (``inlet="largest"``, the default): the end whose vessel is widest - the end
nearest to the largest opening when the surface has open ends or cap faces, else the end
with the largest distance-transform radius over its last 20 mm; ends within 5 % of each other
go to the most superior one (largest LPS z). ``inlet="superior"`` takes the most superior
end; a point (3,) takes the end nearest to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv
import scipy.ndimage as ndi
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

from biomech.errors import MeshError

__all__ = [
    "Centerline",
    "compute_centerline",
    "mask_geometry",
    "plane_basis",
    "radius_to_surface",
    "surface_samples",
]

RECENTRE_ROUNDS = 2  # tangent -> in-plane recentring -> smoothing rounds
MAX_VOXELS = 4e6  # voxelising a surface: cap on the bounding-box voxel count
SAMPLE_MM = 2.0  # coarse walls (longer edges) are sampled this finely for the recentring


@dataclass
class Centerline:
    """Centerline tree (world mm): points from the inlet, MIS radius, branches split at forks.

    ``branches[0]`` starts at the inlet (point 0); every other branch starts at the last point
    of its parent ``parents[b]``, so concatenating branches along the tree gives a path.
    """

    points: np.ndarray  # (n, 3) mm
    radius: np.ndarray  # (n,) mm
    branches: list[np.ndarray]
    parents: list[int]
    inlet: np.ndarray  # (3,) mm
    outlets: np.ndarray  # (m, 3) mm

    def paths(self) -> list[np.ndarray]:
        """Point-index path from the inlet to each outlet (leaf branch order)."""
        return [self._path_to(b) for b in self._leaves()]

    def main_path(self) -> np.ndarray:
        """Path from the inlet taking, at each fork, the child with the larger mean radius."""
        b, path = 0, [self.branches[0]]
        while kids := [c for c, p in enumerate(self.parents) if p == b]:
            b = max(kids, key=lambda c: (self.radius[self.branches[c]].mean(),
                                         len(self.branches[c])))
            path.append(self.branches[b][1:])
        return np.concatenate(path)

    def arc_length(self, path: np.ndarray | None = None) -> np.ndarray:
        """Cumulative length (mm) along a point-index path (default: the main path)."""
        p = self.points[self.main_path() if path is None else path]
        return np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))]

    def tortuosity(self, path: np.ndarray | None = None) -> float:
        """Length / chord of a path (default: the main path); 1 for a straight vessel."""
        path = self.main_path() if path is None else path
        chord = np.linalg.norm(self.points[path[-1]] - self.points[path[0]])
        return float(self.arc_length(path)[-1] / max(chord, 1e-300))

    def to_polydata(self) -> pv.PolyData:
        """vmtk-style polylines (one per inlet-outlet path), ``MaximumInscribedSphereRadius``."""
        paths = self.paths()
        lines = np.concatenate([np.r_[len(p), p] for p in paths])
        out = pv.PolyData(self.points.copy(), lines=lines)
        out.point_data["MaximumInscribedSphereRadius"] = self.radius
        out.cell_data["CenterlineIds"] = np.arange(len(paths))
        return out

    def _leaves(self) -> list[int]:
        """Branches without children (each ends at an outlet)."""
        return [b for b in range(len(self.branches)) if b not in self.parents]

    def _path_to(self, b: int) -> np.ndarray:
        """Point indices from the inlet to the end of branch ``b``."""
        chain = []
        while b >= 0:
            chain.append(b)
            b = self.parents[b]
        chain = chain[::-1]
        return np.concatenate([self.branches[chain[0]]] + [self.branches[c][1:] for c in chain[1:]])


# --- entry point -------------------------------------------------------------------------


def compute_centerline(
    source,
    spacing=None,
    origin=None,
    direction=None,
    *,
    label: int | None = None,
    inlet="largest",
    voxel_size: float | None = None,
    smoothing_mm: float | None = None,
    step_mm: float = 0.5,
    spur_factor: float = 1.5,
    surface: pv.PolyData | None = None,
) -> Centerline:
    """Centerline (world mm) of a boolean mask (+ spacing/origin/direction), a LabelImage-like
    object (``data``, ``spacing``, ``origin``, ``direction``; voxels == ``label`` or > 0) or a
    lumen surface (pyvista.PolyData in mm). See the module docstring for the method."""
    from biomech.mesh.surface import _geometry, keep_largest_component, label_surface

    ends = None
    if isinstance(source, pv.DataSet):
        mask, spacing, origin, direction, wall, ends = _voxelise(source, voxel_size)
    else:
        mask, spacing, origin, direction = mask_geometry(source, spacing, origin, direction, label)
        spacing, origin, direction = _geometry(spacing, origin, direction)
        mask = keep_largest_component(mask, "vessel mask")
        wall = surface if surface is not None else label_surface(mask, spacing, origin, direction,
                                                                 target_edge=None)
    sigma = 2.0 * float(spacing.max()) if smoothing_mm is None else float(smoothing_mm)
    grid = _Grid(mask, spacing, origin, direction)
    nodes, tree = _skeleton_tree(grid)
    tree = _prune(tree, nodes, grid, spur_factor)
    root = _choose_inlet(tree, nodes, grid, inlet, ends)
    segs, parents = _segments(tree, root)
    curves = [_smooth_resample(grid.world(nodes[s]), sigma, step_mm) for s in segs]
    points, branches = _join(curves, parents)
    for _ in range(RECENTRE_ROUNDS):
        points = _recentre(points, _tangents(points, branches), wall)
        for br in branches:  # the ascent leaves sub-step jitter: smooth again, ends fixed
            points[br] = _smooth(points[br], min(sigma, 1.0))
    curves = [points[br] for br in branches]
    _extend_ends(curves, parents, grid, step_mm, sigma)
    return _assemble(curves, parents, wall)


def mask_geometry(source, spacing=None, origin=None, direction=None, label: int | None = None):
    """(mask, spacing, origin, direction) of a boolean array or a LabelImage-like object
    (voxels == ``label``; without a label: > 0, or < 0 for a float level set)."""
    if hasattr(source, "data") and hasattr(source, "spacing"):
        data = np.asarray(source.data)
        level_set = data.dtype.kind == "f" and (data < 0).any() and (data > 0).any()
        mask = data == label if label is not None else (data < 0 if level_set else data > 0)
        return mask, source.spacing, source.origin, source.direction
    if spacing is None:
        raise MeshError("a mask array needs its voxel spacing (mm): pass spacing=(sx, sy, sz), or "
                        "pass a LabelImage")
    mask = np.asarray(source)
    mask = mask == label if label is not None else mask.astype(bool)
    return mask, spacing, origin, direction


# --- voxel grid helper -------------------------------------------------------------------


class _Grid:
    """A cropped mask with its geometry, EDT (mm) and index/world conversions."""

    def __init__(self, mask: np.ndarray, spacing, origin, direction, pad: int = 2) -> None:
        idx = np.argwhere(mask)
        lo = np.maximum(idx.min(0) - pad, 0)
        hi = np.minimum(idx.max(0) + pad + 1, mask.shape)
        self.mask = np.pad(mask[tuple(slice(a, b) for a, b in zip(lo, hi))], 1)
        self.offset = lo - 1  # index of self.mask[0, 0, 0] in the original grid
        self.spacing, self.origin, self.direction = spacing, origin, direction
        self.to_index = np.linalg.inv(direction).T / spacing  # world offset -> index, row form
        self.edt = ndi.distance_transform_edt(self.mask, sampling=spacing)

    def world(self, ijk: np.ndarray) -> np.ndarray:
        """World mm of (cropped-grid) indices."""
        ijk = np.asarray(ijk, float) + self.offset
        return self.origin + (ijk * self.spacing) @ self.direction.T

    def index(self, xyz: np.ndarray) -> np.ndarray:
        """Cropped-grid fractional indices of world points."""
        return (np.asarray(xyz, float) - self.origin) @ self.to_index - self.offset

    def inside(self, xyz: np.ndarray) -> np.ndarray:
        """Whether world points fall in a mask voxel (nearest voxel)."""
        ijk = np.rint(self.index(np.atleast_2d(xyz))).astype(int)
        ok = np.all((ijk >= 0) & (ijk < self.mask.shape), axis=1)
        out = np.zeros(len(ijk), bool)
        out[ok] = self.mask[tuple(ijk[ok].T)]
        return out


def _voxelise(surface: pv.DataSet, voxel_size: float | None):
    """Mask, geometry, wall surface and openings of a lumen surface (caps added when open)."""
    from biomech.mesh.surface import boundary_loops, cap_faces, cap_openings, repair_surface

    surf = surface.extract_surface(algorithm=None) if not isinstance(surface, pv.PolyData) \
        else surface
    surf, _ = repair_surface(surf, keep_largest=False)  # merged points, tiny holes closed
    loops = boundary_loops(surf)
    caps = [] if loops else cap_faces(surf)
    wall = surf if loops else _without_caps(surf, caps)
    closed, _ = repair_surface(cap_openings(surf), keep_largest=False)
    ends = loops or caps
    h = voxel_size or _default_voxel(closed, ends)
    lo, hi = np.asarray(closed.bounds).reshape(3, 2).T
    dims = np.ceil((hi - lo) / h).astype(int) + 5
    ref = pv.ImageData(dimensions=dims, spacing=(h, h, h), origin=lo - 2 * h)
    img = closed.voxelize_binary_mask(reference_volume=ref)
    mask = np.asarray(img.point_data["mask"]).reshape(dims, order="F") > 0
    if not mask.any():
        raise MeshError(f"voxelising the surface at {h:.3g} mm gave no voxel inside; pass a "
                        f"smaller voxel_size or check that the surface is closed")
    from biomech.mesh.surface import keep_largest_component

    mask = keep_largest_component(mask, "voxelised surface")
    return mask, np.full(3, h), lo - 2 * h, np.eye(3), wall, ends


def _default_voxel(closed: pv.PolyData, ends) -> float:
    """Isotropic voxel (mm): 1/12 of the narrowest opening (or of the hydraulic diameter 4V/A),
    within 0.1-1 mm, enlarged to keep the bounding box under ``MAX_VOXELS``."""
    d = min((o.diameter for o in ends), default=4.0 * abs(closed.volume) / max(closed.area, 1e-300))
    lo, hi = np.asarray(closed.bounds).reshape(3, 2).T
    return float(max(np.clip(d / 12.0, 0.1, 1.0), (np.prod(hi - lo) / MAX_VOXELS) ** (1 / 3)))


def _without_caps(surf: pv.PolyData, caps) -> pv.PolyData:
    """The surface without the cells of its cap faces (the vessel wall)."""
    if not caps:
        return surf
    name = next(a for a in ("ModelFaceID", "CapID", "CellEntityIds", "FaceID", "face_id")
                if a in surf.cell_data)
    ids = np.asarray(surf.cell_data[name]).astype(int)
    keep = ~np.isin(ids, [c.face_id for c in caps])
    return surf.extract_cells(np.flatnonzero(keep)).extract_surface(algorithm=None)


# --- skeleton graph ----------------------------------------------------------------------


def _skeleton_tree(grid: _Grid) -> tuple[np.ndarray, sp.csr_matrix]:
    """Skeleton voxel indices (n, 3) and the symmetric MST (mm weights) of their 26-graph."""
    nodes = np.argwhere(_skeleton(grid.mask))
    length = len(nodes) * float(grid.spacing.min())
    if len(nodes) < 2 or length < grid.edt.max():
        raise MeshError(f"the vessel mask has no elongated part to follow (skeleton ~{length:.3g} "
                        f"mm long, shorter than the vessel radius {grid.edt.max():.3g} mm); check "
                        f"the segmentation, or use a finer voxel_size")
    lookup = np.full(grid.mask.shape, -1, np.int64)
    lookup[tuple(nodes.T)] = np.arange(len(nodes))
    rows, cols, w = [], [], []
    for off in _half_offsets():
        nb = nodes + off
        ok = np.all((nb >= 0) & (nb < grid.mask.shape), axis=1)
        j = np.full(len(nodes), -1)
        j[ok] = lookup[tuple(nb[ok].T)]
        hit = j >= 0
        rows.append(np.flatnonzero(hit))
        cols.append(j[hit])
        w.append(np.full(hit.sum(), np.linalg.norm(off * grid.spacing)))
    n = len(nodes)
    g = sp.coo_matrix((np.concatenate(w), (np.concatenate(rows), np.concatenate(cols))), (n, n))
    mst = minimum_spanning_tree(g.tocsr())
    mst = (mst + mst.T).tocsr()
    ncomp, lab = connected_components(mst, directed=False)
    if ncomp > 1:
        keep = np.flatnonzero(lab == np.argmax(np.bincount(lab)))
        nodes, mst = nodes[keep], mst[keep][:, keep].tocsr()
    return nodes, mst


def _skeleton(mask: np.ndarray) -> np.ndarray:
    """3-D skeleton (skimage, Lee 1994) that is one connected piece.

    skimage's 3-D thinning can delete all or part of an object of even thickness (open issues
    scikit-image#3757, #6513); then the mask grown by one voxel towards +i, +j, +k (which flips
    every thickness's parity) is thinned instead.
    """
    from skimage.morphology import skeletonize

    best, best_n = None, -1
    for grow in (False, True):
        m = ndi.binary_dilation(mask, np.ones((2, 2, 2), bool)) if grow else mask
        skel = skeletonize(m) > 0
        pieces = ndi.label(skel, structure=np.ones((3, 3, 3), bool))[1]
        if pieces == 1:
            return skel
        if skel.sum() > best_n:
            best, best_n = skel, int(skel.sum())
    return best


def _half_offsets() -> np.ndarray:
    """The 13 neighbour offsets of a 26-neighbourhood that are lexicographically positive."""
    offs = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])
    return offs[[tuple(o) > (0, 0, 0) for o in offs]]


def _neighbours(tree: sp.csr_matrix, v: int) -> np.ndarray:
    """Node ids adjacent to ``v``."""
    return tree.indices[tree.indptr[v]:tree.indptr[v + 1]]


def _terminal_branches(tree: sp.csr_matrix) -> list[tuple[list[int], float]]:
    """Each leaf's branch (nodes from the leaf up to, excluding, the first junction) and length."""
    deg = np.diff(tree.indptr)
    out = []
    for leaf in np.flatnonzero(deg == 1):
        chain, length, prev, v = [int(leaf)], 0.0, -1, int(leaf)
        while True:
            nxt = [u for u in _neighbours(tree, v) if u != prev]
            if len(nxt) != 1:
                break
            length += tree[v, nxt[0]]
            prev, v = v, int(nxt[0])
            if deg[v] != 2:
                break
            chain.append(v)
        out.append((chain, length if deg[v] >= 3 else np.inf))
    return out


def _prune(tree: sp.csr_matrix, nodes: np.ndarray, grid: _Grid, spur_factor: float,
           ) -> sp.csr_matrix:
    """Remove terminal branches shorter than spur_factor x the EDT radius at their junction
    (plus one voxel), repeatedly."""
    r = grid.edt[tuple(nodes.T)]
    tree = tree.tolil()
    for _ in range(100):
        csr = tree.tocsr()
        drop = []
        for chain, length in _terminal_branches(csr):
            junction = [u for u in _neighbours(csr, chain[-1]) if u not in chain]
            if junction and length < spur_factor * r[junction[0]] + grid.spacing.max():
                drop += chain
        if not drop:
            return csr
        alive = np.diff(csr.indptr) > 0
        alive[drop] = False
        if alive.sum() < 2:
            return csr
        for v in drop:
            for u in list(tree.rows[v]):
                tree[u, v] = 0
                tree[v, u] = 0
        tree = tree.tocsr()
        tree.eliminate_zeros()
        tree = tree.tolil()
    return tree.tocsr()


def _choose_inlet(tree: sp.csr_matrix, nodes: np.ndarray, grid: _Grid, inlet, ends) -> int:
    """Node id of the inlet end (see the module docstring for the rule)."""
    leaves = np.flatnonzero(np.diff(tree.indptr) == 1)
    xyz = grid.world(nodes[leaves])
    if isinstance(inlet, str) and inlet not in ("largest", "superior"):
        raise MeshError(f"inlet={inlet!r} is unknown; use 'largest', 'superior' or a point "
                        f"(x, y, z) in mm")
    if not isinstance(inlet, str):
        return int(leaves[np.argmin(np.linalg.norm(xyz - np.asarray(inlet, float), axis=1))])
    if inlet == "superior":
        return int(leaves[np.argmax(xyz[:, 2])])
    if ends:
        big = max(ends, key=lambda o: o.area)
        return int(leaves[np.argmin(np.linalg.norm(xyz - big.centroid, axis=1))])
    size = np.array([_end_radius(tree, nodes, grid, v) for v in leaves])
    wide = size >= 0.95 * size.max()
    return int(leaves[wide][np.argmax(xyz[wide, 2])])


def _end_radius(tree: sp.csr_matrix, nodes: np.ndarray, grid: _Grid, leaf: int) -> float:
    """75th-percentile EDT radius (mm) of the skeleton within 20 mm of an end."""
    from scipy.sparse.csgraph import dijkstra

    d = dijkstra(tree, indices=leaf, limit=20.0)
    near = np.isfinite(d)
    return float(np.percentile(grid.edt[tuple(nodes[near].T)], 75))


def _segments(tree: sp.csr_matrix, root: int) -> tuple[list[np.ndarray], list[int]]:
    """Node chains of the tree rooted at ``root``, split at bifurcations, and their parents."""
    order, pred = breadth_first_order(tree, root, directed=False)
    children: dict[int, list[int]] = {int(v): [] for v in order}
    for v in order[1:]:
        children[int(pred[v])].append(int(v))
    segs, parents = [], []
    stack = [(root, -1)]
    while stack:
        start, parent = stack.pop(0)
        chain, kids = [start], children[start]
        while len(kids) == 1:
            v = kids[0]
            chain.append(v)
            kids = children[v]
        me = len(segs)
        segs.append(np.array(chain))
        parents.append(parent)
        stack += [(k, me) for k in kids]
    return _attach_junctions(segs, parents), parents


def _attach_junctions(segs: list[np.ndarray], parents: list[int]) -> list[np.ndarray]:
    """Prefix every child chain with its parent's last node, so branches share the junction."""
    return [s if p < 0 else np.r_[segs[p][-1], s] for s, p in zip(segs, parents)]


# --- curves ------------------------------------------------------------------------------


def _smooth_resample(xyz: np.ndarray, sigma: float, step: float) -> np.ndarray:
    """Gaussian-smoothed (sigma mm, ends fixed) curve resampled every ``step`` mm."""
    xyz = _resample(xyz, min(step, 0.5 * sigma) if sigma > 0 else step)
    return _resample(_smooth(xyz, sigma), step)


def _smooth(xyz: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing (sigma mm) of an evenly sampled polyline; both end points stay put
    (odd reflection about each end, so straight lines stay straight)."""
    if sigma <= 0 or len(xyz) < 3:
        return xyz
    h = np.linalg.norm(np.diff(xyz, axis=0), axis=1).mean()
    s = sigma / max(h, 1e-12)
    pad = min(len(xyz) - 1, int(np.ceil(4 * s)))
    ext = np.vstack([2 * xyz[0] - xyz[pad:0:-1], xyz, 2 * xyz[-1] - xyz[-2:-pad - 2:-1]])
    out = ndi.gaussian_filter1d(ext, s, axis=0, mode="nearest")[pad:pad + len(xyz)]
    out[0], out[-1] = xyz[0], xyz[-1]
    return out


def _resample(xyz: np.ndarray, step: float) -> np.ndarray:
    """Points at equal arc-length spacing (<= ``step`` mm) along a polyline, ends included."""
    s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(xyz, axis=0), axis=1))]
    if s[-1] <= 0:
        return xyz[:1]
    n = max(int(np.ceil(s[-1] / step)), 1) + 1
    t = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(t, s, xyz[:, k]) for k in range(3)])


def _extend_ends(curves: list[np.ndarray], parents: list[int], grid: _Grid, step: float,
                 sigma: float) -> None:
    """Re-draw the inlet end (start of branch 0) and each outlet end out to the mask boundary."""
    curves[0] = _redraw_end(curves[0][::-1], grid, step, sigma)[::-1]
    for b in range(len(curves)):
        if b not in parents:
            curves[b] = _redraw_end(curves[b], grid, step, sigma)


def _redraw_end(curve: np.ndarray, grid: _Grid, step: float, sigma: float) -> np.ndarray:
    """Cut back the end's last radius (skeleton ends bend towards the end face's rim), extend
    straight to the boundary, then alternately move the new end zone onto cross-section
    centroids (the distance ascent fails within a radius of an end face) and re-extend."""
    kept = _cut_back(curve, grid)
    r = max(_edt_at(grid, kept[-1]), 2 * step)  # the vessel radius near the end
    out = _extend(kept, grid, step, r)
    start = max(len(kept) - int(r / step), 1)
    for _ in range(RECENTRE_ROUNDS):
        t = np.gradient(_smooth(out, sigma), axis=0)
        # sections within two voxels of the end are cut by the end face: redraw them straight
        back = np.linalg.norm(out - out[-1], axis=1)
        zone = np.arange(start, len(out))
        zone = zone[(back[zone] >= 2.0 * grid.spacing.max()) & grid.inside(out[zone])]
        if zone.size == 0:
            break
        out[zone] = [_section_centroid(grid, p, d, 2 * r) for p, d in zip(out[zone], t[zone])]
        out = _extend(_smooth(out[: zone[-1] + 1], min(sigma, 1.0)), grid, step, r)
    return out


def _edt_at(grid: _Grid, p: np.ndarray) -> float:
    """Distance-transform radius (mm) at a world point (trilinear)."""
    return float(ndi.map_coordinates(grid.edt, grid.index(p[None]).T, order=1)[0])


def _section_centroid(grid: _Grid, p: np.ndarray, normal: np.ndarray, reach: float,
                      ) -> np.ndarray:
    """Centroid (world mm) of the mask's cross-section through ``p`` normal to ``normal``: the
    piece containing ``p`` within ``reach`` mm of it; ``p`` when outside the mask."""
    u, v = plane_basis(normal)
    h = float(grid.spacing.min())
    n = int(np.ceil(reach / h))
    a, b = np.meshgrid(np.arange(-n, n + 1) * h, np.arange(-n, n + 1) * h, indexing="ij")
    xyz = p + a.reshape(-1, 1) * u + b.reshape(-1, 1) * v
    img = ndi.map_coordinates(grid.mask, grid.index(xyz).T, order=0, cval=0).reshape(a.shape)
    lab, _ = ndi.label(img & (a**2 + b**2 <= reach**2))
    if lab[n, n] == 0:
        return p
    piece = lab == lab[n, n]
    return p + a[piece].mean() * u + b[piece].mean() * v


def plane_basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two orthonormal vectors spanning the plane normal to ``normal``."""
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    u = np.cross(n, np.eye(3)[np.argmin(np.abs(n))])
    u /= np.linalg.norm(u)
    return u, np.cross(n, u)


def _extend(curve: np.ndarray, grid: _Grid, step: float, r: float) -> np.ndarray:
    """Append points every ``step`` mm along the end tangent up to the mask boundary
    (nearest-voxel test), at most 3 r."""
    end = curve[-1]
    t = _end_tangent(curve, max(r, 2 * step))
    if t is None:
        return curve
    fine = 0.25 * float(grid.spacing.min())
    k = np.arange(1, int(3 * r / fine) + 2)
    inside = grid.inside(end + np.outer(k * fine, t))
    n_in = int(np.argmin(inside)) if not inside.all() else len(inside)
    if n_in == 0:
        return curve
    length = n_in * fine
    m = max(int(np.ceil(length / step)), 1)
    return np.vstack([curve, end + np.outer(np.linspace(length / m, length, m), t)])


def _end_tangent(curve: np.ndarray, window: float) -> np.ndarray | None:
    """Unit tangent at the last point: derivative of a quadratic fitted (against arc length)
    to the last ``window`` mm, so a curved end is not extended along a secant."""
    s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(curve[::-1], axis=0), axis=1))]
    near = s <= window
    if near.sum() < 2 or s[near].max() == 0:
        return None
    deg = 2 if near.sum() >= 5 else 1
    t = -np.array([np.polyfit(s[near], curve[::-1][near, k], deg)[-2] for k in range(3)])
    norm = np.linalg.norm(t)
    return t / norm if norm > 0 else None


def _cut_back(curve: np.ndarray, grid: _Grid) -> np.ndarray:
    """Curve without its last stretch of one vessel radius (the 90th-percentile distance-
    transform radius within 30 mm of the end); at least half the curve is kept."""
    back = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(curve[::-1], axis=0), axis=1))][::-1]
    near = back <= min(30.0, 0.5 * back[0])
    r = ndi.map_coordinates(grid.edt, grid.index(curve[near]).T, order=1)
    cut = min(float(np.percentile(r, 90)), 0.5 * back[0])
    keep = np.flatnonzero(back >= cut)
    return curve[: max(keep[-1] + 1, 2)] if keep.size else curve[:2]


def _join(curves: list[np.ndarray], parents: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Stacked points and per-branch indices (children start at their parent's last point)."""
    pts, branches, n = [], [], 0
    for c, p in zip(curves, parents):
        own = c if p < 0 else c[1:]
        idx = np.arange(n, n + len(own))
        branches.append(idx if p < 0 else np.r_[branches[p][-1], idx])
        pts.append(own)
        n += len(own)
    return np.vstack(pts), branches


def _assemble(curves: list[np.ndarray], parents: list[int], wall: pv.PolyData) -> Centerline:
    """Centerline from branch curves; radius = the largest distance to the wall in each point's
    normal plane (the inscribed sphere of the section, found by the in-plane ascent)."""
    points, branches = _join(curves, parents)
    radius = radius_to_surface(_recentre(points, _tangents(points, branches), wall), wall)
    leaves = [b for b in range(len(branches)) if b not in parents]
    outlets = points[[branches[b][-1] for b in leaves]]
    return Centerline(points, radius, branches, list(parents), points[0].copy(), outlets)


def _tangents(points: np.ndarray, branches: list[np.ndarray]) -> np.ndarray:
    """Unit tangent at each point (central differences along its branch)."""
    t = np.zeros_like(points)
    for b in branches[::-1]:  # parents last, so a junction keeps its parent's tangent
        if len(b) > 1:
            t[b] = np.gradient(points[b], axis=0)
    return t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-300)


def _recentre(points: np.ndarray, tangents: np.ndarray, wall: pv.PolyData, iterations: int = 12,
              ) -> np.ndarray:
    """Move each point within its normal plane up the distance-to-wall (to the inscribed-sphere
    centre): projected gradient ascent, step 0.15 x radius shrinking by 0.7 (reach 0.5 radius)."""
    from scipy.spatial import cKDTree

    cloud = surface_samples(wall, SAMPLE_MM)
    tree = cKDTree(cloud)
    p = points.copy()
    d, i = tree.query(p, workers=-1)
    step = 0.15 * d
    for _ in range(iterations):
        g = (p - cloud[i]) / np.maximum(d, 1e-12)[:, None]
        g -= np.sum(g * tangents, axis=1, keepdims=True) * tangents
        p += step[:, None] * g
        step *= 0.7
        d, i = tree.query(p, workers=-1)
    return p


def surface_samples(surface: pv.PolyData, spacing: float) -> np.ndarray:
    """Points (n, 3) covering a triangle surface at most ``spacing`` mm apart: the vertices plus
    a barycentric grid on every triangle whose longest edge exceeds ``spacing``."""
    from biomech.mesh.surface import _triangles

    pts = np.asarray(surface.points, float)
    tri = pts[_triangles(surface)]
    longest = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(axis=1)
    k = np.minimum(np.ceil(longest / spacing).astype(int), 64)
    out = [pts]
    for n in np.unique(k[k > 1]):
        i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        keep = i + j <= n
        w = np.column_stack([i[keep], j[keep]]) / n
        t = tri[k == n]
        out.append((t[:, None, 0] + w[None, :, :1] * (t[:, None, 1] - t[:, None, 0])
                    + w[None, :, 1:] * (t[:, None, 2] - t[:, None, 0])).reshape(-1, 3))
    return np.vstack(out)


def radius_to_surface(points: np.ndarray, surface: pv.PolyData) -> np.ndarray:
    """Exact distance (mm) from each point to the nearest point of a triangle surface."""
    from vtkmodules.vtkCommonCore import reference
    from vtkmodules.vtkCommonDataModel import vtkStaticCellLocator

    locator = vtkStaticCellLocator()
    locator.SetDataSet(surface)
    locator.BuildLocator()
    out = np.empty(len(points))
    cp, cid, sid, dist2 = [0.0, 0.0, 0.0], reference(0), reference(0), reference(0.0)
    for i, p in enumerate(np.asarray(points, float).tolist()):
        locator.FindClosestPoint(p, cp, cid, sid, dist2)
        out[i] = float(dist2)
    return np.sqrt(out)
