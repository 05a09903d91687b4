"""Boundary faces: counts, outward orientation, owners, caching, matching."""

from __future__ import annotations

import numpy as np
import pytest

from biomech.errors import MeshError
from biomech.fem.elements import ELEMENTS
from biomech.mesh.boundary import (
    FLIP,
    boundary_face_owners,
    boundary_faces,
    face_area_vectors,
    face_centroids,
    locate_boundary_faces,
)
from biomech.mesh.core import FACE_CELL_TYPES, CellBlock, Mesh

CASES = {
    "hex": ({"quad": 24}, lambda m: m.hex()),
    "tet": ({"triangle": 48}, lambda m: m.tet()),
    "tet10": ({"triangle6": 48}, lambda m: m.tet10()),
    "wedge": ({"triangle": 16, "quad": 16}, lambda m: m.wedge((2, 2, 2))),
    "wedge_mirrored": ({"triangle": 16, "quad": 16}, lambda m: m.wedge((2, 2, 2), mirrored=True)),
    "mixed": ({"triangle": 8, "quad": 20}, lambda m: m.mixed()),
}


def _area_vectors(mesh):
    return np.concatenate(
        [face_area_vectors(mesh.points, f, t) for t, f in boundary_faces(mesh).items()]
    )


@pytest.mark.parametrize("case", CASES)
def test_unit_cube_boundary(meshes, case):
    counts, build = CASES[case]
    mesh = build(meshes)
    faces = boundary_faces(mesh)
    assert {t: len(f) for t, f in faces.items()} == counts
    vectors = _area_vectors(mesh)
    assert np.linalg.norm(vectors, axis=1).sum() == pytest.approx(6.0)  # unit cube area
    assert np.abs(vectors.sum(axis=0)).max() < 1e-12  # closed surface
    centre = mesh.points.mean(axis=0)
    for ftype, f in faces.items():
        outward = face_centroids(mesh.points, f, ftype) - centre
        normals = face_area_vectors(mesh.points, f, ftype)
        assert (np.einsum("ij,ij->i", normals, outward) > 0).all()  # convex body
        assert f.dtype == np.int64 and f.shape[1] == len(FLIP[ftype])


def test_cube_face_normals_are_axis_aligned(meshes):
    mesh = meshes.hex()
    quads = boundary_faces(mesh)["quad"]
    n = face_area_vectors(mesh.points, quads, "quad")
    c = face_centroids(mesh.points, quads, "quad")
    on_xmax = np.isclose(c[:, 0], 1.0)
    assert on_xmax.sum() == 4
    assert np.allclose(n[on_xmax], [0.25, 0, 0])


def test_tetra10_faces_carry_their_mid_nodes(meshes):
    mesh = meshes.tet10()
    tri6 = boundary_faces(mesh)["triangle6"]
    p = mesh.points
    for corner_a, corner_b, mid in ((0, 1, 3), (1, 2, 4), (2, 0, 5)):
        assert np.allclose(p[tri6[:, mid]], 0.5 * (p[tri6[:, corner_a]] + p[tri6[:, corner_b]]))


def test_owners_point_to_the_cell_face(meshes):
    mesh = meshes.mixed()
    faces, owners = boundary_faces(mesh), boundary_face_owners(mesh)
    for ftype, f in faces.items():
        o = owners[ftype]
        assert o.shape == (len(f), 3)
        for (bi, cell, lf), face in zip(o, f):
            local = ELEMENTS[mesh.blocks[bi].type].faces[lf]
            assert local[0] == ftype
            nodes = mesh.blocks[bi].conn[cell, list(local[1])]
            assert sorted(nodes) == sorted(face)


def test_orientation_is_geometric_not_table_based(meshes):
    """Mirrored wedges (other tools' convention) still give outward faces."""
    normal = meshes.wedge((2, 2, 2))
    mirrored = meshes.wedge((2, 2, 2), mirrored=True)
    for ftype in ("triangle", "quad"):
        a = face_area_vectors(normal.points, boundary_faces(normal)[ftype], ftype)
        b = face_area_vectors(mirrored.points, boundary_faces(mirrored)[ftype], ftype)
        assert np.allclose(np.sort(a, axis=0), np.sort(b, axis=0))


def test_tube_inner_faces_point_to_the_axis(meshes):
    mesh = meshes.tube()
    quads = boundary_faces(mesh)["quad"]
    c = face_centroids(mesh.points, quads, "quad")
    n = face_area_vectors(mesh.points, quads, "quad")
    radius = np.hypot(c[:, 0], c[:, 1])
    inner = radius < 1.01
    radial = np.einsum("ij,ij->i", n[:, :2], c[:, :2])
    assert inner.sum() == 16 * 2
    assert (radial[inner] < 0).all()
    assert (radial[radius > 1.9] > 0).all()
    assert np.abs(n.sum(axis=0)).max() < 1e-12


def test_cache_is_reused_and_refreshed(meshes):
    mesh = meshes.hex()
    first = boundary_faces(mesh)
    assert boundary_faces(mesh) is first
    mesh.blocks[0].conn = mesh.blocks[0].conn[:4].copy()  # replace the array: recomputed
    assert boundary_faces(mesh) is not first
    assert len(boundary_faces(mesh)["quad"]) == 16  # the bottom 2x2x1 layer


def test_duplicate_cells_are_reported(meshes):
    mesh = meshes.hex((2, 1, 1))
    conn = mesh.blocks[0].conn
    bad = Mesh(mesh.points, [CellBlock("hexahedron", np.vstack([conn, conn[:1]]), np.ones(3))])
    with pytest.raises(MeshError, match="shared by more than two cells"):
        boundary_faces(bad)


def test_locate_boundary_faces(meshes):
    mesh = meshes.tet()
    tri = boundary_faces(mesh)["triangle"]
    queries = np.vstack([tri[[5, 0]][:, ::-1], [[0, 1, 2]]])  # reversed order, then a non-face
    code, index = locate_boundary_faces(mesh, queries)
    assert [FACE_CELL_TYPES[c] for c in code[:2]] == ["triangle", "triangle"]
    assert index.tolist()[:2] == [5, 0]
    assert code[2] == -1 and index[2] == -1


def test_large_mesh_is_fast(meshes):
    import time

    mesh = meshes.hex((40, 40, 40))  # 384k cell faces
    start = time.perf_counter()
    faces = boundary_faces(mesh)
    assert len(faces["quad"]) == 6 * 40 * 40
    assert time.perf_counter() - start < 5.0
