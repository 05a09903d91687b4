"""Jacobians, quality report, inverted cells and wedge renumbering."""

from __future__ import annotations

import numpy as np
import pytest

from biomech.errors import MeshError
from biomech.fem.elements import ELEMENTS
from biomech.mesh.boundary import boundary_faces, face_area_vectors, face_centroids
from biomech.mesh.core import CellBlock, Mesh
from biomech.mesh.quality import WEDGE_FLIP, assert_valid, check_mesh, element_jacobians

BUILDERS = ["hex", "tet", "tet10", "wedge", "mixed"]


@pytest.mark.parametrize("name", BUILDERS)
def test_jacobians_integrate_to_the_volume(meshes, name):
    mesh = getattr(meshes, name)()
    dets = element_jacobians(mesh)
    volume = sum(
        (d * ELEMENTS[b.type].tabulate()[2]).sum() for d, b in zip(dets, mesh.blocks)
    )
    assert volume == pytest.approx(1.0)
    corners = element_jacobians(mesh, at="corners")
    assert [c.shape for c in corners] == [
        (len(b.conn), ELEMENTS[b.type].corner_nodes) for b in mesh.blocks
    ]
    assert all((c > 0).all() for c in corners)


@pytest.mark.parametrize("name", BUILDERS)
def test_valid_meshes_pass(meshes, name):
    report = assert_valid(getattr(meshes, name)())
    assert report.n_inverted == 0 and report.reordered_blocks == []
    assert 0 < report.min_scaled_jacobian <= 1 + 1e-12
    assert report.max_aspect_ratio >= 1


def test_ideal_shapes_score_one(meshes):
    report = check_mesh(meshes.hex())
    assert report.min_scaled_jacobian == pytest.approx(1.0)
    assert report.max_aspect_ratio == pytest.approx(1.0)
    s3 = np.sqrt(3.0)
    regular = np.array([[0, 0, 0], [1, 0, 0], [0.5, s3 / 2, 0], [0.5, s3 / 6, np.sqrt(2 / 3)]])
    tet = Mesh(regular * 7.0, [CellBlock("tetra", np.array([[0, 1, 2, 3]]), np.ones(1))])
    q = check_mesh(tet)
    assert q.min_scaled_jacobian == pytest.approx(1.0)
    assert q.max_aspect_ratio == pytest.approx(1.0)


def test_inverted_tet_is_named(meshes):
    mesh = meshes.tet()
    mesh.blocks[0].region[:] = 3
    mesh.region_names = {"muscle": 3}
    mesh.blocks[0].conn[7] = mesh.blocks[0].conn[7][[0, 2, 1, 3]]
    report = check_mesh(mesh)
    assert report.n_inverted == 1 and report.blocks[0].inverted.tolist() == [7]
    assert report.min_scaled_jacobian < 0
    with pytest.raises(MeshError) as info:
        assert_valid(mesh)
    msg = str(info.value)
    assert "1 inverted cells" in msg and "tetra #7 of block 0 in region 'muscle' (tag 3)" in msg


def test_flat_cell_counts_as_inverted(meshes):
    mesh = meshes.hex((1, 1, 1))
    mesh.points[4:, 2] = 0.0  # top face squashed onto the bottom
    assert check_mesh(mesh).n_inverted == 1


def test_curved_tetra10_with_a_bad_mid_node(meshes):
    mesh = meshes.tet10()
    cell = 11
    mid = mesh.blocks[0].conn[cell, 4]  # node between corners 0 and 1
    a, b = mesh.blocks[0].conn[cell, :2]
    mesh.points[mid] = mesh.points[a] + 0.9 * (mesh.points[b] - mesh.points[a])  # pushed too far
    report = check_mesh(mesh)
    assert cell in report.blocks[0].inverted.tolist()
    with pytest.raises(MeshError, match="tetra10 #"):
        assert_valid(mesh)


def test_mirrored_wedges_are_renumbered(meshes):
    mesh = meshes.wedge((2, 2, 2), mirrored=True)
    original = mesh.blocks[0].conn.copy()
    before = boundary_faces(mesh)
    assert (element_jacobians(mesh)[0] < 0).all()
    report = assert_valid(mesh)
    assert report.reordered_blocks == [0] and report.n_inverted == 0
    assert np.array_equal(mesh.blocks[0].conn, original[:, list(WEDGE_FLIP)])
    assert (element_jacobians(mesh)[0] > 0).all()
    after = boundary_faces(mesh)  # recomputed, still outward
    assert after is not before
    centre = mesh.points.mean(axis=0)
    for ftype, f in after.items():
        out = face_centroids(mesh.points, f, ftype) - centre
        assert (np.einsum("ij,ij->i", face_area_vectors(mesh.points, f, ftype), out) > 0).all()
    assert "renumbered" in str(report)


def test_wedges_not_fixed_when_disabled(meshes):
    mesh = meshes.wedge(mirrored=True)
    assert check_mesh(mesh, fix_wedges=False).n_inverted == len(mesh.blocks[0].conn)


def test_mixed_wedge_orientation_is_an_error(meshes):
    mesh = meshes.wedge((2, 2, 1))
    mesh.blocks[0].conn[:3] = mesh.blocks[0].conn[:3][:, list(WEDGE_FLIP)]
    with pytest.raises(MeshError, match=r"3 inverted cells \(3 wedge"):
        assert_valid(mesh)
    assert check_mesh(mesh).reordered_blocks == []
