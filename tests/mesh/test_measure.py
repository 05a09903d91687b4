"""AAA measurements on label maps with known answers: tubes with a fusiform bulge on a rotated
anisotropic grid, an arc, the synthetic AAA generator, bad inputs and the profile plot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.integrate import trapezoid
from scipy.spatial.transform import Rotation

from biomech.errors import MeshError
from biomech.mesh.measure import measure, plot_diameter_profile

SPACING = np.array([0.8, 0.8, 1.5])
DIRECTION = Rotation.from_euler("xyz", [20, -15, 30], degrees=True).as_matrix()
AXIS = np.array([0.2, 0.1, 1.0]) / np.linalg.norm([0.2, 0.1, 1.0])
HALF_VOXEL = 0.5 * SPACING.min()  # 0.4 mm in-plane
LENGTH, R0, RMAX, WIDTH, WALL, LUMEN = 100.0, 10.0, 20.0, 12.0, 1.5, 8.5


@dataclass
class Image:
    """LabelImage-like test image (same fields as biomech.mesh.image.LabelImage)."""

    data: np.ndarray
    spacing: np.ndarray
    origin: np.ndarray
    direction: np.ndarray
    source: str = "test"


def outer_radius(s, bulge=True):
    """Outer (adventitial) radius (mm) at axial position s: Gaussian fusiform bulge at s = 0."""
    return R0 + ((RMAX - R0) * np.exp(-0.5 * (s / WIDTH) ** 2) if bulge else 0.0 * s)


def tube_image(bulge=True, shape=(90, 72, 72)) -> Image:
    """Labels 1 lumen (r 8.5), 2 thrombus, 3 wall (1.5 mm) of a tube along AXIS, flat ends."""
    origin = -((np.array(shape) - 1) / 2 * SPACING) @ DIRECTION.T
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    x = origin + (ijk * SPACING) @ DIRECTION.T
    s = x @ AXIS
    rho = np.linalg.norm(x - np.outer(s, AXIS), axis=1)
    inside = np.abs(s) <= LENGTH / 2
    big = outer_radius(s, bulge)
    labels = np.zeros(len(x), np.uint8)
    labels[inside & (rho <= big)] = 3
    labels[inside & (rho <= big - WALL)] = 2
    labels[inside & (rho <= LUMEN)] = 1
    data = labels.reshape(shape)
    assert not any(data.take(i, axis=a).any() for a in range(3) for i in (0, -1))  # fits
    return Image(data, SPACING, origin, DIRECTION)


def analytic_volumes_ml(bulge=True) -> dict[str, float]:
    """Exact lumen/thrombus/wall volumes (ml) of the tube (volumes of revolution)."""
    s = np.linspace(-LENGTH / 2, LENGTH / 2, 200001)
    big = outer_radius(s, bulge)
    area = {"lumen": np.full_like(s, np.pi * LUMEN**2),
            "thrombus": np.pi * ((big - WALL) ** 2 - LUMEN**2),
            "wall": np.pi * (big**2 - (big - WALL) ** 2)}
    return {k: float(trapezoid(a, s)) / 1000.0 for k, a in area.items()}


@pytest.fixture(scope="module")
def bulge_result():
    return measure(tube_image(bulge=True))


def test_bulge_max_diameter_and_position(bulge_result):
    r = bulge_result
    assert abs(r["max_diameter_mm"] - 2 * RMAX) < HALF_VOXEL
    assert abs(r["max_equivalent_diameter_mm"] - 2 * RMAX) < HALF_VOXEL
    assert np.linalg.norm(r["max_diameter_at"]) < 2.0  # the bulge centre is the world origin
    ends = r["max_diameter_caliper"]
    assert abs(np.dot(ends[1] - ends[0], AXIS)) < 1.0  # measured across, not along, the vessel


def test_bulge_neck(bulge_result):
    r = bulge_result
    assert abs(r["neck_diameter_mm"] - 2 * R0) < HALF_VOXEL
    s_cross = WIDTH * np.sqrt(2 * np.log((RMAX - R0) / (1.2 * R0 - R0)))  # D = 1.2 x 20 mm
    # equal ends: the inlet is the superior one (+AXIS has +z), so the neck runs 50 -> s_cross
    assert r["aneurysm_found"] and abs(r["neck_length_mm"] - (LENGTH / 2 - s_cross)) < 1.5
    prof = r["diameter_profile"]
    ok = np.isfinite(prof["diameter_mm"])
    s = LENGTH / 2 - prof["arc_mm"][ok]  # arc from the superior end
    assert np.abs(prof["diameter_mm"][ok] - 2 * outer_radius(s)).max() < 1.0


def test_bulge_volumes_ilt_tortuosity(bulge_result):
    r = bulge_result
    truth = analytic_volumes_ml()
    for k in ("lumen", "thrombus", "wall"):
        assert abs(r[f"{k}_volume_ml"] / truth[k] - 1) < 0.02, k
    assert abs(r["max_ilt_thickness_mm"] - (RMAX - WALL - LUMEN)) < SPACING.max()  # 10 mm
    assert abs(np.dot(r["max_ilt_at"], AXIS)) < 2.0
    assert abs(r["tortuosity"] - 1.0) < 0.01
    assert abs(r["centerline_length_mm"] - LENGTH) < 3.0
    rule = r["diameter_rule"]
    assert rule["max_diameter_mm"] == r["max_diameter_mm"]
    assert rule["threshold_mm"] == {"male": 55.0, "female": 50.0}
    assert rule["outer_boundary"] == "wall"


def test_straight_tube_has_no_aneurysm():
    r = measure(tube_image(bulge=False))
    assert abs(r["max_diameter_mm"] - 2 * R0) < HALF_VOXEL
    assert abs(r["neck_diameter_mm"] - 2 * R0) < HALF_VOXEL
    assert not r["aneurysm_found"]
    assert abs(r["tortuosity"] - 1.0) < 0.01
    truth = analytic_volumes_ml(bulge=False)
    assert abs(r["lumen_volume_ml"] / truth["lumen"] - 1) < 0.02


def test_masks_dict_equals_label_image(bulge_result):
    img = tube_image(bulge=True)
    masks = {"lumen": img.data == 1, "thrombus": img.data == 2, "wall": img.data == 3}
    r = measure(masks, spacing=img.spacing, origin=img.origin, direction=img.direction,
                centerline=bulge_result["centerline"])
    assert abs(r["max_diameter_mm"] - bulge_result["max_diameter_mm"]) < 1e-9
    assert r["thrombus_volume_ml"] == bulge_result["thrombus_volume_ml"]


def test_arc_tortuosity():
    rc, r, angle, shape = 40.0, 6.0, np.pi / 2, (90, 90, 60)
    origin = -((np.array(shape) - 1) / 2 * SPACING) @ DIRECTION.T
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    x = origin + (ijk * SPACING) @ DIRECTION.T
    centre = -rc * np.array([np.cos(angle / 2), 0.0, np.sin(angle / 2)])  # arc in the x-z plane
    rel = x - centre
    phi = np.arctan2(rel[:, 2], rel[:, 0])
    dist = np.hypot(np.hypot(rel[:, 0], rel[:, 2]) - rc, rel[:, 1])
    data = ((dist <= r) & (phi >= 0) & (phi <= angle)).reshape(shape).astype(np.uint8)
    res = measure(Image(data, SPACING, origin, DIRECTION))
    assert abs(res["tortuosity"] - angle / (2 * np.sin(angle / 2))) < 0.02  # 1.1107
    assert abs(res["max_diameter_mm"] - 2 * r) < 2 * HALF_VOXEL
    assert res["lumen_volume_ml"] == pytest.approx(np.pi * r**2 * rc * angle / 1000, rel=0.02)


def test_empty_image_is_an_error():
    img = Image(np.zeros((10, 10, 10), np.uint8), SPACING, np.zeros(3), np.eye(3))
    with pytest.raises(MeshError, match="empty"):
        measure(img)


def test_bad_inputs():
    with pytest.raises(MeshError, match="spacing"):
        measure({"lumen": np.ones((5, 5, 5), bool)})
    with pytest.raises(MeshError, match="unknown"):
        measure({"blood": np.ones((5, 5, 5), bool)}, spacing=SPACING)
    with pytest.raises(MeshError, match="LabelImage"):
        measure(np.ones((5, 5, 5)))


def test_two_components_warn_and_measure_largest():
    img = tube_image(bulge=False)
    img.data[:3, :3, :3] = 1  # a stray speck
    with pytest.warns(UserWarning, match="disconnected"):
        r = measure(img)
    assert abs(r["max_diameter_mm"] - 2 * R0) < HALF_VOXEL


def test_plot_diameter_profile(tmp_path, bulge_result):
    out = plot_diameter_profile(bulge_result, tmp_path / "profile.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


# --- the synthetic AAA generator (biomech.mesh.synthetic), when present ------------------


def synthetic(**kw):
    mod = pytest.importorskip("biomech.mesh.synthetic", reason="biomech.mesh.synthetic not present")
    return mod.synthetic_aaa(**kw)


@pytest.mark.parametrize("kw", [{}, {"iliacs": True}, {"max_diameter": 42.0, "seed": 3}],
                         ids=["default", "iliacs", "small"])
def test_synthetic_aaa(kw):
    img, truth = synthetic(**kw)
    r = measure(img, labels=truth["labels"])
    half = 0.5 * float(np.max(img.spacing))  # 0.75 mm: half the slice spacing
    assert abs(r["max_diameter_mm"] - truth["max_diameter_mm"]) < half
    assert abs(r["neck_diameter_mm"] - truth["neck_diameter_mm"]) < half
    for k in ("lumen_volume_ml", "thrombus_volume_ml", "wall_volume_ml"):
        assert abs(r[k] / truth[k] - 1) < 0.02, k
    ilt_error = abs(r["max_ilt_thickness_mm"] - truth["max_ilt_thickness_mm"])
    assert ilt_error < float(np.max(img.spacing))
    tangent = truth["plane_normals"][np.argmin(np.abs(truth["centerline_s_mm"]
                                                      - truth["max_diameter_s_mm"]))]
    axial = abs(np.dot(r["max_diameter_at"] - truth["max_diameter_position"], tangent))
    assert axial < 2.0  # the widest section is found where it is along the vessel
    assert abs(r["tortuosity"] / truth["tortuosity"] - 1) < 0.02
    s, d = truth["centerline_s_mm"], 2 * truth["outer_radius_mm"]
    neck_12 = s[np.argmax(d > 1.2 * truth["neck_diameter_mm"])]  # the 1.2 x rule on the truth
    assert abs(r["neck_length_mm"] - neck_12) < 2.0
