"""Surfaces from label masks and files: volume/radius preservation, repair, open ends, units."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import pyvista as pv
from scipy.spatial.transform import Rotation

from biomech.errors import MeshError
from biomech.mesh.surface import (
    _edge_lengths,
    _is_consistent,
    _radius_ratios,
    _triangles,
    boundary_loops,
    cap_faces,
    check_surface,
    label_surface,
    read_surface,
    remesh_surface,
    repair_surface,
    self_intersections,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SPACING = np.array([0.8, 0.8, 1.5])
DIRECTION = Rotation.from_euler("xyz", [20, -15, 30], degrees=True).as_matrix()
AXIS = np.array([0.2, 0.1, 1.0]) / np.linalg.norm([0.2, 0.1, 1.0])


def need(path: Path) -> Path:
    """Skip when a shared data file is absent."""
    if not path.is_file():
        pytest.skip(f"shared test data {path} not present (../shared/data is not checked out)")
    return path


def world_grid(shape, spacing=SPACING, direction=DIRECTION):
    """Voxel-centre world coordinates (n, 3) of a grid centred on the origin, and its origin."""
    origin = -((np.array(shape) - 1) / 2 * spacing) @ direction.T
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), -1).reshape(-1, 3)
    return origin + (ijk * spacing) @ direction.T, origin


def cylinder_mask(radius=8.0, length=60.0, shape=(60, 60, 50), direction=DIRECTION):
    """Boolean mask of a capped cylinder along AXIS through the grid centre, and its origin."""
    x, origin = world_grid(shape, direction=direction)
    s = x @ AXIS
    r = np.linalg.norm(x - np.outer(s, AXIS), axis=1)
    return ((r <= radius) & (np.abs(s) <= length / 2)).reshape(shape), origin


def radial(surface: pv.PolyData, half: float = 20.0) -> np.ndarray:
    """Distance of the surface points to AXIS, away from the cylinder's ends."""
    p = np.asarray(surface.points)
    s = p @ AXIS
    return np.linalg.norm(p - np.outer(s, AXIS), axis=1)[np.abs(s) < half]


@pytest.mark.parametrize("smoothing", ["windowed-sinc", "taubin"])
def test_cylinder_keeps_volume_and_radius(smoothing):
    mask, origin = cylinder_mask()
    surf = label_surface(mask, SPACING, origin, DIRECTION, smoothing=smoothing)
    rep = check_surface(surf)
    assert rep.closed and rep.n_components == 1 and rep.n_self_intersections == 0
    voxel_volume = mask.sum() * SPACING.prod()
    assert abs(rep.volume_mm3 / voxel_volume - 1) < 0.01
    assert abs(radial(surf).mean() - 8.0) < 0.5 * SPACING.min()  # within half a voxel


def test_remesh_to_target_edge():
    mask, origin = cylinder_mask()
    surf = label_surface(mask, SPACING, origin, DIRECTION, target_edge=2.0)
    rep = check_surface(surf)
    tri = np.asarray(surf.faces).reshape(-1, 4)[:, 1:]
    p = np.asarray(surf.points)
    edges = np.linalg.norm(p[tri] - p[np.roll(tri, 1, axis=1)], axis=2)
    assert 1.6 < edges.mean() < 2.5
    assert rep.closed and rep.n_self_intersections == 0
    assert abs(rep.volume_mm3 / (mask.sum() * SPACING.prod()) - 1) < 0.02
    assert abs(radial(surf).mean() - 8.0) < 0.5 * SPACING.min()


def test_reflected_direction_gives_outward_surface():
    flip = DIRECTION @ np.diag([1.0, 1.0, -1.0])  # det = -1
    mask, origin = cylinder_mask(direction=flip)
    surf = label_surface(mask, SPACING, origin, flip, target_edge=None)
    assert surf.volume > 0 and check_surface(surf).volume_mm3 > 0
    normals = surf.compute_normals(cell_normals=True, point_normals=False)
    centres = normals.cell_centers().points
    radial_dir = centres - (centres @ AXIS)[:, None] * AXIS
    out = np.einsum("ij,ij->i", normals.cell_data["Normals"], radial_dir)
    assert np.mean(out > 0) > 0.6  # side faces point away from the axis


def test_empty_mask_is_an_error():
    with pytest.raises(MeshError, match="empty"):
        label_surface(np.zeros((5, 5, 5), bool), SPACING)


def test_two_components_keep_largest_with_warning():
    mask, origin = cylinder_mask()
    mask[:4, :4, :4] = True  # a stray blob in a corner
    with pytest.warns(UserWarning, match="disconnected components"):
        surf = label_surface(mask, SPACING, origin, DIRECTION, target_edge=None)
    assert check_surface(surf).n_components == 1


def test_repair_merges_duplicates_drops_degenerate_and_fills_holes():
    sphere = pv.Sphere(radius=5.0, theta_resolution=24, phi_resolution=24).triangulate()
    pts = np.asarray(sphere.points)
    tri = np.asarray(sphere.faces).reshape(-1, 4)[:, 1:]
    dup_pts = np.vstack([pts, pts[tri[10, 0]]])  # a duplicated point ...
    extra = np.array([[len(pts), tri[10, 1], tri[10, 2]],  # ... making a copy of face 10
                      [tri[20, 0], tri[20, 0], tri[20, 1]]])  # and a degenerate face
    kept = tri[5:]  # a hole where faces 0..4 were
    broken = pv.PolyData(dup_pts, np.column_stack([np.full(len(kept) + 2, 3),
                                                   np.vstack([kept, extra])]).ravel())
    fixed, rep = repair_surface(broken, max_hole_diameter=5.0)
    assert rep.closed and rep.n_components == 1
    text = " ".join(rep.repaired)
    assert "duplicate" in text and "filled" in text and "repeated" in text and "degenerate" in text
    assert abs(fixed.volume - 4 / 3 * np.pi * 125) / (4 / 3 * np.pi * 125) < 0.05


def test_self_intersections_detected():
    a = pv.Sphere(radius=5.0, theta_resolution=30, phi_resolution=30)
    b = pv.Sphere(radius=5.0, center=(3.0, 0.0, 0.0), theta_resolution=30, phi_resolution=30)
    assert self_intersections(a.triangulate()) == 0
    assert self_intersections((a + b).extract_surface(algorithm=None).triangulate()) > 0


def test_boundary_loops_of_open_tube():
    tube = pv.Cylinder(radius=4.0, height=20.0, capping=False, resolution=60).triangulate()
    loops = boundary_loops(tube)
    assert len(loops) == 2
    for lp in loops:
        assert abs(lp.diameter - 8.0) < 0.05 and abs(lp.area - np.pi * 16) < 0.2
        assert np.dot(lp.normal, np.sign(lp.centroid[0]) * np.array([1.0, 0, 0])) > 0.99  # outward
    report = check_surface(tube)
    assert not report.closed and report.n_boundary_loops == 2


@pytest.mark.parametrize("suffix", [".stl", ".ply", ".obj", ".vtp"])
def test_read_surface_formats_scaled_to_mm(tmp_path, suffix):
    tube = pv.Cylinder(radius=1.0, height=8.0, resolution=40).triangulate()  # cm
    path = tmp_path / f"tube{suffix}"
    tube.save(path)
    surf = read_surface(path, units="cm")
    assert np.allclose(np.ptp(np.asarray(surf.points), axis=0), np.ptp(tube.points, axis=0) * 10,
                       atol=1e-4)


def test_read_surface_wrong_units(tmp_path):
    long = pv.Cylinder(radius=0.5, height=5.0).triangulate()  # a 5 m "vessel" in mm ...
    long.points *= 1000.0
    long.save(tmp_path / "long.stl")
    with pytest.raises(MeshError, match="wrong units"):
        read_surface(tmp_path / "long.stl", units="mm")
    tiny = pv.Cylinder(radius=0.001, height=0.003).triangulate()  # ... and a 3 mm one in m
    tiny.save(tmp_path / "tiny.stl")
    with pytest.raises(MeshError, match="units='cm' or 'm'"):
        read_surface(tmp_path / "tiny.stl", units="mm")


def test_read_surface_bad_path_and_format(tmp_path):
    with pytest.raises(MeshError, match="does not exist"):
        read_surface(tmp_path / "missing.stl")
    (tmp_path / "x.dat").write_text("1 2 3")
    with pytest.raises(MeshError, match="unsupported"):
        read_surface(tmp_path / "x.dat")
    with pytest.raises(MeshError, match="units"):
        read_surface(tmp_path / "missing.stl", units="inch")


def test_simvascular_demo_in_cm_has_plausible_caps():
    path = need(DATA / "simvascular-demo" / "demo-model.vtp")
    surf = read_surface(path, units="cm")
    rep = check_surface(surf)
    assert rep.closed and rep.n_components == 1 and rep.n_self_intersections == 0
    caps = sorted(cap_faces(surf), key=lambda c: -c.area)
    assert [c.face_id for c in caps] == [3, 4, 5]  # ModelFaceID 1, 2 are walls
    inlet, *outlets = caps
    assert 15.0 < inlet.diameter < 30.0  # aortic inlet 24.3 mm
    assert all(7.0 < c.diameter < 15.0 for c in outlets)  # iliac outlets 11.1, 10.0 mm
    assert inlet.normal[2] > 0.5 and all(c.normal[2] < -0.5 for c in outlets)  # outward
    assert 100e3 < rep.volume_mm3 < 170e3  # 134 ml


def test_simvascular_demo_read_as_mm_warns_about_units():
    path = need(DATA / "simvascular-demo" / "demo-model.vtp")
    with pytest.warns(UserWarning, match="units='cm'"):
        read_surface(path, units="mm")


def test_vmtk_open_ends_have_three_loops():
    surf = read_surface(need(DATA / "vmtk-aorta" / "aorta-surface-open-ends.stl"))
    loops = sorted(boundary_loops(surf), key=lambda lp: -lp.area)
    assert len(loops) == 3
    assert 12.0 < loops[0].diameter < 18.0 and all(6.0 < lp.diameter < 12.0 for lp in loops[1:])
    assert loops[0].normal[1] > 0.9 and all(lp.normal[1] < -0.9 for lp in loops[1:])


def read_levelset(path: Path):
    """(phi, spacing, origin, direction) of a MetaImage, via biomech.mesh.image when present."""
    try:
        from biomech.mesh.image import read_image
    except ImportError:
        img = pv.read(path)
        phi = np.asarray(img.active_scalars).reshape(img.dimensions, order="F")
        return phi, np.array(img.spacing), np.array(img.origin), np.array(img.direction_matrix)
    img = read_image(path)
    return img.data, img.spacing, img.origin, img.direction


def test_vmtk_levelset_surface_matches_shipped_surface_in_ras():
    path = need(DATA / "vmtk-aorta" / "aorta-final-levelset.mha")
    phi, spacing, origin, direction = read_levelset(path)
    mask = phi < 0
    t0 = time.perf_counter()
    surf = label_surface(mask, spacing, origin, direction)
    elapsed = time.perf_counter() - t0
    rep = check_surface(surf)
    assert rep.closed and rep.n_components == 1 and rep.n_self_intersections == 0
    assert abs(rep.volume_mm3 / (mask.sum() * spacing.prod()) - 1) < 0.02  # 13.4 ml
    shipped = pv.read(DATA / "vmtk-aorta" / "aorta-surface.vtp")
    ras = pv.PolyData(np.asarray(surf.points) * [-1.0, -1.0, 1.0], surf.faces)  # LPS -> RAS
    dist = np.abs(shipped.compute_implicit_distance(ras)["implicit_distance"])
    assert dist.mean() < 0.3  # the shipped surface is in RAS (vmtk dropped the direction)
    lps = np.abs(shipped.compute_implicit_distance(surf)["implicit_distance"])
    assert lps.mean() > 100.0
    print(f"vmtk aorta label_surface: {elapsed:.2f} s, {rep.n_faces} faces, "
          f"mean distance to shipped surface {dist.mean():.3f} mm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_surface(surf)


# --- remeshing ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", [1.0, 2.0, 3.0])
def test_remesh_cylinder_gives_isotropic_triangles(target):
    """Voronoi clustering, not decimation: no axial slivers on a near-cylinder, mean edge
    near the target, closed consistently wound manifold, volume kept."""
    mask, origin = cylinder_mask()
    fine = label_surface(mask, SPACING, origin, DIRECTION, target_edge=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to decimation
        surf = remesh_surface(fine, target)
    tri = _triangles(surf)
    edges = _edge_lengths(surf.points, tri)
    ratio = _radius_ratios(surf.points, tri)  # 2 r_in / r_circ, 1 = equilateral
    print(f"\ntarget {target} mm: mean edge {edges.mean():.3f} mm, radius ratio min "
          f"{ratio.min():.3f}, 1st percentile {np.percentile(ratio, 1):.3f}")
    assert abs(edges.mean() / target - 1) < 0.2
    assert ratio.min() > 0.4 and np.percentile(ratio, 1) > 0.6
    rep = check_surface(surf)
    assert rep.closed and rep.n_components == 1 and rep.n_nonmanifold_edges == 0
    assert rep.n_self_intersections == 0 and _is_consistent(tri)
    assert abs(rep.volume_mm3 / check_surface(fine).volume_mm3 - 1) < 0.01
    assert abs(radial(surf).mean() - 8.0) < 0.5 * SPACING.min()


def test_remesh_without_pyacvd_falls_back_to_decimation(monkeypatch):
    import sys

    mask, origin = cylinder_mask()
    fine = label_surface(mask, SPACING, origin, DIRECTION, target_edge=None)
    monkeypatch.setitem(sys.modules, "pyacvd", None)  # import fails
    with pytest.warns(UserWarning, match="pyacvd is not installed"):
        surf = remesh_surface(fine, 2.0)
    assert check_surface(surf, self_intersection=False).closed
    assert surf.n_points < fine.n_points / 2


def test_remesh_keeps_a_good_surface_near_the_target():
    sphere = pv.Icosphere(radius=10.0, nsub=3)  # near-equilateral, mean edge ≈ 1.5 mm
    edge = _edge_lengths(sphere.points, _triangles(sphere)).mean()
    assert remesh_surface(sphere, 1.1 * edge) is sphere
    assert remesh_surface(sphere, 2.0 * edge).n_points < sphere.n_points / 2


def test_smooth_near_rounds_a_crease_and_leaves_the_rest():
    """A V-shaped open sheet (a 90° crease along x = 0): points within the radius of the
    crease move towards the rounded shape, points beyond 1.5 radius and the boundary do
    not move, and the crease's opening angle grows (rounded, not sharpened)."""
    import pyvista as pv

    from biomech.mesh.surface import smooth_near

    n = 21
    u, v = np.meshgrid(np.linspace(-10, 10, n), np.linspace(-10, 10, n), indexing="ij")
    z = np.abs(u)  # crease along u = 0
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    tris = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    points = np.column_stack([u.ravel(), v.ravel(), z.ravel()])
    sheet = pv.PolyData(points, np.column_stack([np.full(len(tris), 3), tris]).ravel())
    centres = np.array([[0.0, y, 0.0] for y in np.linspace(-5, 5, 5)])
    out, info = smooth_near(sheet, centres, radius=3.0)
    p0, p1 = np.asarray(sheet.points), np.asarray(out.points)
    dist = np.min(np.linalg.norm(p0[:, None] - centres[None], axis=2), axis=1)
    shift = np.linalg.norm(p1 - p0, axis=1)
    edge = (np.abs(p0[:, 0]) > 9.99) | (np.abs(p0[:, 1]) > 9.99)
    assert np.all(shift[dist > 4.5] == 0.0) and np.all(shift[edge] == 0.0)
    apex = np.flatnonzero((np.abs(p0[:, 0]) < 1e-9) & (np.abs(p0[:, 1]) < 1e-9))
    assert p1[apex, 2] > 0.2  # the crease point rose into the rounded profile
    assert info["points"] == int((dist < 4.5).sum() - (edge & (dist < 4.5)).sum())
    assert info["max_shift_mm"] == pytest.approx(shift.max())
