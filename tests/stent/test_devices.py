"""Stent geometry against closed forms; EndoBeams files; BeamNetwork checks and export."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from biomech.errors import CaseError
from biomech.stent import (
    CIRCLE,
    BeamNetwork,
    braid_crossing_spacing,
    braided,
    diamond,
    fit_cylinder,
    from_files,
    stent_graft,
    z_ring,
)

DATA = Path(__file__).parents[2].parent / "shared" / "data" / "endobeams-stent"
FILES = [DATA / f for f in ("positions_stent.txt", "connectivity_stent.txt", "constraints_stent.txt")]


def endobeams_files() -> list[Path]:
    if not all(f.is_file() for f in FILES):
        pytest.skip(f"shared EndoBeams data not present at {DATA} (../shared/data is not checked out)")
    return FILES


def line_count(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def unit_tangents(net: BeamNetwork) -> np.ndarray:
    d = net.nodes[net.beams[:, 1]] - net.nodes[net.beams[:, 0]]
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def assert_radial_orientation(net: BeamNetwork) -> None:
    """Orientation ⟂ to the beam, unit, and in the plane (outward radial, beam axis)."""
    t, o = unit_tangents(net), net.orientation
    mid = net.nodes[net.beams].mean(axis=1)
    radial = mid * [1, 1, 0] / np.hypot(mid[:, 0], mid[:, 1])[:, None]
    assert np.abs(np.sum(o * t, axis=1)).max() < 1e-12
    assert np.abs(np.linalg.norm(o, axis=1) - 1).max() < 1e-12
    assert (np.sum(o * radial, axis=1) > 0.9).all()
    assert np.abs(np.sum(o * np.cross(radial, t), axis=1)).max() < 1e-12


# ----------------------------------------------------------------------------- Z-ring

D, CROWNS, L = 28.0, 8, 10.0
N = 2 * CROWNS
H = math.sqrt(L**2 - (D * math.sin(math.pi / N)) ** 2)


def test_z_ring_apexes_struts_and_height_match_closed_forms():
    net = z_ring(D, CROWNS, L, 0.4, 0.3, elements_per_strut=4)
    z = net.nodes[:, 2]
    apex = (z == 0) | (np.abs(z - H) < 1e-12)
    assert apex.sum() == N
    assert np.abs(net.radius()[apex] - D / 2).max() < 1e-12
    assert (net.radius()[~apex] < D / 2).all()  # interior strut nodes lie on the chord, inside
    assert z.max() - z.min() == pytest.approx(H, abs=1e-12)
    assert net.length_mm == pytest.approx(H, abs=1e-12)
    corners = net.nodes[apex][np.argsort(np.arctan2(net.nodes[apex, 1], net.nodes[apex, 0]))]
    struts = np.linalg.norm(np.roll(corners, -1, axis=0) - corners, axis=1)
    assert len(struts) == N and np.abs(struts - L).max() < 1e-12
    assert len(net.beams) == 4 * N
    assert np.abs(net.beam_lengths() - L / 4).max() < 1e-12  # straight, equally divided
    assert net.section.tolist() == [0] * len(net.beams) and (net.ring == 0).all()
    assert_radial_orientation(net)


def test_z_rings_stack_with_gap_and_axial_connectors():
    gap = 3.0
    net = z_ring(D, CROWNS, L, 0.4, 0.3, rings=3, ring_gap=gap, connectors=4)
    assert net.length_mm == pytest.approx(3 * H + 2 * gap, abs=1e-12)
    assert sorted(set(net.ring.tolist())) == [-1, 0, 1, 2]
    bridge = net.ring == -1
    assert bridge.sum() == 2 * 4 * 2  # 2 gaps x 4 bridges x 2 elements
    assert np.abs(unit_tangents(net)[bridge][:, 2]).min() == pytest.approx(1.0, abs=1e-12)
    for r in range(3):
        nodes = np.unique(net.beams[net.ring == r])
        assert net.nodes[nodes, 2].min() == pytest.approx(r * (H + gap), abs=1e-12)


def test_z_ring_rounded_apex_is_tangent_and_keeps_nominal_diameter():
    net = z_ring(D, CROWNS, L, 0.4, 0.3, apex=0.5, apex_elements=4, elements_per_strut=4)
    assert len(net.beams) == N * (4 + 4)
    # turn of the wire at each node: at most one arc element's angle (sharp: 180° - apex angle)
    beta = math.asin(D * math.sin(2 * math.pi / N) / (2 * L))  # half the apex angle
    turn = []
    for node in range(len(net.nodes)):
        (a, b), (c, d) = net.beams[(net.beams == node).any(axis=1)]
        p, q = (a if b == node else b), (c if d == node else d)
        u, v = net.nodes[node] - net.nodes[p], net.nodes[q] - net.nodes[node]
        turn.append(math.degrees(math.acos(min(1.0, u @ v / np.linalg.norm(u) / np.linalg.norm(v)))))
    assert max(turn) == pytest.approx(math.degrees(math.pi - 2 * beta) / 4, rel=1e-9)
    assert net.radius().max() < D / 2 and net.nominal_diameter_mm == D
    with pytest.raises(CaseError, match="apex"):
        z_ring(D, CROWNS, L, 0.4, 0.3, apex=5.0)


def test_z_ring_rejects_too_short_struts_and_bad_sizes():
    with pytest.raises(CaseError, match="strut_length"):
        z_ring(D, CROWNS, 5.0, 0.4, 0.3)
    with pytest.raises(CaseError, match="strut_width"):
        z_ring(D, CROWNS, L, -0.4, 0.3)
    with pytest.raises(CaseError, match="crowns"):
        z_ring(D, 1, L, 0.4, 0.3)
    with pytest.raises(CaseError, match="connectors"):
        z_ring(D, CROWNS, L, 0.4, 0.3, rings=1, connectors=2)


# ----------------------------------------------------------------------------- diamond


def test_diamond_cells_are_closed_and_on_the_cylinder():
    ca, rings, cell = 12, 5, 10.0
    net = diamond(27.0, ca, cell, 0.35, 0.4, rings=rings, elements_per_strut=3)
    assert np.abs(net.radius() - 13.5).max() < 1e-12
    assert net.length_mm == pytest.approx(rings * cell / 2)
    assert len(net.beams) == rings * 2 * ca * 3
    # independent cycles of a connected graph on a cylinder: cells + the loop around it
    assert len(net.beams) - len(net.nodes) + 1 == (rings - 1) * ca + 1
    degree = np.bincount(net.beams.ravel(), minlength=len(net.nodes))
    z = net.nodes[:, 2]
    inner_apex = np.isclose(z % (cell / 2), 0) & (z > 0) & (z < net.length_mm)
    assert (degree[inner_apex] == 4).all() and inner_apex.sum() == (rings - 1) * ca
    step, half = math.pi / ca, cell / 2
    apexes = {(round(math.degrees(math.atan2(y, x)) % 360, 6), round(zz, 6))
              for x, y, zz in net.nodes[np.isclose(z % half, 0) | np.isclose(z % half, half)]}
    for lvl in range(rings - 1):  # each cell: bottom, left, right, top vertices exist
        for k in range(ca):
            theta = (2 * k + lvl % 2) * step
            for dt, dz in ((0, 0), (-step, half), (step, half), (0, 2 * half)):
                key = (round(math.degrees(theta + dt) % 360, 6), round(lvl * half + dz, 6))
                assert key in apexes or (key[0] == 360.0 and (0.0, key[1]) in apexes)
    assert_radial_orientation(net)


# ----------------------------------------------------------------------------- braided


@pytest.mark.parametrize("elements", [1, 3])
def test_braid_helix_angle_and_crossing_count_match_closed_forms(elements):
    diameter, length, wires, angle = 10.0, 15.0, 24, 60.0
    net = braided(diameter, length, wires, angle, 0.1, elements_per_segment=elements)
    n, radius = wires // 2, diameter / 2
    dz = math.pi * radius / (n * math.tan(math.radians(angle)))
    assert braid_crossing_spacing(diameter, wires, angle) == pytest.approx(dz, rel=1e-14)
    levels = round(length * n * math.tan(math.radians(angle)) / (math.pi * radius)) + 1
    assert len(net.ties) == n * levels  # one tie per crossing
    assert len(net.nodes) == wires * ((levels - 1) * elements + 1)
    assert net.length_mm == pytest.approx((levels - 1) * dz, abs=1e-12)
    a, b = net.nodes[net.beams[:, 0]], net.nodes[net.beams[:, 1]]
    dtheta = np.angle(np.exp(1j * (np.arctan2(b[:, 1], b[:, 0]) - np.arctan2(a[:, 1], a[:, 0]))))
    tan_alpha = radius * np.abs(dtheta) / np.abs(b[:, 2] - a[:, 2])
    assert np.abs(tan_alpha - math.tan(math.radians(angle))).max() < 1e-12
    tied = net.nodes[net.ties]
    assert np.abs(tied[:, 0] - tied[:, 1]).max() < 1e-12
    assert np.abs(net.radius() - radius).max() < 1e-12
    assert (net.section == CIRCLE).all() and (net.width == 0.1).all() and (net.ring == -1).all()
    assert_radial_orientation(net)


def test_braid_shared_crossings_and_free_ends():
    n, levels = 12, None
    tied = braided(10.0, 15.0, 2 * n, 60.0, 0.1)
    levels = len(tied.ties) // n
    shared = braided(10.0, 15.0, 2 * n, 60.0, 0.1, crossings="shared")
    assert len(shared.ties) == 0 and len(shared.nodes) == n * levels
    degree = np.bincount(shared.beams.ravel())
    assert (degree == 4).sum() == n * (levels - 2) and (degree == 2).sum() == 2 * n
    free = braided(10.0, 15.0, 2 * n, 60.0, 0.1, free_ends=True)
    assert len(free.ties) == n * (levels - 2)
    free_shared = braided(10.0, 15.0, 2 * n, 60.0, 0.1, crossings="shared", free_ends=True)
    assert len(free_shared.nodes) == n * levels + 2 * n
    with pytest.raises(CaseError, match="crossings"):
        braided(10.0, 15.0, 24, 60.0, 0.1, crossings="welded")


def test_braid_reproduces_the_endobeams_stent():
    positions, connectivity, constraints = endobeams_files()
    ref = np.loadtxt(positions)
    angle = math.degrees(math.atan(math.pi * 2.3 / (24 * 7.5 / 70)))  # 70 crossing intervals
    net = braided(4.6, 7.5, 48, angle, 0.028)
    assert len(net.nodes) == len(ref) and len(net.beams) == line_count(connectivity)
    assert len(net.ties) == line_count(constraints)

    def order(p):
        return p[np.lexsort(np.round(p, 9).T[::-1])]

    assert np.abs(order(net.nodes) - order(ref)).max() < 1e-9


# ----------------------------------------------------------------------------- stent-graft


def test_stent_graft_sutures_every_apex_to_a_coincident_fabric_point():
    net = stent_graft(28.0, 8, 16.0, 0.45, 0.45, rings=3, ring_gap=3.0, graft_margin=1.0)
    graft = net.graft
    assert len(graft.sutures) == 3 * 16
    gap = np.linalg.norm(net.nodes[graft.sutures[:, 0]] - graft.points[graft.sutures[:, 1]], axis=1)
    assert gap.max() < 1e-12
    assert np.abs(np.hypot(graft.points[:, 0], graft.points[:, 1]) - 14.0).max() < 1e-12
    assert graft.points[:, 2].min() == pytest.approx(0, abs=1e-12)
    assert graft.points[:, 2].max() == pytest.approx(net.length_mm, abs=1e-12)
    assert net.nodes[:, 2].min() == pytest.approx(1.0, abs=1e-12)
    p = graft.points[graft.triangles]
    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    centre = p.mean(axis=1) * [1, 1, 0]
    assert (np.sum(normal * centre, axis=1) > 0).all()  # outward-facing fabric
    assert graft.material["model"] == "linear-elastic" and "source" in graft.material
    assert graft.to_pyvista().n_cells == len(graft.triangles)


# ----------------------------------------------------------------------------- files


def test_endobeams_files_load_with_the_line_counts():
    positions, connectivity, constraints = endobeams_files()
    net = from_files(positions, connectivity, constraints, wire_diameter=0.028)
    assert len(net.nodes) == line_count(positions)
    assert len(net.beams) == line_count(connectivity)
    assert len(net.ties) == line_count(constraints)
    assert net.nominal_diameter_mm == pytest.approx(4.6, abs=1e-9)
    assert net.length_mm == pytest.approx(7.5, abs=1e-9)
    assert np.abs(net.radius() - 2.3).max() < 1e-9
    assert np.abs(net.source_from_device - np.eye(4)).max() < 1e-9  # already in device frame
    assert (net.section == CIRCLE).all() and net.kind == "file"


def test_files_in_any_frame_are_moved_to_the_device_frame_and_back(tmp_path):
    ring = z_ring(D, CROWNS, L, 0.4, 0.3)  # short: diameter > length
    angle = 0.7
    rot = np.array([[1, 0, 0], [0, math.cos(angle), -math.sin(angle)],
                    [0, math.sin(angle), math.cos(angle)]])
    moved = ring.nodes @ rot.T + [5.0, -3.0, 40.0]
    np.savetxt(tmp_path / "p.txt", moved)
    np.savetxt(tmp_path / "c.txt", ring.beams + 1, fmt="%d")
    net = from_files(tmp_path / "p.txt", tmp_path / "c.txt", wire_diameter=0.3, units="mm")
    assert np.abs(np.sort(net.radius()) - np.sort(ring.radius())).max() < 1e-6
    assert np.abs(np.sort(net.nodes[:, 2]) - np.sort(ring.nodes[:, 2])).max() < 1e-6
    back = net.nodes @ net.source_from_device[:3, :3].T + net.source_from_device[:3, 3]
    assert np.abs(back - moved).max() < 1e-9
    assert len(net.ties) == 0 and net.nominal_diameter_mm < D  # fit through apexes and chords


def test_vtk_polylines_load(tmp_path):
    net = braided(10.0, 15.0, 24, 60.0, 0.1)
    net.to_pyvista().save(tmp_path / "braid.vtp")
    back = from_files(tmp_path / "braid.vtp", wire_diameter=0.1, units="cm")
    assert len(back.beams) == len(net.beams) and len(back.nodes) == len(net.nodes)
    assert back.nominal_diameter_mm == pytest.approx(100.0, rel=1e-9)  # cm -> mm


def test_fit_cylinder_of_a_tilted_tube():
    theta, z = np.meshgrid(np.linspace(0, 2 * np.pi, 40, endpoint=False), np.linspace(0, 3, 5))
    pts = np.column_stack([6 * np.cos(theta.ravel()), 6 * np.sin(theta.ravel()), z.ravel()])
    axis = np.array([1.0, 2.0, 2.0]) / 3.0
    _, vecs = np.linalg.eigh(np.outer(axis, axis))
    rot = np.column_stack([vecs[:, 0], vecs[:, 1], axis])  # maps e_z to axis
    _, found, radius = fit_cylinder(pts @ rot.T + [1.0, 2.0, 3.0])
    assert radius == pytest.approx(6.0, rel=1e-9)
    assert abs(abs(found @ axis) - 1) < 1e-9


def test_from_files_errors(tmp_path):
    np.savetxt(tmp_path / "p.txt", np.eye(3))
    np.savetxt(tmp_path / "c.txt", [[0, 1], [1, 2]], fmt="%d")
    with pytest.raises(CaseError, match="wire_diameter"):
        from_files(tmp_path / "p.txt", tmp_path / "c.txt")
    with pytest.raises(CaseError, match="1-based"):
        from_files(tmp_path / "p.txt", tmp_path / "c.txt", wire_diameter=0.1)
    with pytest.raises(CaseError, match="not found"):
        from_files(tmp_path / "missing.txt", tmp_path / "c.txt", wire_diameter=0.1)


# ----------------------------------------------------------------------------- BeamNetwork


def test_validate_names_what_is_wrong():
    net = z_ring(D, CROWNS, L, 0.4, 0.3)
    bad = net.copy()
    bad.beams[0, 1] = bad.beams[0, 0]
    with pytest.raises(CaseError, match="zero-length"):
        bad.validate()
    bad = net.copy()
    bad.orientation[3] = unit_tangents(net)[3]
    with pytest.raises(CaseError, match="perpendicular"):
        bad.validate()
    bad = net.copy()
    bad.beams[2, 0] = len(net.nodes)
    with pytest.raises(CaseError, match="beams"):
        bad.validate()
    bad = net.copy()
    bad.width[0] = 0.0
    with pytest.raises(CaseError, match="width"):
        bad.validate()
    bad = net.copy()
    bad.nodes[0, 0] = np.nan
    with pytest.raises(CaseError, match="finite"):
        bad.validate()
    assert np.isfinite(net.nodes).all() and net.validate() is net  # copies are deep


def test_exports_and_counts():
    net = z_ring(D, CROWNS, L, 0.4, 0.3, rings=2, connectors=2)
    assert net.n_dof == 6 * len(net.nodes)
    poly = net.to_pyvista()
    assert poly.n_cells == len(net.beams)
    assert np.array_equal(poly.cell_data["ring"], net.ring)
    mesh = net.to_meshio()
    assert mesh.cells[0].type == "line" and len(mesh.cell_data["width"][0]) == len(net.beams)
    assert set(mesh.cell_data) >= {"width", "thickness", "ring"}
