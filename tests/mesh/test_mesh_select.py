"""Face, node and cell selectors."""

from __future__ import annotations

import numpy as np
import pytest

from biomech.errors import MeshError, UnitError
from biomech.mesh.boundary import boundary_faces, face_area_vectors, face_centroids
from biomech.mesh.select import select_cells, select_faces, select_nodes

BOTTOM = {"plane": {"point": [0, 0, 0], "normal": [0, 0, 1]}}


def test_plane_selects_a_cube_side_with_outward_normals(meshes):
    mesh = meshes.hex()
    faces = select_faces(mesh, BOTTOM)
    assert list(faces) == ["quad"] and len(faces["quad"]) == 4
    n = face_area_vectors(mesh.points, faces["quad"], "quad")
    assert np.allclose(n, [0, 0, -0.25])


def test_plane_with_units_and_unnormalised_normal(meshes):
    mesh = meshes.hex(size=(10.0, 10.0, 10.0))
    faces = select_faces(mesh, {"plane": {"point": ["1 cm", 0, "0 mm"], "normal": [-3, 0, 0]}})
    assert np.allclose(face_centroids(mesh.points, faces["quad"], "quad")[:, 0], 10.0)


def test_tolerance(meshes):
    mesh = meshes.hex()
    off = {"plane": {"point": [0, 0, 0.01], "normal": [0, 0, 1]}}
    assert select_faces(mesh, off, allow_empty=True) == {}
    assert len(select_faces(mesh, {**off, "tol": 0.02})["quad"]) == 4
    assert len(select_faces(mesh, {**off, "tol": "0.2 mm"})["quad"]) == 4
    with pytest.raises(MeshError, match="must not be negative"):
        select_faces(mesh, {**off, "tol": -1})


def test_box_selects_faces_with_all_nodes_inside(meshes):
    mesh = meshes.tet()
    faces = select_faces(mesh, {"box": {"min": [-1, -1, -1], "max": [0, 2, 2]}})
    c = face_centroids(mesh.points, faces["triangle"], "triangle")
    assert len(c) == 8 and np.allclose(c[:, 0], 0.0)
    # the box is grown by tol: the x = 0 side is in only when tol reaches it
    box = {"min": [0.001, -1, -1], "max": [2, 2, 2]}
    # x = 1 side (8) + the x >= 0.5 halves of the four sides touching it (4 x 4)
    assert len(select_faces(mesh, {"box": box, "tol": 0.0001})["triangle"]) == 24
    assert len(select_faces(mesh, {"box": box, "tol": 0.01})["triangle"]) == 48


def test_cylinder_on_a_tube(meshes):
    mesh = meshes.tube()
    inner = select_faces(mesh, {"cylinder": {"point": [0, 0, 5], "axis": [0, 0, 2], "radius": 1}})
    outer = select_faces(mesh, {"cylinder": {"point": [0, 0, 0], "axis": [0, 0, -1], "radius": 2}})
    assert len(inner["quad"]) == 32 and len(outer["quad"]) == 32
    c = face_centroids(mesh.points, inner["quad"], "quad")
    n = face_area_vectors(mesh.points, inner["quad"], "quad")
    assert (np.einsum("ij,ij->i", n[:, :2], c[:, :2]) < 0).all()  # into the lumen
    # chords of the 16-gon are off the circle by 1 - cos(pi/16) at mid-face; nodes are on it
    lumen = {"cylinder": {"point": [0, 0, 0], "axis": [0, 0, 1], "radius": "1 mm"}}
    assert select_nodes(mesh, lumen).size == 48


def test_cylinder_radius_with_units(meshes):
    mesh = meshes.tube(r_in=10.0, r_out=20.0)
    lumen = {"cylinder": {"point": [0, 0, 0], "axis": [0, 0, 1], "radius": "1 cm"}}
    faces = select_faces(mesh, lumen)
    assert len(faces["quad"]) == 32


def test_sphere(meshes):
    mesh = meshes.single_tet()
    faces = select_faces(mesh, {"sphere": {"center": [0, 0, 0], "radius": 1.0}})
    assert len(faces["triangle"]) == 1
    assert sorted(faces["triangle"][0]) == [1, 2, 3]
    assert np.allclose(face_area_vectors(mesh.points, faces["triangle"], "triangle")[0], [0.5] * 3)


def test_face_set_by_name(meshes):
    mesh = meshes.hex()
    mesh.face_sets["bottom"] = select_faces(mesh, BOTTOM)
    assert np.array_equal(select_faces(mesh, "bottom")["quad"], mesh.face_sets["bottom"]["quad"])
    expected = r"face set 'top' is not in mesh .*face sets present: 'bottom'"
    with pytest.raises(MeshError, match=expected):
        select_faces(mesh, "top", name="pressure")
    mesh.face_sets["void"] = {"quad": np.zeros((0, 4), dtype=np.int64)}
    with pytest.raises(MeshError, match=r"pressure: face set 'void' of mesh <memory> is empty"):
        select_faces(mesh, "void", name="pressure")
    assert select_faces(mesh, "void", allow_empty=True) == {}


def test_select_nodes(meshes):
    mesh = meshes.hex()
    nodes = select_nodes(mesh, BOTTOM)
    assert nodes.dtype == np.int64
    assert nodes.tolist() == sorted(np.flatnonzero(mesh.points[:, 2] == 0).tolist())
    assert select_nodes(mesh, {"plane": {"point": [0, 0, 9], "normal": [0, 0, 1]}},
                        allow_empty=True).size == 0


def test_select_cells(meshes):
    mesh = meshes.mixed()
    assert [len(c) for c in select_cells(mesh, "left")] == [4, 0]
    assert [len(c) for c in select_cells(mesh, 2)] == [0, 8]
    assert [len(c) for c in select_cells(mesh)] == [4, 8]
    with pytest.raises(MeshError, match="region 'bone' is not in mesh"):
        select_cells(mesh, "bone")


def test_empty_selection_error_names_bbox_and_units(meshes):
    mesh = meshes.hex(size=(10.0, 10.0, 10.0))
    with pytest.raises(MeshError) as info:
        select_faces(mesh, {"plane": {"point": [0, 0, 100], "normal": [0, 0, 1]}}, name="pressure")
    msg = str(info.value)
    assert msg.startswith("pressure: faces {'plane'")
    assert "no boundary face" in msg and "bbox min [0, 0, 0] max [10, 10, 10] mm" in msg
    assert "units" in msg


@pytest.mark.parametrize(
    "selector,error,fragment",
    [
        ({"plane": {"point": [0, 0, 0], "normal": [0, 0, 0]}}, MeshError, "zero vector"),
        ({"cylinder": {"point": [0, 0, 0], "axis": [0, 0, 0], "radius": 1}}, MeshError,
         "zero vector"),
        ({"plane": {"origin": [0, 0, 0], "normal": [0, 0, 1]}}, MeshError,
         "needs exactly the keys"),
        ({"cone": {}}, MeshError, "unknown key(s) ['cone']"),
        ({"tol": 1}, MeshError, "give exactly one of plane, cylinder, sphere, box"),
        ({**BOTTOM, "box": {"min": [0, 0, 0], "max": [1, 1, 1]}}, MeshError, "2 shapes"),
        ({"plane": {"point": [0, 0], "normal": [0, 0, 1]}}, MeshError, "list of 3 numbers"),
        ({"plane": {"point": [0, 0, "1 kPa"], "normal": [0, 0, 1]}}, UnitError,
         "faces.plane.point"),
        ({"sphere": {"center": [0, 0, 0], "radius": 0}}, MeshError, "must be positive"),
        ({"box": {"min": [1, 0, 0], "max": [0, 1, 1]}}, MeshError, "exceeds max"),
        (42, MeshError, "must be a face-set name"),
    ],
)
def test_selector_errors(meshes, selector, error, fragment):
    with pytest.raises(error) as info:
        select_faces(meshes.hex(), selector)
    assert fragment in str(info.value)


def test_selection_matches_boundary_rows(meshes):
    mesh = meshes.tet10()
    faces = select_faces(mesh, {"box": {"min": [-1, -1, -1], "max": [2, 2, 2]}})
    assert np.array_equal(faces["triangle6"], boundary_faces(mesh)["triangle6"])
