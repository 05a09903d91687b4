"""biomech.mesh.image: LPS world placement, NIfTI/MetaImage/NRRD round trips, label and
level-set selection, components, errors; the vmtk aorta's header, volume and frame."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from biomech.errors import MeshError
from biomech.mesh.image import (
    LPS_FROM_RAS,
    LabelImage,
    is_level_set,
    largest_component,
    mask_from_level_set,
    read_image,
    select_labels,
    to_pyvista,
    write_image,
)

VMTK = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "vmtk-aorta"
needs_vmtk = pytest.mark.skipif(not VMTK.is_dir(), reason=f"shared vmtk data not found at {VMTK}")
SPACING = (0.8, 0.8, 1.5)
ORIGIN = (-101.25, 37.5, -612.0)


def _rotation(axis, degrees):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    a = np.deg2rad(degrees)
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


DIRECTION = _rotation((1.0, -2.0, 0.5), 30.0)


@pytest.fixture
def labels_img() -> LabelImage:
    """Rotated, anisotropic 9x7x5 label map with labels 0..3."""
    data = np.random.default_rng(0).integers(0, 4, size=(9, 7, 5)).astype(np.uint8)
    return LabelImage(data, SPACING, ORIGIN, DIRECTION, "test")


def _hand_world(ijk) -> np.ndarray:
    """origin + direction @ (spacing * ijk), written out per voxel."""
    ijk = np.asarray(ijk, float)
    return np.array([np.asarray(ORIGIN) + DIRECTION @ (np.asarray(SPACING) * v) for v in ijk])


# --- geometry ----------------------------------------------------------------------------


def test_index_world_maps(labels_img):
    ijk = np.array([[0, 0, 0], [8, 6, 4], [3, 1, 2]])
    world = labels_img.index_to_world(ijk)
    assert np.allclose(world, _hand_world(ijk), atol=1e-12)
    assert np.allclose(labels_img.world_to_index(world), ijk, atol=1e-12)
    assert np.allclose(labels_img.affine @ np.append(ijk[2], 1.0), np.append(world[2], 1.0))
    assert labels_img.voxel_volume_ml == pytest.approx(0.8 * 0.8 * 1.5 / 1000)


def test_to_pyvista_points_are_world(labels_img):
    grid = to_pyvista(labels_img)
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in labels_img.shape], indexing="ij"), -1)
    ijk = ijk.reshape(-1, 3, order="F")
    assert np.allclose(grid.points, labels_img.index_to_world(ijk), atol=1e-9)
    assert np.array_equal(grid.point_data["values"], labels_img.data.ravel(order="F"))


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("ext, atol", [(".mha", 0.0), (".nrrd", 1e-12), (".nii.gz", 1e-4),
                                       (".nii", 1e-4)])
def test_round_trip_keeps_world_positions(tmp_path, labels_img, ext, atol):
    path = tmp_path / f"labels{ext}"
    write_image(labels_img, path)
    back = read_image(path)
    assert np.array_equal(back.data, labels_img.data) and back.data.dtype == np.uint8
    ijk = np.array([[0, 0, 0], [8, 6, 4], [5, 2, 3]])
    # MetaImage keeps every bit; NRRD stores direction x spacing (1e-16 mm); NIfTI stores
    # its affine in float32 (~1e-5 mm)
    before, after = labels_img.index_to_world(ijk), back.index_to_world(ijk)
    assert np.allclose(after, before, rtol=0, atol=atol)
    assert np.allclose(after, _hand_world(ijk), rtol=0, atol=max(atol, 1e-12))
    assert np.allclose(back.spacing, SPACING, atol=1e-6)
    assert np.allclose(back.direction, DIRECTION, atol=1e-6)
    assert back.source == str(path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_round_trip_level_set_float(tmp_path):
    data = np.linspace(-2.0, 3.0, 60, dtype=np.float32).reshape(5, 4, 3)
    img = LabelImage(data, SPACING, ORIGIN, DIRECTION)
    for ext in (".mha", ".nii.gz", ".nrrd"):
        write_image(img, tmp_path / f"ls{ext}")
        back = read_image(tmp_path / f"ls{ext}")
        assert back.data.dtype == np.float32 and np.array_equal(back.data, data)


def test_nifti_ras_affine_becomes_lps(tmp_path, labels_img):
    # a NIfTI written by another tool: nibabel's affine is RAS
    ras = np.array([[-0.7, 0.0, 0.1, 90.0], [0.0, 0.7, 0.0, -120.5], [0.0, 0.0, 2.0, -33.0],
                    [0, 0, 0, 1]])
    ras[:3, :3] = ras[:3, :3] @ _rotation((0, 0, 1), 10.0)
    path = tmp_path / "ras.nii.gz"
    nib.save(nib.Nifti1Image(labels_img.data, ras), path)
    img = read_image(path)
    assert np.allclose(img.affine, np.diag([-1.0, -1.0, 1.0, 1.0]) @ nib.load(path).affine,
                       atol=1e-6)
    # and ours, read by nibabel, has the RAS affine with the first two rows flipped
    write_image(img, tmp_path / "ours.nii.gz")
    theirs = nib.load(tmp_path / "ours.nii.gz")
    assert np.allclose(theirs.affine, np.diag([-1.0, -1.0, 1.0, 1.0]) @ img.affine, atol=1e-5)
    assert theirs.header["sform_code"] == 1 and theirs.header["qform_code"] == 1


def test_metaimage_detached_raw_big_endian(tmp_path):
    data = np.arange(24, dtype=">i2").reshape((2, 3, 4), order="F")
    (tmp_path / "v.raw").write_bytes(data.tobytes(order="F"))
    (tmp_path / "v.mhd").write_text(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = True\n"
        "TransformMatrix = 0 1 0 -1 0 0 0 0 1\nOffset = 1 2 3\nElementSpacing = 0.5 0.6 0.7\n"
        "DimSize = 2 3 4\nElementType = MET_SHORT\nElementDataFile = v.raw\n")
    img = read_image(tmp_path / "v.mhd")
    assert np.array_equal(img.data, data.astype(np.int16))
    # TransformMatrix lists the direction column by column: i runs along +y, j along -x
    assert np.allclose(img.index_to_world([[1, 0, 0], [0, 1, 0]]), [[1, 2.5, 3], [0.4, 2, 3]])


def test_nrrd_in_ras_space_is_converted(tmp_path):
    data = np.arange(1, 25, dtype=np.uint8).reshape((2, 3, 4), order="F")
    header = ("NRRD0004\ntype: uchar\ndimension: 3\nspace: right-anterior-superior\n"
              "sizes: 2 3 4\nspace directions: (0.8,0,0) (0,0.8,0) (0,0,1.5)\n"
              "kinds: domain domain domain\nencoding: gzip\nspace origin: (10,20,30)\n\n")
    (tmp_path / "ras.nrrd").write_bytes(header.encode() + gzip.compress(data.tobytes("F")))
    img = read_image(tmp_path / "ras.nrrd")
    assert np.array_equal(img.data, data)
    assert np.allclose(img.origin, [-10, -20, 30])
    assert np.allclose(img.direction, LPS_FROM_RAS)


# --- labels, level sets, components ------------------------------------------------------


def test_select_labels(labels_img):
    masks = select_labels(labels_img, {"lumen": 1, "aaa": [1, 2, 3]})
    assert np.array_equal(masks["lumen"], labels_img.data == 1)
    assert np.array_equal(masks["aaa"], labels_img.data > 0)


def test_select_labels_errors(labels_img):
    with pytest.raises(MeshError, match=r"label\(s\) \[7\] for 'wall' not found in test"):
        select_labels(labels_img, {"wall": 7})
    level = LabelImage(np.linspace(-1, 1, 27).reshape(3, 3, 3), SPACING, ORIGIN, np.eye(3))
    with pytest.raises(MeshError, match="mask_from_level_set"):
        select_labels(level, {"lumen": 1})
    frac = LabelImage(np.full((2, 2, 2), 0.5), SPACING, ORIGIN, np.eye(3))
    with pytest.raises(MeshError, match="non-integer"):
        select_labels(frac, {"lumen": 1})


def test_level_set_mask():
    data = np.linspace(-1.0, 2.0, 27).reshape(3, 3, 3)
    img = LabelImage(data, SPACING, ORIGIN, np.eye(3))
    assert is_level_set(img)
    assert np.array_equal(mask_from_level_set(img), data < 0)
    labels = LabelImage(np.ones((3, 3, 3), np.uint8), SPACING, ORIGIN, np.eye(3), "lab.nii")
    assert not is_level_set(labels)
    with pytest.raises(MeshError, match="lab.nii is not a level set"):
        mask_from_level_set(labels)


def test_largest_component_26_connectivity():
    mask = np.zeros((8, 8, 8), bool)
    mask[0, 0, 0] = mask[1, 1, 1] = mask[2, 2, 2] = True  # corner-connected: one component
    mask[5:8, 5:8, 5:8] = True  # 27 voxels, separate
    mask[0, 7, 0] = True  # isolated voxel
    kept, n, dropped = largest_component(mask)
    assert (n, dropped, int(kept.sum())) == (3, 4, 27)
    assert largest_component(np.zeros((2, 2, 2), bool))[1:] == (0, 0)
    one = np.zeros((3, 3, 3), bool)
    one[1, 1, 1] = True
    assert largest_component(one)[1:] == (1, 0)


# --- errors ------------------------------------------------------------------------------


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(MeshError, match="does not exist"):
        read_image(tmp_path / "nope.nii.gz")
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(MeshError, match="unsupported extension"):
        read_image(tmp_path / "a.png")
    img = LabelImage(np.ones((2, 2, 2), np.uint8), SPACING, ORIGIN, np.eye(3))
    with pytest.raises(MeshError, match="unsupported extension"):
        write_image(img, tmp_path / "a.vtk")
    with pytest.raises(MeshError, match="does not exist"):
        write_image(img, tmp_path / "no" / "a.mha")


def test_unreadable_files(tmp_path, labels_img):
    write_image(labels_img, tmp_path / "ok.mha")
    raw = (tmp_path / "ok.mha").read_bytes()
    (tmp_path / "cut.mha").write_bytes(raw[: len(raw) - 40])
    with pytest.raises(MeshError, match="cut.mha"):
        read_image(tmp_path / "cut.mha")
    (tmp_path / "junk.nii.gz").write_bytes(gzip.compress(b"not a nifti header" * 3))
    with pytest.raises(MeshError, match="junk.nii.gz"):
        read_image(tmp_path / "junk.nii.gz")
    (tmp_path / "text.mha").write_text("hello world\n")
    with pytest.raises(MeshError, match="text.mha"):
        read_image(tmp_path / "text.mha")
    (tmp_path / "x.nrrd").write_bytes(b"PNG....")
    with pytest.raises(MeshError, match="NRRD magic"):
        read_image(tmp_path / "x.nrrd")


def test_not_3d(tmp_path):
    nib.save(nib.Nifti1Image(np.ones((4, 4), np.uint8), np.eye(4)), tmp_path / "flat.nii")
    with pytest.raises(MeshError, match="flat.nii .*not a 3-D volume"):
        read_image(tmp_path / "flat.nii")
    nib.save(nib.Nifti1Image(np.ones((3, 3, 3, 2), np.uint8), np.eye(4)), tmp_path / "t.nii")
    with pytest.raises(MeshError, match="not a 3-D volume"):
        read_image(tmp_path / "t.nii")
    nib.save(nib.Nifti1Image(np.ones((3, 3, 3, 1), np.uint8), np.eye(4)), tmp_path / "t1.nii")
    assert read_image(tmp_path / "t1.nii").shape == (3, 3, 3)  # one time frame is fine
    with pytest.raises(MeshError, match="2-D"):
        LabelImage(np.ones((3, 3)), SPACING[:2], ORIGIN[:2], np.eye(2))


def test_nan_and_all_zero(tmp_path):
    data = np.zeros((3, 3, 3), np.float32)
    write_image(LabelImage(data, SPACING, ORIGIN, np.eye(3)), tmp_path / "zero.nii.gz")
    with pytest.raises(MeshError, match="zero.nii.gz is all zero"):
        read_image(tmp_path / "zero.nii.gz")
    data[1, 1, 1] = np.nan
    data[0, 0, 0] = 1.0
    write_image(LabelImage(data, SPACING, ORIGIN, np.eye(3)), tmp_path / "nan.mha")
    with pytest.raises(MeshError, match="nan.mha has 1 NaN"):
        read_image(tmp_path / "nan.mha")


def test_bad_geometry():
    data = np.ones((2, 2, 2))
    with pytest.raises(MeshError, match="spacing"):
        LabelImage(data, (1.0, 0.0, 1.0), ORIGIN, np.eye(3))
    with pytest.raises(MeshError, match="unit vectors"):
        LabelImage(data, SPACING, ORIGIN, 2 * np.eye(3))
    with pytest.raises(MeshError, match="invertible"):
        LabelImage(data, SPACING, ORIGIN, np.zeros((3, 3)))


# --- the vmtk aorta (real data) ----------------------------------------------------------


def _meta_header(path: Path) -> dict[str, str]:
    """MetaImage header fields, read as text up to ElementDataFile."""
    raw = path.read_bytes()
    text = raw[: raw.index(b"ElementDataFile")].decode("latin-1")
    return dict(re.findall(r"^(\w+) = (.*)$", text, flags=re.M))


@needs_vmtk
@pytest.mark.parametrize("name", ["aorta.mha", "aorta-final-levelset.mha"])
def test_vmtk_header_matches_read_image(name):
    fields = _meta_header(VMTK / name)
    img = read_image(VMTK / name)
    assert np.array_equal(img.origin, np.array(fields["Offset"].split(), float))
    assert np.array_equal(img.spacing, np.array(fields["ElementSpacing"].split(), float))
    tm = np.array(fields["TransformMatrix"].split(), float).reshape(3, 3).T
    assert np.array_equal(img.direction, tm)
    assert np.array_equal(img.direction, np.diag([-1.0, -1.0, 1.0]))
    assert img.shape == tuple(int(v) for v in fields["DimSize"].split())
    # index (1, 1, 1) lies toward -x, -y (right, anterior) of the origin in LPS
    assert np.allclose(img.index_to_world([[1, 1, 1]])[0] - img.origin,
                       [-0.878906, -0.878906, 1.50009])


@needs_vmtk
def test_vmtk_level_set_volume():
    img = read_image(VMTK / "aorta-final-levelset.mha")
    assert is_level_set(img)
    mask = mask_from_level_set(img)
    assert mask.sum() * img.voxel_volume_ml == pytest.approx(13.4, rel=0.02)
    assert largest_component(mask)[1] == 1


@needs_vmtk
def test_vmtk_surface_lives_in_ras():
    """The shipped lumen surface is the level set's zero surface in RAS world coordinates
    (LPS with x and y negated) - not LPS, and not VTK's direction-less frame."""
    pv = pytest.importorskip("pyvista")
    from scipy.spatial import cKDTree

    img = read_image(VMTK / "aorta-final-levelset.mha")
    index_grid = pv.ImageData(dimensions=img.shape)  # contour in index space, then map
    index_grid.point_data["ls"] = img.data.ravel(order="F")
    lps = img.index_to_world(index_grid.contour([0.0], scalars="ls").points)
    tree = cKDTree(pv.read(VMTK / "aorta-surface.vtp").points)
    assert tree.query(lps @ LPS_FROM_RAS.T)[0].max() < 1e-3
    assert tree.query(lps)[0].min() > 100.0
    no_direction = img.origin + img.world_to_index(lps) * img.spacing
    assert tree.query(no_direction)[0].min() > 100.0
