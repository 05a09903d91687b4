"""read_mesh / write_mesh / from_meshio: formats, regions, names, face sets, errors."""

from __future__ import annotations

import os
import warnings

import meshio
import numpy as np
import pytest

from biomech.errors import MeshError, UnitError
from biomech.mesh.boundary import boundary_faces, face_area_vectors
from biomech.mesh.io import from_meshio, read_mesh, to_meshio, write_mesh
from biomech.mesh.select import select_faces


def _plane(point, normal):
    return {"plane": {"point": point, "normal": normal}}


@pytest.fixture
def tagged(meshes):
    """Mixed hex/wedge cube with named regions, two face sets (one unnamed), cell/point data."""
    mesh = meshes.mixed()
    mesh.face_sets["bottom"] = select_faces(mesh, _plane([0, 0, 0], [0, 0, 1]))
    mesh.face_sets["faces_7"] = select_faces(mesh, _plane([1, 0, 0], [1, 0, 0]))
    rng = np.random.default_rng(0)
    mesh.cell_data["basis"] = [rng.random((len(b.conn), 3, 3)) for b in mesh.blocks]
    mesh.cell_data["fibre"] = [rng.random((len(b.conn), 3)) for b in mesh.blocks]
    mesh.point_data["thickness"] = rng.random(mesh.n_points)
    return mesh


def _assert_same_geometry(a, b):
    assert np.allclose(a.points, b.points, rtol=0, atol=1e-12)
    assert [blk.type for blk in a.blocks] == [blk.type for blk in b.blocks]
    for x, y in zip(a.blocks, b.blocks):
        assert np.array_equal(x.conn, y.conn)
        assert np.array_equal(x.region, y.region)


def _assert_same_face_sets(a, b, rename=None):
    rename = rename or {}
    assert {rename.get(k, k) for k in a.face_sets} == set(b.face_sets)
    for name, sets in a.face_sets.items():
        other = b.face_sets[rename.get(name, name)]
        assert set(sets) == set(other)
        for ftype in sets:
            assert np.array_equal(sets[ftype], other[ftype])


def test_vtu_round_trip_keeps_everything(tagged, tmp_path):
    path = write_mesh(tagged, tmp_path / "cube.vtu")
    back = read_mesh(path)
    _assert_same_geometry(tagged, back)
    assert back.region_names == {"left": 1, "right": 2}
    _assert_same_face_sets(tagged, back)
    for key in ("basis", "fibre"):
        for x, y in zip(tagged.cell_data[key], back.cell_data[key]):
            assert np.allclose(x.reshape(len(x), -1), y.reshape(len(y), -1))
    assert np.allclose(back.point_data["thickness"], tagged.point_data["thickness"])
    assert back.source == str(path)
    assert os.listdir(tmp_path) == ["cube.vtu"]  # atomic write leaves no temporary file


@pytest.mark.parametrize("ext", ["msh", "inp"])
def test_msh_and_inp_round_trip_names_regions_face_sets(tagged, tmp_path, ext):
    with pytest.warns(UserWarning, match="does not keep cell/point data"):
        path = write_mesh(tagged, tmp_path / f"cube.{ext}")
    back = read_mesh(path)
    _assert_same_geometry(tagged, back)
    assert back.region_names == {"left": 1, "right": 2}
    _assert_same_face_sets(tagged, back)
    assert back.cell_data == {} and back.point_data == {}


@pytest.mark.parametrize("ext", ["mesh", "vtk"])
def test_formats_without_names_keep_tags(tagged, tmp_path, ext):
    with pytest.warns(UserWarning, match="does not keep region and face-set names"):
        path = write_mesh(tagged, tmp_path / f"cube.{ext}")
    back = read_mesh(path)
    _assert_same_geometry(tagged, back)
    assert back.region_names == {}
    _assert_same_face_sets(tagged, back, rename={"bottom": "faces_1"})


@pytest.mark.parametrize("ext", ["vtu", "msh", "inp"])
def test_overlapping_face_sets_round_trip(meshes, tmp_path, ext):
    mesh = meshes.hex()
    mesh.face_sets["outer wall" if ext != "inp" else "outer_wall"] = boundary_faces(mesh)
    mesh.face_sets["bottom"] = select_faces(mesh, _plane([0, 0, 0], [0, 0, 1]))
    back = read_mesh(write_mesh(mesh, tmp_path / f"cube.{ext}"))
    _assert_same_face_sets(mesh, back)


def test_round_trip_of_tetra10_and_regions_without_names(meshes, tmp_path):
    mesh = meshes.tet10()
    mesh.blocks[0].region[::2] = 5
    mesh.face_sets["top"] = select_faces(mesh, _plane([0, 0, 1], [0, 0, 1]))
    back = read_mesh(write_mesh(mesh, tmp_path / "t10.vtu"))
    _assert_same_geometry(mesh, back)
    assert back.region_names == {}
    _assert_same_face_sets(mesh, back)
    assert list(back.face_sets["top"]) == ["triangle6"]


def test_units_scale_coordinates_only(tagged, tmp_path):
    path = write_mesh(tagged, tmp_path / "cube.vtu")
    back = read_mesh(path, units="cm")
    assert np.allclose(back.points, 10 * tagged.points)
    assert np.allclose(back.point_data["thickness"], tagged.point_data["thickness"])
    assert read_mesh(path, units="m").bounding_box_diagonal == pytest.approx(1000 * np.sqrt(3))
    with pytest.raises(UnitError, match=r"cube.vtu.*mesh units = 'inch'.*'mm', 'cm', 'm'"):
        read_mesh(path, units="inch")


def test_stored_faces_take_the_outward_orientation(meshes, tmp_path):
    """Inward-wound stored triangles and a linear triangle on a tetra10 mesh are matched."""
    lin = meshes.tet()
    bottom = select_faces(lin, _plane([0, 0, 0], [0, 0, 1]))["triangle"]
    inward = bottom[:, ::-1]
    m = meshio.Mesh(
        lin.points,
        [("tetra", lin.blocks[0].conn), ("triangle", inward)],
        cell_data={"gmsh:physical": [np.full(48, 4), np.full(len(inward), 9)]},
        field_data={"tissue": np.array([4, 3]), "floor": np.array([9, 2])},
    )
    mesh = from_meshio(m)
    assert mesh.region_names == {"tissue": 4}
    floor = mesh.face_sets["floor"]["triangle"]
    assert np.allclose(face_area_vectors(mesh.points, floor, "triangle").sum(axis=0), [0, 0, -1])
    assert np.array_equal(np.sort(floor, axis=1), np.sort(bottom, axis=1))

    quad = meshes.tet10()
    corners = select_faces(quad, _plane([0, 0, 0], [0, 0, 1]))["triangle6"][:, [0, 2, 1]]
    m = meshio.Mesh(quad.points, [("tetra10", quad.blocks[0].conn), ("triangle", corners)],
                    cell_data={"tag": [np.ones(48), np.full(len(corners), 3.0)]})
    mesh = from_meshio(m)
    assert list(mesh.face_sets) == ["faces_3"]
    tri6 = mesh.face_sets["faces_3"]["triangle6"]
    assert tri6.shape == (8, 6)
    assert (face_area_vectors(mesh.points, tri6, "triangle6")[:, 2] < 0).all()


def test_face_tag_zero_is_not_a_face_set(meshes):
    """gmsh writes unassigned elements with physical tag 0 (Mesh.SaveAll); interior ones too."""
    lin = meshes.tet()
    conn = lin.blocks[0].conn
    interior = conn[:1, [0, 1, 2]]  # a face of the first tet, not necessarily on the boundary
    m = meshio.Mesh(lin.points, [("tetra", conn), ("triangle", interior)],
                    cell_data={"gmsh:physical": [np.ones(48), np.zeros(1)]})
    assert from_meshio(m).face_sets == {}


def test_gmsh41_file_with_physical_names(tmp_path):
    text = """$MeshFormat
4.1 0 8
$EndMeshFormat
$PhysicalNames
2
2 2 "base plate"
3 1 "tissue"
$EndPhysicalNames
$Entities
0 0 1 1
1 0 0 0 1 1 0 1 2 0
1 0 0 0 1 1 1 1 1 1 1
$EndEntities
$Nodes
1 4 1 4
3 1 0 4
1
2
3
4
0 0 0
1 0 0
0 1 0
0 0 1
$EndNodes
$Elements
2 2 1 2
2 1 2 1
1 1 2 3
3 1 4 1
2 1 2 3 4
$EndElements
"""
    path = tmp_path / "tet.msh"
    path.write_text(text)
    mesh = read_mesh(path, units="cm")
    assert mesh.region_names == {"tissue": 1}
    assert mesh.blocks[0].region.tolist() == [1]
    base = mesh.face_sets["base plate"]["triangle"]
    assert base.tolist() == [[0, 2, 1]]  # stored (0, 1, 2) points into the tet: flipped
    assert mesh.points.max() == 10.0


def test_abaqus_element_sets(meshes, tmp_path):
    lin = meshes.tet((1, 1, 1))
    conn = lin.blocks[0].conn + 1
    bottom = select_faces(lin, _plane([0, 0, 0], [0, 0, 1]))["triangle"] + 1
    lines = ["*HEADING", "hand written", "*NODE"]
    lines += [f"{i + 1}, {x}, {y}, {z}" for i, (x, y, z) in enumerate(lin.points)]
    lines.append("*ELEMENT, TYPE=C3D4, ELSET=EALL")
    lines += [f"{i + 1}, " + ", ".join(map(str, c)) for i, c in enumerate(conn)]
    lines.append("*ELEMENT, TYPE=S3")
    lines += [f"{100 + i}, " + ", ".join(map(str, c)) for i, c in enumerate(bottom)]
    lines += ["*ELSET, ELSET=muscle", "1, 2, 3", "*ELSET, ELSET=fat", "4, 5, 6"]
    lines += ["*ELSET, ELSET=Base", "100, 101", "*NSET, NSET=fixed", "1, 2"]
    path = tmp_path / "model.inp"
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(UserWarning, match=r"\['EALL'\] are fully covered"):
        mesh = read_mesh(path)
    # tags follow meshio's set order (sets named on *ELEMENT lines come last)
    assert mesh.region_names == {"muscle": 1, "fat": 2}
    assert mesh.blocks[0].region.tolist() == [1, 1, 1, 2, 2, 2]
    assert len(mesh.face_sets["Base"]["triangle"]) == 2
    base = mesh.face_sets["Base"]["triangle"]
    assert (face_area_vectors(mesh.points, base, "triangle")[:, 2] < 0).all()


def test_cell_sets_of_surface_cells_become_face_sets(meshes):
    lin = meshes.hex((1, 1, 1))
    quads = boundary_faces(lin)["quad"]
    m = meshio.Mesh(lin.points, [("hexahedron", lin.blocks[0].conn), ("quad", quads[:, ::-1])],
                    cell_sets={"skin": [np.array([], int), np.arange(6)],
                               "core": [np.array([0]), np.array([], int)]})
    mesh = from_meshio(m)
    assert mesh.region_names == {"core": 1}
    assert np.array_equal(mesh.face_sets["skin"]["quad"], quads)


def test_extra_cell_data_is_kept_per_block(meshes):
    lin = meshes.mixed()
    m = to_meshio(lin)
    m.cell_data["basis"] = [np.tile(np.eye(3).ravel(), (len(c.data), 1)) for c in m.cells]
    mesh = from_meshio(m)
    assert [a.shape for a in mesh.cell_data["basis"]] == [(4, 9), (8, 9)]
    assert "region" not in mesh.cell_data and "face_set" not in mesh.cell_data


# --- bad input ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(MeshError, match=r"mesh file .*nope.vtu does not exist"):
        read_mesh(tmp_path / "nope.vtu")


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.vtu"
    path.write_text("<VTKFile this is not xml")
    with pytest.raises(MeshError, match=r"cannot read mesh file .*broken.vtu: .*complete"):
        read_mesh(path)
    odd = tmp_path / "mesh.xyz123"
    odd.write_text("1 2 3")
    with pytest.raises(MeshError, match="cannot read mesh file"):
        read_mesh(odd)


def test_surface_only_file(meshes, tmp_path):
    lin = meshes.tet()
    path = tmp_path / "skin.vtu"
    meshio.write(path, meshio.Mesh(lin.points, [("triangle", boundary_faces(lin)["triangle"])]))
    expected = r"skin.vtu holds only surface cells \(triangle\).*volume mesh"
    with pytest.raises(MeshError, match=expected):
        read_mesh(path)


def test_empty_mesh():
    with pytest.raises(MeshError, match="is empty: it has no points"):
        from_meshio(meshio.Mesh(np.zeros((0, 3)), []), source="empty.vtu")
    expected = r"empty.vtu is empty: it holds no volume cells \(types found: line"
    with pytest.raises(MeshError, match=expected):
        from_meshio(meshio.Mesh(np.eye(3), [("line", np.array([[0, 1]]))]), source="empty.vtu")


def test_nan_coordinates(meshes, tmp_path):
    lin = meshes.tet()
    pts = lin.points.copy()
    pts[[5, 9], 1] = np.nan
    path = tmp_path / "nan.vtu"
    meshio.write(path, meshio.Mesh(pts, [("tetra", lin.blocks[0].conn)]))
    expected = r"nan.vtu: 2 points have NaN or infinite coordinates \(first: point 5"
    with pytest.raises(MeshError, match=expected):
        read_mesh(path)


def test_unknown_volume_cell_type(meshes, tmp_path):
    lin = meshes.hex((1, 1, 1))
    pts = np.vstack([lin.points, [[0.5, 0.5, 1.5]]])
    path = tmp_path / "pyr.vtu"
    meshio.write(path, meshio.Mesh(pts, [("hexahedron", lin.blocks[0].conn),
                                          ("pyramid", np.array([[4, 5, 6, 7, 8]]))]))
    expected = r"pyramid \(1 cells\) are not supported; supported volume types: tetra"
    with pytest.raises(MeshError, match=expected):
        read_mesh(path)


def test_connectivity_out_of_range(meshes):
    lin = meshes.tet()
    conn = lin.blocks[0].conn.copy()
    conn[3, 2] = 999
    expected = r"tetra cell 3 refers to node 999, but the mesh has nodes 0..26"
    with pytest.raises(MeshError, match=expected):
        from_meshio(meshio.Mesh(lin.points, [("tetra", conn)]), source="bad.vtu")


def test_face_set_off_the_boundary(meshes):
    lin = meshes.hex((2, 1, 1))
    inner = lin.blocks[0].conn[:1, [1, 2, 6, 5]]  # the face shared by both hexes
    m = meshio.Mesh(lin.points, [("hexahedron", lin.blocks[0].conn), ("quad", inner)],
                    cell_data={"gmsh:physical": [np.ones(2), np.array([4])]},
                    field_data={"septum": np.array([4, 2])})
    expected = r"face set 'septum' has 1 of 1 faces that are not on the boundary"
    with pytest.raises(MeshError, match=expected):
        from_meshio(m, source="two.msh")


def test_non_integer_tags():
    pts = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    m = meshio.Mesh(pts, [("tetra", np.array([[0, 1, 2, 3]]))],
                    cell_data={"region": [np.array([1.5])]})
    with pytest.raises(MeshError, match="'region' holds non-integer values"):
        from_meshio(m)


def test_many_unused_points_warn(meshes):
    lin = meshes.tet()
    pts = np.vstack([lin.points, np.zeros((200, 3))])
    with pytest.warns(UserWarning, match="200 of 227 points belong to no volume cell"):
        from_meshio(meshio.Mesh(pts, [("tetra", lin.blocks[0].conn)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        few = np.vstack([lin.points, np.zeros((3, 3))])
        from_meshio(meshio.Mesh(few, [("tetra", lin.blocks[0].conn)]))


def test_write_errors(tagged, tmp_path):
    with pytest.raises(MeshError, match="folder .* does not exist"):
        write_mesh(tagged, tmp_path / "missing" / "cube.vtu")
    tagged.face_sets["left"] = tagged.face_sets["bottom"]
    expected = r"name\(s\) \['left'\] are used for both a region and a face set"
    with pytest.raises(MeshError, match=expected):
        write_mesh(tagged, tmp_path / "cube.vtu")
    assert os.listdir(tmp_path) == []
