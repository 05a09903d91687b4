"""Small hand-built meshes (mm) for the mesh tests; independent of biomech.mesh.generate."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from biomech.mesh.core import CellBlock, Mesh


def grid_points(n: tuple[int, int, int], size=(1.0, 1.0, 1.0)) -> np.ndarray:
    """Nodes of an (nx, ny, nz)-cell structured grid on [0, size]; index i + (nx+1)(j + (ny+1)k)."""
    axes = [np.linspace(0.0, s, k + 1) for k, s in zip(n, size)]
    z, y, x = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
    return np.column_stack([x.ravel(), y.ravel(), z.ravel()])


def _node(n, i, j, k):
    return i + (n[0] + 1) * (j + (n[1] + 1) * k)


def hex_conn(n: tuple[int, int, int]) -> np.ndarray:
    cells = []
    for k, j, i in itertools.product(range(n[2]), range(n[1]), range(n[0])):
        c = [(i, j, k), (i + 1, j, k), (i + 1, j + 1, k), (i, j + 1, k)]
        c += [(a, b, k + 1) for a, b, _ in c]
        cells.append([_node(n, *p) for p in c])
    return np.array(cells)


def hex_mesh(n=(2, 2, 2), size=(1.0, 1.0, 1.0)) -> Mesh:
    conn = hex_conn(n)
    return Mesh(grid_points(n, size), [CellBlock("hexahedron", conn, np.ones(len(conn)))])


def _positive(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    p = points[tets]
    vol = np.einsum("ij,ij->i", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), p[:, 3] - p[:, 0])
    tets = tets.copy()
    tets[vol < 0] = tets[vol < 0][:, [0, 2, 1, 3]]
    return tets


def tet_conn(points: np.ndarray, hexes: np.ndarray) -> np.ndarray:
    """Kuhn split of each hex into 6 tets along the diagonal 0-6 (conforming on grids)."""
    # hex local id of the corner with offset bits (x=1, y=2, z=4)
    loc = {0: 0, 1: 1, 2: 3, 3: 2, 4: 4, 5: 5, 6: 7, 7: 6}
    tets = []
    for perm in itertools.permutations((1, 2, 4)):
        a = perm[0]
        b = a | perm[1]
        tets.append([0, loc[a], loc[b], 6])
    out = np.concatenate([hexes[:, t] for t in tets])
    return _positive(points, out)


def tet_mesh(n=(2, 2, 2), size=(1.0, 1.0, 1.0)) -> Mesh:
    pts = grid_points(n, size)
    conn = tet_conn(pts, hex_conn(n))
    return Mesh(pts, [CellBlock("tetra", conn, np.ones(len(conn)))])


def tet10_mesh(n=(2, 2, 2), size=(1.0, 1.0, 1.0)) -> Mesh:
    """Tetra10 from the Kuhn tets with a mid-edge node per unique edge (VTK edge order)."""
    lin = tet_mesh(n, size)
    tets = lin.blocks[0].conn
    edges = [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]
    pairs = np.sort(np.concatenate([tets[:, e] for e in edges]), axis=1)
    uniq, inv = np.unique(pairs, axis=0, return_inverse=True)
    mids = lin.points[uniq].mean(axis=1)
    mid_ids = len(lin.points) + inv.reshape(len(edges), len(tets)).T
    conn = np.hstack([tets, mid_ids])
    return Mesh(np.vstack([lin.points, mids]), [CellBlock("tetra10", conn, np.ones(len(conn)))])


def wedge_conn(hexes: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """Two wedges per hex (bottom triangles (0,1,2), (0,2,3) extruded along +z)."""
    w = np.concatenate([hexes[:, [0, 1, 2, 4, 5, 6]], hexes[:, [0, 2, 3, 4, 6, 7]]])
    return w[:, [0, 2, 1, 3, 5, 4]] if mirrored else w


def wedge_mesh(n=(2, 2, 1), size=(1.0, 1.0, 1.0), mirrored: bool = False) -> Mesh:
    conn = wedge_conn(hex_conn(n), mirrored)
    return Mesh(grid_points(n, size), [CellBlock("wedge", conn, np.ones(len(conn)))])


def mixed_mesh() -> Mesh:
    """Unit cube, 2x2x2: hexes for x < 0.5 (region 1), wedges for x > 0.5 (region 2)."""
    n = (2, 2, 2)
    hexes = hex_conn(n)
    pts = grid_points(n)
    left = pts[hexes[:, 0], 0] < 0.25
    h, w = hexes[left], wedge_conn(hexes[~left])
    return Mesh(
        pts,
        [CellBlock("hexahedron", h, np.ones(len(h))), CellBlock("wedge", w, np.full(len(w), 2))],
        region_names={"left": 1, "right": 2},
    )


def tube_mesh(r_in=1.0, r_out=2.0, height=1.0, nr=2, nt=16, nz=2) -> Mesh:
    """Hollow cylinder around the z axis, hexes ordered (r, theta, z) - positive volume."""
    r = np.linspace(r_in, r_out, nr + 1)
    t = np.linspace(0, 2 * np.pi, nt, endpoint=False)
    z = np.linspace(0, height, nz + 1)
    Z, T, R = np.meshgrid(z, t, r, indexing="ij")
    pts = np.column_stack([(R * np.cos(T)).ravel(), (R * np.sin(T)).ravel(), Z.ravel()])

    def node(i, j, k):
        return i + (nr + 1) * ((j % nt) + nt * k)

    cells = []
    for k, j, i in itertools.product(range(nz), range(nt), range(nr)):
        c = [(i, j, k), (i + 1, j, k), (i + 1, j + 1, k), (i, j + 1, k)]
        c += [(a, b, k + 1) for a, b, _ in c]
        cells.append([node(*p) for p in c])
    conn = np.array(cells)
    return Mesh(pts, [CellBlock("hexahedron", conn, np.ones(len(conn)))])


def single_tet() -> Mesh:
    pts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    return Mesh(pts, [CellBlock("tetra", np.array([[0, 1, 2, 3]]), np.ones(1))])


@pytest.fixture
def meshes() -> SimpleNamespace:
    """Builders of the test meshes."""
    return SimpleNamespace(
        hex=hex_mesh, tet=tet_mesh, tet10=tet10_mesh, wedge=wedge_mesh, mixed=mixed_mesh,
        tube=tube_mesh, single_tet=single_tet, grid_points=grid_points, hex_conn=hex_conn,
    )
