"""biomech.mesh.synthetic: the shipped AAA cases against their truth, world placement through
the rotated affine, determinism, labels, parameter errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from biomech.errors import MeshError
from biomech.mesh.image import largest_component, read_image
from biomech.mesh.synthetic import DEFAULT_DIRECTION, DEFAULT_ORIGIN, rotation, synthetic_aaa

MESHES = Path(__file__).resolve().parents[2] / "meshes"
CASES = json.loads((MESHES / "aaa_cases.json").read_text())["cases"]
COARSE = (1.2, 1.2, 2.0)  # mm, for the tests that generate images themselves


@pytest.fixture(scope="module")
def shipped() -> dict:
    """name -> (image, JSON record) of every shipped case."""
    return {name: (read_image(MESHES / rec["file"]), rec) for name, rec in CASES.items()}


@pytest.fixture(scope="module")
def default_case():
    """The default AAA on a coarse grid."""
    return synthetic_aaa(spacing=COARSE)


def _label_volumes(image, labels: dict) -> dict:
    return {k: np.count_nonzero(image.data == v) * image.voxel_volume_ml for k, v in labels.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_shipped_volumes_match_truth(shipped, name):
    image, rec = shipped[name]
    truth = rec["truth"]
    for label, ml in _label_volumes(image, truth["labels"]).items():
        assert ml == pytest.approx(truth[f"{label}_volume_ml"], rel=0.02), label
    assert (MESHES / rec["file"]).stat().st_size < 5e6


@pytest.mark.parametrize("name", sorted(CASES))
def test_shipped_grid_and_labels(shipped, name):
    image, rec = shipped[name]
    assert image.shape == tuple(rec["grid"]["shape"])
    assert np.allclose(image.spacing, rec["grid"]["spacing_mm"], atol=1e-6)
    assert np.allclose(image.direction, rec["grid"]["direction"], atol=1e-6)
    assert np.allclose(image.origin, rec["grid"]["origin_mm"], atol=1e-4)
    present = set(np.unique(image.data).tolist())
    assert present == {0, *rec["truth"]["labels"].values()}
    lumen = image.data == rec["truth"]["labels"]["lumen"]
    assert largest_component(lumen)[1] == 1  # one lumen, iliacs included
    assert largest_component(image.data > 0)[1] == 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_max_diameter_lies_in_the_sac(shipped, name):
    image, rec = shipped[name]
    truth = rec["truth"]
    assert truth["sac_start_s_mm"] < truth["max_diameter_s_mm"] < truth["sac_end_s_mm"]
    assert truth["max_diameter_mm"] == pytest.approx(rec["arguments"]["max_diameter"])
    ijk = np.round(image.world_to_index([truth["max_diameter_position"]])[0]).astype(int)
    assert image.data[tuple(ijk)] in (1, 2)  # the centre of the widest section: lumen/ILT


def test_truth_values(default_case):
    _, truth = default_case
    assert truth["max_diameter_mm"] == pytest.approx(55.0)
    assert truth["neck_diameter_mm"] == 22.0 and truth["neck_lumen_diameter_mm"] == 19.0
    assert truth["neck_length_mm"] == pytest.approx(25.0, abs=1e-3)
    assert truth["max_ilt_thickness_mm"] == pytest.approx(15.0, abs=1e-3)
    assert 1.0 < truth["tortuosity"] < 1.2
    radius = truth["outer_radius_mm"]
    assert radius.max() == pytest.approx(27.5, abs=0.01) and radius[0] == pytest.approx(11.0)
    assert len(truth["centerline"]) == len(radius) == len(truth["centerline_s_mm"])


def test_world_placement_through_rotated_affine(default_case):
    image, truth = default_case
    assert np.array_equal(image.direction, DEFAULT_DIRECTION)
    assert np.array_equal(image.origin, DEFAULT_ORIGIN)
    s, line = truth["centerline_s_mm"], truth["centerline"]
    point = line[np.searchsorted(s, 5.0)]  # 5 mm below the top of the neck
    hand = DEFAULT_DIRECTION.T @ (point - np.asarray(DEFAULT_ORIGIN)) / np.asarray(COARSE)
    assert np.allclose(image.world_to_index([point])[0], hand, atol=1e-9)
    assert image.data[tuple(np.round(hand).astype(int))] == 1  # lumen on the centreline
    normal = truth["plane_normals"][np.searchsorted(s, 5.0)]
    side = np.cross(normal, [1.0, 0.0, 0.0])
    side /= np.linalg.norm(side)
    outside = image.world_to_index([point + (11.0 + 2.0) * side])[0]
    assert image.data[tuple(np.round(outside).astype(int))] == 0  # 2 mm outside the wall
    start = image.world_to_index([line[0]])[0]
    assert np.all(start >= 0) and np.all(start <= np.array(image.shape) - 1)


def test_deterministic_for_a_seed():
    kw = dict(spacing=(1.5, 1.5, 2.5), max_diameter=45.0, sac_length=50.0)
    a, ta = synthetic_aaa(seed=3, **kw)
    b, tb = synthetic_aaa(seed=3, **kw)
    c, _ = synthetic_aaa(seed=4, **kw)
    assert np.array_equal(a.data, b.data) and np.array_equal(a.origin, b.origin)
    assert ta["lumen_volume_ml"] == tb["lumen_volume_ml"]
    assert np.array_equal(ta["centerline"], tb["centerline"])
    assert a.shape != c.shape or not np.array_equal(a.data, c.data)


def test_label_options():
    kw = dict(spacing=(1.5, 1.5, 2.5), max_diameter=45.0, sac_length=50.0)
    image, truth = synthetic_aaa(labels={"lumen": 5, "thrombus": 6, "wall": 7}, **kw)
    assert set(np.unique(image.data)) == {0, 5, 6, 7} and truth["labels"]["wall"] == 7
    image, truth = synthetic_aaa(wall_thickness=None, thrombus=False, **kw)
    assert set(np.unique(image.data)) == {0, 1} and truth["labels"] == {"lumen": 1}
    assert truth["wall_volume_ml"] == 0.0 and truth["thrombus_volume_ml"] == 0.0
    assert truth["max_ilt_thickness_mm"] == 0.0


def test_iliacs_and_custom_grid():
    direction = rotation((0.0, 1.0, 1.0), -35.0)
    image, truth = synthetic_aaa(iliacs=True, spacing=COARSE, direction=direction,
                                 origin=(5.0, 6.0, 7.0), max_diameter=50.0)
    assert np.allclose(image.direction, direction) and np.allclose(image.origin, (5, 6, 7))
    assert len(truth["iliac_centerlines"]) == 2
    assert truth["iliac_outer_diameter_mm"] < truth["neck_diameter_mm"] / 2 + 1e-9
    vol = _label_volumes(image, truth["labels"])
    assert vol["lumen"] == pytest.approx(truth["lumen_volume_ml"], rel=0.03)
    assert largest_component(image.data == 1)[1] == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(max_diameter=20.0), "must exceed neck_diameter"),
    (dict(wall_thickness=0.0), "wall_thickness"),
    (dict(thrombus_max_thickness=40.0), "thrombus_max_thickness"),
    (dict(thrombus_eccentricity=1.0), "thrombus_eccentricity"),
    (dict(asymmetry=1.5), "asymmetry"),
    (dict(peak_position=0.9), "peak_position"),
    (dict(centerline_curvature=0.25, asymmetry=1.0, max_diameter=80.0,
          thrombus_max_thickness=20.0), "bends too sharply"),
    (dict(spacing=(1.0, -1.0, 1.0)), "spacing"),
    (dict(direction=np.diag([1.0, 2.0, 1.0])), "orthonormal"),
    (dict(labels={"lumen": 1, "thrombus": 1, "wall": 3}), "distinct"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(MeshError, match=match):
        synthetic_aaa(**kwargs)
