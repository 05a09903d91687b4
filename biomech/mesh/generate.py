"""Structured meshes (mm) for verification and benchmarks: box, tube, thick sphere, Cook's
membrane, cardiac beam and truncated ellipsoid (Land et al. 2015 P1 and P2).

Every generator is a set of structured hexahedral *patches* laid on a doubled integer lattice
(even indices = hex corners, odd indices = parametric mid-points) and an exact geometric map
of that lattice. Nodes are the lattice points the elements use, numbered in increasing
lattice key order (compact and deterministic); points shared by patches, or by the seam of
a full tube, share one lattice key. Because a tetra10 mid-edge node is the *mapped*
parametric mid-point, it lies on the curved geometry (circle, sphere).

Hexes are split conformingly: ``"tetra"``/``"tetra10"`` into the 6 Kuhn (Freudenthal)
tetrahedra around the local main diagonal (0,0,0)-(1,1,1), which puts the diagonal of every
hex face from its lowest to its highest lattice corner, so neighbouring hexes (and patches
whose local axes run the same way along a shared face) agree; ``"wedge"`` into 2 prisms
whose triangles split the faces normal to the prism axis along the same low-high diagonal.
Cells whose Jacobian at the centre comes out negative (left-handed patch maps) are
renumbered by a reflection, so all cells match the reference elements of
:mod:`biomech.fem.elements`.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Callable, Sequence

import numpy as np

from biomech.fem.elements import element as reference_element
from biomech.mesh.core import CellBlock, Mesh

ELEMENT_KINDS = ("hexahedron", "wedge", "tetra", "tetra10")

_HEX_CORNERS = np.array(
    [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]]
)
_TET10_EDGES = ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))
# Node permutations reflecting a cell (same node set, opposite orientation).
_REFLECT = {
    "hexahedron": [0, 3, 2, 1, 4, 7, 6, 5],
    "wedge": [0, 2, 1, 3, 5, 4],
    "tetra": [0, 2, 1, 3],
    "tetra10": [0, 2, 1, 3, 6, 5, 4, 7, 9, 8],
}
_BOX_AXES = {"x": 0, "y": 1, "z": 2}
_TUBE_AXES = {"radial": 0, "circumferential": 1, "axial": 2}
_COOK_CORNERS = np.array([[0.0, 0.0], [48.0, 44.0], [48.0, 60.0], [0.0, 44.0]])

# (patch index, local axis, at the high end?) identifies one side of one patch.
_Side = tuple[int, int, bool]


@dataclass(frozen=True)
class _Patch:
    """A block of ``cells`` hexes; ``to_global`` maps doubled local lattice indices (n, 3)
    to global lattice indices (n, g)."""

    cells: tuple[int, int, int]
    to_global: Callable[[np.ndarray], np.ndarray]


# --- reference splits on the doubled lattice ---------------------------------------------


def _kuhn_tets() -> np.ndarray:
    """The 6 positively oriented unit-cube tets sharing the diagonal (0,0,0)-(1,1,1), (6, 4, 3)."""
    tets = []
    for order in permutations(range(3)):
        verts = [np.zeros(3, dtype=np.int64)]
        for axis in order:
            nxt = verts[-1].copy()
            nxt[axis] = 1
            verts.append(nxt)
        tet = np.array(verts)
        if np.linalg.det((tet[1:] - tet[0]).astype(float)) < 0:
            tet[[1, 2]] = tet[[2, 1]]
        tets.append(tet)
    return np.array(tets)


def _prisms(axis: int) -> np.ndarray:
    """The 2 unit-cube prisms along ``axis`` split on the low-high face diagonal, (2, 6, 3)."""
    p, q = (axis + 1) % 3, (axis + 2) % 3  # cyclic, so (p, q, axis) is right-handed
    out = np.zeros((2, 6, 3), dtype=np.int64)
    for w, tri in enumerate((((0, 0), (1, 0), (1, 1)), ((0, 0), (1, 1), (0, 1)))):
        for n, (a, b) in enumerate(tri):
            for level in (0, 1):
                out[w, n + 3 * level, [p, q, axis]] = (a, b, level)
    return out


def _sub_elements(kind: str, wedge_axis: int) -> np.ndarray:
    """Doubled-lattice offsets (n_sub, nodes_per_cell, 3) of the cells one hex becomes."""
    if kind == "hexahedron":
        return 2 * _HEX_CORNERS[None]
    if kind == "wedge":
        return 2 * _prisms(wedge_axis)
    tets = 2 * _kuhn_tets()
    if kind == "tetra":
        return tets
    mids = np.stack([(tets[:, i] + tets[:, j]) // 2 for i, j in _TET10_EDGES], axis=1)
    return np.concatenate([tets, mids], axis=1)


# --- assembly ----------------------------------------------------------------------------


def _check_kind(kind: str) -> None:
    """ValueError unless ``kind`` is a supported element kind."""
    if kind not in ELEMENT_KINDS:
        raise ValueError(f"element {kind!r} is not supported; choose one of {ELEMENT_KINDS}")


def _check_divisions(**counts: int) -> None:
    """ValueError unless every division count is an integer >= 1."""
    for name, n in counts.items():
        if int(n) != n or n < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {n!r}")


def _centre_jacobian_det(kind: str, points: np.ndarray, conn: np.ndarray) -> np.ndarray:
    """det J at the reference centroid of each cell (tets: 6 x volume of the corner tet)."""
    if kind in ("tetra", "tetra10"):
        x0 = points[conn[:, 0]]
        edges = [points[conn[:, k]] - x0 for k in (1, 2, 3)]
        return np.einsum("ij,ij->i", edges[0], np.cross(edges[1], edges[2]))
    ref = reference_element(kind)
    centre = ref.reference_nodes[: ref.corner_nodes].mean(axis=0)
    jac = np.matmul(points[conn].transpose(0, 2, 1), ref.grad(centre[None])[0])
    return np.linalg.det(jac)


def _orient(kind: str, points: np.ndarray, conn: np.ndarray, lattice: np.ndarray) -> None:
    """Reflect (in place) the node order of cells with negative centre Jacobian."""
    flip = _centre_jacobian_det(kind, points, conn) < 0
    if flip.any():
        perm = _REFLECT[kind]
        conn[flip] = conn[flip][:, perm]
        lattice[flip] = lattice[flip][:, perm]


def _face_sets(
    kind: str,
    conn: np.ndarray,
    lattice: np.ndarray,
    starts: Sequence[int],
    patches: Sequence[_Patch],
    sides: dict[str, list[_Side]],
) -> dict[str, dict[str, np.ndarray]]:
    """Outward faces of the cells lying on each named list of patch sides."""
    faces = reference_element(kind).faces
    out: dict[str, dict[str, np.ndarray]] = {}
    for name, side_list in sides.items():
        parts: dict[str, list[np.ndarray]] = {}
        for p, axis, at_high in side_list:
            value = 2 * patches[p].cells[axis] if at_high else 0
            lat, con = lattice[starts[p] : starts[p + 1]], conn[starts[p] : starts[p + 1]]
            touching = np.any(lat[:, :, axis] == value, axis=1)
            lat, con = lat[touching], con[touching]
            for ftype, ids in faces:
                corners = list(ids[: 4 if ftype == "quad" else 3])
                on_side = np.all(lat[:, corners, axis] == value, axis=1)
                if on_side.any():
                    parts.setdefault(ftype, []).append(con[on_side][:, list(ids)])
        out[name] = {t: np.concatenate(v).astype(np.int64) for t, v in parts.items()}
    return out


def _compact(keys: np.ndarray, n_lattice: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct lattice keys and each key's position among them (like np.unique)."""
    if n_lattice > 4 * len(keys):
        unique_keys, inverse = np.unique(keys, return_inverse=True)
        return unique_keys, inverse.astype(np.int64)
    used = np.zeros(n_lattice, dtype=bool)
    used[keys] = True
    unique_keys = np.flatnonzero(used)
    number = np.empty(n_lattice, dtype=np.int64)
    number[unique_keys] = np.arange(len(unique_keys))
    return unique_keys, number[keys]


def _assemble(
    patches: Sequence[_Patch],
    lattice_shape: tuple[int, ...],
    coords: Callable[[np.ndarray], np.ndarray],
    kind: str,
    sides: dict[str, list[_Side]],
    source: str,
    wedge_axis: int = 2,
) -> Mesh:
    """Mesh of the patches: split hexes, merge lattice keys, map to mm, orient, face sets."""
    _check_kind(kind)
    local = _sub_elements(kind, wedge_axis)
    nn = local.shape[1]
    lattices, keys, starts = [], [], [0]
    for patch in patches:
        origins = 2 * np.indices(patch.cells).reshape(3, -1).T
        lat = (origins[:, None, None, :] + local[None]).reshape(-1, nn, 3)
        glob = patch.to_global(lat.reshape(-1, 3))
        keys.append(np.ravel_multi_index(tuple(glob.T), lattice_shape))
        lattices.append(lat)
        starts.append(starts[-1] + len(lat))
    unique_keys, inverse = _compact(np.concatenate(keys), int(np.prod(lattice_shape)))
    points = coords(np.stack(np.unravel_index(unique_keys, lattice_shape), axis=1))
    conn = inverse.reshape(-1, nn)
    lattice = np.concatenate(lattices)
    _orient(kind, points, conn, lattice)
    face_sets = _face_sets(kind, conn, lattice, starts, patches, sides)
    block = CellBlock(kind, conn, np.ones(len(conn), dtype=np.int64))
    return Mesh(points, [block], region_names={"all": 1}, face_sets=face_sets, source=source)


def _identity(lat: np.ndarray) -> np.ndarray:
    """Global lattice = local lattice (single-patch meshes)."""
    return lat


def _with_midpoints(nodes: np.ndarray) -> np.ndarray:
    """Doubled 1-D lattice: the nodes at even indices, their averages at odd indices."""
    out = np.empty(2 * len(nodes) - 1)
    out[::2] = nodes
    out[1::2] = 0.5 * (nodes[:-1] + nodes[1:])
    return out


def _graded(a: float, b: float, n: int, ratio: float) -> np.ndarray:
    """n+1 positions from a to b, geometric spacing with last/first spacing = ``ratio``."""
    if ratio <= 0:
        raise ValueError(f"radial_grading must be > 0, got {ratio}")
    if n == 1 or ratio == 1.0:
        return np.linspace(a, b, n + 1)
    steps = ratio ** (np.arange(n) / (n - 1))
    x = np.concatenate([[0.0], np.cumsum(steps)]) / steps.sum()
    out = a + (b - a) * x
    out[-1] = b
    return out


def _snap(values: np.ndarray, tol: float = 1e-14) -> np.ndarray:
    """Round trigonometric noise (|v| < tol) to exact zero."""
    values[np.abs(values) < tol] = 0.0
    return values


def _corner_centroids(mesh: Mesh) -> np.ndarray:
    """Mean of the corner nodes of each cell of the single block, (n_cells, 3) mm."""
    block = mesh.blocks[0]
    corners = reference_element(block.type).corner_nodes
    total = mesh.points[block.conn[:, 0]].copy()
    for k in range(1, corners):
        total += mesh.points[block.conn[:, k]]
    return total / corners


# --- generators --------------------------------------------------------------------------


def _box(
    lengths: Sequence[float],
    divisions: Sequence[int],
    element: str,
    origin: Sequence[float],
    wedge_axis: str,
    names: Sequence[str],
    source: str,
) -> Mesh:
    """Box mesh with face sets ``names`` = (x low, x high, y low, y high, z low, z high)."""
    if len(divisions) != 3:
        raise ValueError(f"divisions must be 3 integers, got {divisions!r}")
    _check_divisions(**{f"divisions[{i}]": d for i, d in enumerate(divisions)})
    n = tuple(int(d) for d in divisions)
    if wedge_axis not in _BOX_AXES:
        raise ValueError(f"wedge_axis must be one of {tuple(_BOX_AXES)}, got {wedge_axis!r}")
    size = np.asarray(lengths, dtype=float)
    if size.shape != (3,) or np.any(size <= 0):
        raise ValueError(f"lengths must be 3 positive numbers, got {lengths!r}")
    start = np.asarray(origin, dtype=float)

    def coords(g: np.ndarray) -> np.ndarray:
        return start + size * g / (2 * np.array(n))

    sides = {names[2 * a + h]: [(0, a, bool(h))] for a in range(3) for h in (0, 1)}
    shape = tuple(2 * d + 1 for d in n)
    patch = _Patch(n, _identity)
    return _assemble([patch], shape, coords, element, sides, source, _BOX_AXES[wedge_axis])


def box(
    lengths: Sequence[float] = (1.0, 1.0, 1.0),
    divisions: Sequence[int] = (2, 2, 2),
    element: str = "hexahedron",
    origin: Sequence[float] = (0.0, 0.0, 0.0),
    wedge_axis: str = "z",
) -> Mesh:
    """Box [origin, origin + lengths] (mm) with ``divisions`` hexes per axis split into
    ``element``; face sets xmin, xmax, ymin, ymax, zmin, zmax; prisms run along ``wedge_axis``."""
    source = f"box(lengths={tuple(lengths)}, divisions={tuple(divisions)}, element={element!r})"
    names = ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")
    return _box(lengths, divisions, element, origin, wedge_axis, names, source)


def beam(
    length: float = 10.0,
    width: float = 1.0,
    height: float = 1.0,
    divisions: Sequence[int] = (20, 2, 2),
    element: str = "hexahedron",
) -> Mesh:
    """Land et al. (2015) cardiac benchmark P1 beam [0,length]x[0,width]x[0,height] (mm);
    face sets x0 (x=0, clamped), x1, y0, y1, bottom (z=0, pressure), top; cell_data
    ``basis`` rows fibre (1,0,0), sheet (0,1,0), normal (0,0,1)."""
    source = (
        f"beam(length={length}, width={width}, height={height}, "
        f"divisions={tuple(divisions)}, element={element!r})"
    )
    names = ("x0", "x1", "y0", "y1", "bottom", "top")
    mesh = _box((length, width, height), divisions, element, (0.0, 0.0, 0.0), "z", names, source)
    mesh.cell_data["basis"] = [np.tile(np.eye(3).ravel(), (mesh.n_cells, 1))]
    return mesh


def tube(
    inner_radius: float,
    outer_radius: float,
    length: float,
    n_radial: int,
    n_circ: int,
    n_axial: int,
    element: str = "hexahedron",
    sector: str = "full",
    radial_grading: float = 1.0,
    wedge_axis: str = "axial",
) -> Mesh:
    """Thick-walled tube A <= r <= B, 0 <= z <= length (mm), axis z; ``n_circ`` cells span the
    sector (full: 360 deg, quarter: 0..90 deg, x, y >= 0); radial_grading = outermost/innermost
    radial cell size. Face sets inner, outer, zmin, zmax (+ xsym at x=0, ysym at y=0 for the
    quarter); cell_data ``basis`` rows (circumferential, axial, radial) at cell centroids."""
    _check_divisions(n_radial=n_radial, n_circ=n_circ, n_axial=n_axial)
    if not 0 < inner_radius < outer_radius or length <= 0:
        raise ValueError("need 0 < inner_radius < outer_radius and length > 0")
    if sector not in ("full", "quarter"):
        raise ValueError(f"sector must be 'full' or 'quarter', got {sector!r}")
    if sector == "full" and n_circ < 3:
        raise ValueError("a full tube needs n_circ >= 3")
    if wedge_axis not in _TUBE_AXES:
        raise ValueError(f"wedge_axis must be one of {tuple(_TUBE_AXES)}, got {wedge_axis!r}")
    full = sector == "full"
    radii = _with_midpoints(_graded(inner_radius, outer_radius, n_radial, radial_grading))
    span = 2 * np.pi if full else 0.5 * np.pi
    n_theta = 2 * n_circ if full else 2 * n_circ + 1  # full tube: the seam wraps to index 0
    shape = (2 * n_radial + 1, n_theta, 2 * n_axial + 1)

    def to_global(lat: np.ndarray) -> np.ndarray:
        if full:
            lat = lat.copy()
            lat[:, 1] %= 2 * n_circ
        return lat

    def coords(g: np.ndarray) -> np.ndarray:
        r, theta = radii[g[:, 0]], span * g[:, 1] / (2 * n_circ)
        z = length * g[:, 2] / (2 * n_axial)
        return np.column_stack([r * _snap(np.cos(theta)), r * _snap(np.sin(theta)), z])

    sides: dict[str, list[_Side]] = {
        "inner": [(0, 0, False)], "outer": [(0, 0, True)],
        "zmin": [(0, 2, False)], "zmax": [(0, 2, True)],
    }
    if not full:
        sides.update(ysym=[(0, 1, False)], xsym=[(0, 1, True)])
    source = (
        f"tube(A={inner_radius}, B={outer_radius}, L={length}, n_radial={n_radial}, "
        f"n_circ={n_circ}, n_axial={n_axial}, element={element!r}, sector={sector!r}, "
        f"radial_grading={radial_grading})"
    )
    patch = _Patch((n_radial, n_circ, n_axial), to_global)
    mesh = _assemble([patch], shape, coords, element, sides, source, _TUBE_AXES[wedge_axis])
    mesh.cell_data["basis"] = [_cylindrical_basis(_corner_centroids(mesh))]
    return mesh


def _cylindrical_basis(centroids: np.ndarray) -> np.ndarray:
    """Rows (circumferential, axial, radial) about the z axis at each point, (n, 9)."""
    theta = np.arctan2(centroids[:, 1], centroids[:, 0])
    c, s = np.cos(theta), np.sin(theta)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.column_stack([-s, c, zero, zero, zero, one, c, s, zero])


def thick_sphere(
    inner_radius: float,
    outer_radius: float,
    n_radial: int,
    n_circ: int,
    element: str = "hexahedron",
    radial_grading: float = 1.0,
) -> Mesh:
    """Octant (x, y, z >= 0) of the shell A <= |x| <= B (mm) as 3 equiangular cubed-sphere
    patches of n_circ x n_circ x n_radial hexes (each 90 deg boundary arc has 2*n_circ cells);
    wedges extrude radially. Face sets inner, outer, xsym (x=0), ysym (y=0), zsym (z=0)."""
    _check_divisions(n_radial=n_radial, n_circ=n_circ)
    if not 0 < inner_radius < outer_radius:
        raise ValueError("need 0 < inner_radius < outer_radius")
    m = 2 * n_circ  # doubled lattice size along a patch edge
    radii = _with_midpoints(_graded(inner_radius, outer_radius, n_radial, radial_grading))
    shape = (m + 1, m + 1, m + 1, 2 * n_radial + 1)

    def patch(face: int) -> _Patch:
        """Patch on cube face ``face`` = m; its local (i, j) run along the other two cube axes."""
        others = [a for a in range(3) if a != face]

        def to_global(lat: np.ndarray) -> np.ndarray:
            g = np.empty((len(lat), 4), dtype=np.int64)
            g[:, face] = m
            g[:, others[0]], g[:, others[1]], g[:, 3] = lat[:, 0], lat[:, 1], lat[:, 2]
            return g

        return _Patch((n_circ, n_circ, n_radial), to_global)

    def coords(g: np.ndarray) -> np.ndarray:
        cube = np.tan(0.25 * np.pi * g[:, :3] / m)
        cube[g[:, :3] == m] = 1.0
        return radii[g[:, 3], None] * cube / np.linalg.norm(cube, axis=1, keepdims=True)

    sides: dict[str, list[_Side]] = {
        "inner": [(p, 2, False) for p in range(3)],
        "outer": [(p, 2, True) for p in range(3)],
        "xsym": [(1, 0, False), (2, 0, False)],  # x = cube axis 0: local i of patches y, z
        "ysym": [(0, 0, False), (2, 1, False)],
        "zsym": [(0, 1, False), (1, 1, False)],
    }
    source = (
        f"thick_sphere(A={inner_radius}, B={outer_radius}, n_radial={n_radial}, "
        f"n_circ={n_circ}, element={element!r}, radial_grading={radial_grading})"
    )
    return _assemble([patch(f) for f in range(3)], shape, coords, element, sides, source)


def cooks_membrane(
    n: int, element: str = "hexahedron", thickness: float = 1.0, n_thickness: int = 1
) -> Mesh:
    """Cook's tapered panel, corners (0,0), (48,44), (48,60), (0,44) mm, extruded 0..thickness
    in z, n x n bilinearly mapped cells in-plane. Face sets clamped (x=0), tip (x=48), lower
    (edge (0,0)-(48,44)), upper (edge (0,44)-(48,60)), zmin, zmax."""
    _check_divisions(n=n, n_thickness=n_thickness)
    if thickness <= 0:
        raise ValueError(f"thickness must be > 0, got {thickness}")
    shape = (2 * n + 1, 2 * n + 1, 2 * n_thickness + 1)

    def coords(g: np.ndarray) -> np.ndarray:
        u, v = g[:, 0:1] / (2 * n), g[:, 1:2] / (2 * n)
        p = _COOK_CORNERS
        xy = (1 - u) * (1 - v) * p[0] + u * (1 - v) * p[1] + u * v * p[2] + (1 - u) * v * p[3]
        return np.column_stack([xy, thickness * g[:, 2] / (2 * n_thickness)])

    sides: dict[str, list[_Side]] = {
        "clamped": [(0, 0, False)], "tip": [(0, 0, True)],
        "lower": [(0, 1, False)], "upper": [(0, 1, True)],
        "zmin": [(0, 2, False)], "zmax": [(0, 2, True)],
    }
    source = (
        f"cooks_membrane(n={n}, element={element!r}, thickness={thickness}, "
        f"n_thickness={n_thickness})"
    )
    patch = _Patch((n, n, n_thickness), _identity)
    return _assemble([patch], shape, coords, element, sides, source)


# Land et al. 2015 problem 2: endocardium radii 7 / 17 mm, epicardium 10 / 20 mm (short /
# long semi-axis), both truncated by the base plane z = 5 mm; the apex points down (-z).
LAND_ENDO, LAND_EPI, LAND_BASE_Z = (7.0, 17.0), (10.0, 20.0), 5.0


def land_ellipsoid(n_circ: int = 16, n_merid: int = 12, n_wall: int = 2) -> Mesh:
    """Land et al. (2015) cardiac benchmark P2 truncated ellipsoid (mm): the surfaces
    x = r_s sin θ cos φ, y = r_s sin θ sin φ, z = −r_l cos θ, with (r_s, r_l) linear through
    the wall from the endocardium (7, 17) to the epicardium (10, 20), θ from the apex (0) to
    the base plane z = 5 in ``n_merid`` equal steps, ``n_circ`` cells around and ``n_wall``
    through the wall. HEX8, with WEDGE6 in the ring around the apex (no collapsed hexes).
    Face sets endo (pressure), epi, base (z = 5, fixed); named points in ``point_data``
    ``apex_endo`` / ``apex_epi`` (1 at the apex nodes, 0 elsewhere); cell_data ``basis``
    rows (circumferential, longitudinal (apex → base), transmural (outward))."""
    _check_divisions(n_circ=n_circ, n_merid=n_merid, n_wall=n_wall)
    if n_circ < 3:
        raise ValueError("the ellipsoid needs n_circ >= 3")
    t = np.linspace(0.0, 1.0, n_wall + 1)
    rs = LAND_ENDO[0] + t * (LAND_EPI[0] - LAND_ENDO[0])
    rl = LAND_ENDO[1] + t * (LAND_EPI[1] - LAND_ENDO[1])
    theta_base = np.arccos(-LAND_BASE_Z / rl)  # per wall level: z = 5 at the base
    phi = 2 * np.pi * np.arange(n_circ) / n_circ
    ring = n_merid * n_circ  # nodes per wall level besides the apex
    per_level = 1 + ring
    points = np.empty(((n_wall + 1) * per_level, 3))
    for k in range(n_wall + 1):
        theta = theta_base[k] * np.arange(1, n_merid + 1) / n_merid
        th, ph = np.meshgrid(theta, phi, indexing="ij")  # (n_merid, n_circ)
        level = np.column_stack([rs[k] * np.sin(th).ravel() * _snap(np.cos(ph)).ravel(),
                                 rs[k] * np.sin(th).ravel() * _snap(np.sin(ph)).ravel(),
                                 -rl[k] * np.cos(th).ravel()])
        points[k * per_level] = (0.0, 0.0, -rl[k])
        points[k * per_level + 1:(k + 1) * per_level] = level

    def node(k, i, j):  # wall level k, ring i (1 … n_merid), meridian j (mod n_circ)
        return k * per_level + 1 + (i - 1) * n_circ + np.mod(j, n_circ)

    j = np.arange(n_circ)
    wedges = np.concatenate([
        np.column_stack([np.full(n_circ, k * per_level), node(k, 1, j), node(k, 1, j + 1),
                         np.full(n_circ, (k + 1) * per_level), node(k + 1, 1, j),
                         node(k + 1, 1, j + 1)]) for k in range(n_wall)])
    kk, ii, jj = np.meshgrid(np.arange(n_wall), np.arange(1, n_merid), j, indexing="ij")
    kk, ii, jj = kk.ravel(), ii.ravel(), jj.ravel()
    hexes = np.column_stack([node(kk, ii, jj), node(kk, ii + 1, jj), node(kk, ii + 1, jj + 1),
                             node(kk, ii, jj + 1), node(kk + 1, ii, jj),
                             node(kk + 1, ii + 1, jj), node(kk + 1, ii + 1, jj + 1),
                             node(kk + 1, ii, jj + 1)])
    for kind, conn in (("wedge", wedges), ("hexahedron", hexes)):
        flip = _centre_jacobian_det(kind, points, conn) < 0
        conn[flip] = conn[flip][:, _REFLECT[kind]]
    blocks = [CellBlock("wedge", wedges, np.ones(len(wedges), np.int64)),
              CellBlock("hexahedron", hexes, np.ones(len(hexes), np.int64))]
    source = f"land_ellipsoid(n_circ={n_circ}, n_merid={n_merid}, n_wall={n_wall})"
    mesh = Mesh(points, blocks, region_names={"myocardium": 1}, source=source)
    level = np.repeat(np.arange(n_wall + 1), per_level)
    on_base = np.zeros(len(points), bool)
    for k in range(n_wall + 1):
        on_base[node(k, n_merid, j)] = True
    from biomech.mesh.boundary import boundary_faces

    sets: dict[str, dict[str, np.ndarray]] = {"endo": {}, "epi": {}, "base": {}}
    for ftype, faces in boundary_faces(mesh).items():
        for name, keep in (("endo", (level[faces] == 0).all(axis=1)),
                           ("epi", (level[faces] == n_wall).all(axis=1)),
                           ("base", on_base[faces].all(axis=1))):
            if keep.any():
                sets[name][ftype] = faces[keep]
    mesh.face_sets = sets
    mesh.point_data["apex_endo"] = (np.arange(len(points)) == 0).astype(float)
    mesh.point_data["apex_epi"] = (np.arange(len(points)) == n_wall * per_level).astype(float)
    mesh.cell_data["basis"] = [_ellipsoid_basis(points[c].mean(axis=1)) for c in (wedges, hexes)]
    return mesh


def _ellipsoid_basis(centroids: np.ndarray) -> np.ndarray:
    """Rows (circumferential, longitudinal, transmural) at points of the P2 ellipsoid: the
    circumferential direction about z, the transmural one along the gradient of the
    ellipsoidal coordinate through the point, the longitudinal one completing the frame."""
    x, y, z = centroids.T
    rho = np.hypot(x, y)
    circ = np.column_stack([-y, x, np.zeros_like(x)]) / np.maximum(rho, 1e-12)[:, None]
    circ[rho < 1e-12] = (0.0, 1.0, 0.0)
    # the wall coordinate t of the point solves (x²+y²)/rs(t)² + z²/rl(t)² = 1, rs, rl linear
    # in t; its gradient is normal to the surface of constant t through the point
    t = _ellipsoid_level(rho, z)
    rs = LAND_ENDO[0] + t * (LAND_EPI[0] - LAND_ENDO[0])
    rl = LAND_ENDO[1] + t * (LAND_EPI[1] - LAND_ENDO[1])
    normal = np.column_stack([x / rs**2, y / rs**2, z / rl**2])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    longi = np.cross(normal, circ)
    longi /= np.linalg.norm(longi, axis=1, keepdims=True)
    flip = longi[:, 2] < 0  # apex → base is +z
    longi[flip] *= -1
    circ[flip] *= -1  # keep the frame right-handed: circ x longi = transmural
    return np.column_stack([circ, longi, normal])


def _ellipsoid_level(rho: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The wall coordinate t in [0, 1] of points (ρ, z), by bisection."""
    lo, hi = np.full(len(rho), -0.5), np.full(len(rho), 1.5)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        rs = LAND_ENDO[0] + mid * (LAND_EPI[0] - LAND_ENDO[0])
        rl = LAND_ENDO[1] + mid * (LAND_EPI[1] - LAND_ENDO[1])
        inside = (rho / rs) ** 2 + (z / rl) ** 2 < 1.0
        hi, lo = np.where(inside, mid, hi), np.where(inside, lo, mid)
    return 0.5 * (lo + hi)


# --- benchmark sizing --------------------------------------------------------------------

_BENCH_A, _BENCH_B, _BENCH_L = 10.0, 12.0, 20.0


def bench_divisions(target_dofs: int, element: str = "hexahedron") -> tuple[int, int, int]:
    """(n_radial, n_circ, n_axial) of the quarter tube A=10, B=12, L=20 mm whose DOF count
    (3 x nodes) is closest to ``target_dofs`` among cells with radial, mid-circumferential
    and axial sizes within a factor 1.5 of each other (the most cubic cells if none is)."""
    _check_kind(element)
    if target_dofs <= 0:
        raise ValueError(f"target_dofs must be > 0, got {target_dofs}")
    extents = np.array([_BENCH_B - _BENCH_A, 0.25 * np.pi * (_BENCH_A + _BENCH_B), _BENCH_L])
    ideal = extents[None, :] / np.geomspace(1e-3, 2 * extents.max(), 3000)[:, None]
    rounding = np.indices((2, 2, 2)).reshape(3, -1).T  # floor/ceil per axis
    counts = np.floor(ideal)[:, None, :] + rounding[None]
    counts = np.unique(np.maximum(counts, 1).reshape(-1, 3), axis=0).astype(np.int64)
    sizes = extents / counts
    aspect = sizes.max(axis=1) / sizes.min(axis=1)
    per_cell = 2 if element == "tetra10" else 1
    misfit = np.abs(np.log(3 * np.prod(per_cell * counts + 1, axis=1) / target_dofs))
    ok = aspect <= max(1.5, aspect.min())
    best = np.lexsort((aspect[ok], misfit[ok]))[0]
    return tuple(int(c) for c in counts[ok][best])


def quarter_tube_for_bench(target_dofs: int, element: str = "hexahedron") -> Mesh:
    """Quarter tube with inner radius A = 10 mm, outer radius B = 12 mm, length 20 mm whose
    DOF count (3 x nodes) is close to ``target_dofs``, cells of near-unit aspect ratio."""
    n_radial, n_circ, n_axial = bench_divisions(target_dofs, element)
    return tube(_BENCH_A, _BENCH_B, _BENCH_L, n_radial, n_circ, n_axial, element, sector="quarter")
