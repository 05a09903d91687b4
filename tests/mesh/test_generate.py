"""Structured mesh generators: Jacobians, volumes, face areas, orientation, conformity."""

from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np
import pytest

from biomech.fem.elements import element as reference_element
from biomech.mesh import generate as gen
from biomech.mesh.core import Mesh

KINDS = gen.ELEMENT_KINDS
LINEAR = ("hexahedron", "wedge", "tetra")
A, B, L = 10.0, 12.0, 20.0
COOK_AREA = 1440.0  # shoelace area of (0,0), (48,44), (48,60), (0,44) in mm^2

GENERATORS: dict[str, Callable[[str], Mesh]] = {
    "box": lambda k: gen.box((2.0, 1.0, 3.0), (3, 2, 4), k, origin=(1.0, -1.0, 0.5)),
    "box_wedge_x": lambda k: gen.box((1.0, 2.0, 1.0), (2, 3, 2), k, wedge_axis="x"),
    "tube_full": lambda k: gen.tube(A, B, L, 2, 12, 3, k),
    "tube_quarter": lambda k: gen.tube(A, B, L, 2, 6, 3, k, sector="quarter"),
    "tube_graded": lambda k: gen.tube(A, B, L, 4, 6, 2, k, sector="quarter", radial_grading=3.0),
    "tube_wedge_radial": lambda k: gen.tube(A, B, L, 2, 8, 2, k, wedge_axis="radial"),
    "tube_wedge_circ": lambda k: gen.tube(
        A, B, L, 2, 4, 2, k, "quarter", wedge_axis="circumferential"
    ),
    "sphere": lambda k: gen.thick_sphere(A, B, 2, 3, k),
    "cooks": lambda k: gen.cooks_membrane(4, k, thickness=2.0, n_thickness=2),
    "beam": lambda k: gen.beam(divisions=(10, 2, 2), element=k),
}
CASES = [(g, k) for g in GENERATORS for k in KINDS]
_CACHE: dict[tuple[str, str], Mesh] = {}


def make(name: str, kind: str) -> Mesh:
    """Generated mesh, built once per (generator, kind)."""
    if (name, kind) not in _CACHE:
        _CACHE[name, kind] = GENERATORS[name](kind)
    return _CACHE[name, kind]


# --- helpers -----------------------------------------------------------------------------


def jacobian_dets(mesh: Mesh, degree: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """det J (n_cells, nq) at the element quadrature points and the weights (nq,)."""
    (block,) = mesh.blocks
    _, dN, w = reference_element(block.type).tabulate(degree)
    jac = np.einsum("eai,qaj->eqij", mesh.points[block.conn], dN)
    return np.linalg.det(jac), w


def volume(mesh: Mesh) -> float:
    """Mesh volume by quadrature (mm^3)."""
    dets, w = jacobian_dets(mesh)
    return float((dets * w).sum())


def face_area(mesh: Mesh, name: str) -> float:
    """Area of a named face set by quadrature (mm^2)."""
    total = 0.0
    for ftype, faces in mesh.face_sets[name].items():
        _, dN, w = reference_element(ftype).tabulate(4)
        tangents = np.einsum("fai,qaj->fqij", mesh.points[faces], dN)
        normal = np.cross(tangents[..., 0], tangents[..., 1])
        total += float((np.linalg.norm(normal, axis=-1) * w).sum())
    return total


def face_normal(x: np.ndarray) -> np.ndarray:
    """Right-hand normal of a face from its corner coordinates (3 or 4, 3)."""
    if len(x) == 3:
        return np.cross(x[1] - x[0], x[2] - x[0])
    return np.cross(x[2] - x[0], x[3] - x[1])


def all_faces(mesh: Mesh) -> tuple[Counter, dict]:
    """Occurrence count of each cell face (key: type + sorted nodes) and one owner cell."""
    (block,) = mesh.blocks
    counts: Counter = Counter()
    owner: dict = {}
    for ftype, ids in reference_element(block.type).faces:
        for cell, nodes in enumerate(block.conn[:, list(ids)]):
            key = (ftype, tuple(sorted(nodes.tolist())))
            counts[key] += 1
            owner[key] = cell
    return counts, owner


def corner_count(ftype: str) -> int:
    """Corner nodes of a face type."""
    return 4 if ftype == "quad" else 3


def chord_factor(delta: float) -> float:
    """Polygon/arc ratio for chords of angle delta: straight-sided area error factor."""
    return np.sin(delta) / delta


# --- element validity and topology -------------------------------------------------------


@pytest.mark.parametrize("name,kind", CASES)
def test_positive_jacobian_at_quadrature_points(name: str, kind: str) -> None:
    mesh = make(name, kind)
    for degree in (None, 4):
        dets, _ = jacobian_dets(mesh, degree)
        assert dets.min() > 0.0, (name, kind, degree)


@pytest.mark.parametrize("name,kind", CASES)
def test_conforming_and_outward_face_sets(name: str, kind: str) -> None:
    mesh = make(name, kind)
    counts, owner = all_faces(mesh)
    assert max(counts.values()) <= 2, "a face shared by more than two cells"
    boundary = {key for key, c in counts.items() if c == 1}
    named = [
        (ftype, tuple(sorted(f.tolist())))
        for sets in mesh.face_sets.values()
        for ftype, faces in sets.items()
        for f in faces
    ]
    assert len(named) == len(set(named)), "a face is in two face sets (or twice in one)"
    assert set(named) == boundary, "boundary faces differ from the union of face sets"

    conn = mesh.blocks[0].conn
    n_corner = reference_element(mesh.blocks[0].type).corner_nodes
    for sets in mesh.face_sets.values():
        for ftype, faces in sets.items():
            for f in faces:
                cell = owner[(ftype, tuple(sorted(f.tolist())))]
                corners = mesh.points[f[: corner_count(ftype)]]
                outward = corners.mean(axis=0) - mesh.points[conn[cell, :n_corner]].mean(axis=0)
                assert face_normal(corners) @ outward > 0.0


@pytest.mark.parametrize("name,kind", CASES)
def test_compact_tagged_and_named(name: str, kind: str) -> None:
    mesh = make(name, kind)
    (block,) = mesh.blocks
    assert block.type == kind
    assert np.array_equal(np.unique(block.conn), np.arange(mesh.n_points)), "unused points"
    assert np.all(block.region == 1) and mesh.region_names == {"all": 1}
    assert mesh.source and mesh.source != "<memory>"
    for sets in mesh.face_sets.values():
        for faces in sets.values():
            assert faces.dtype == np.int64 and len(faces) > 0


def test_deterministic() -> None:
    first, second = gen.thick_sphere(A, B, 2, 2, "tetra10"), gen.thick_sphere(A, B, 2, 2, "tetra10")
    assert np.array_equal(first.points, second.points)
    assert np.array_equal(first.blocks[0].conn, second.blocks[0].conn)
    for ftype, faces in second.face_sets["outer"].items():
        assert np.array_equal(first.face_sets["outer"][ftype], faces)


@pytest.mark.parametrize("kind", KINDS)
def test_node_counts(kind: str) -> None:
    def lattice(*n: int) -> int:
        """Nodes of a grid with n cells per axis (tetra10: the doubled grid)."""
        return int(np.prod([2 * c + 1 if kind == "tetra10" else c + 1 for c in n]))

    q = 2 if kind == "tetra10" else 1
    assert gen.box((1, 1, 1), (3, 2, 4), kind).n_points == lattice(3, 2, 4)
    assert gen.tube(A, B, L, 2, 12, 3, kind).n_points == (q * 2 + 1) * (q * 12) * (q * 3 + 1)
    assert gen.tube(A, B, L, 2, 6, 3, kind, "quarter").n_points == lattice(2, 6, 3)
    m = q * 3  # sphere: 3 cube faces of an m x m grid share edges: (m+1)^3 - m^3 points
    assert gen.thick_sphere(A, B, 2, 3, kind).n_points == ((m + 1) ** 3 - m**3) * (q * 2 + 1)
    assert gen.cooks_membrane(4, kind, n_thickness=2).n_points == lattice(4, 4, 2)
    per_hex = {"hexahedron": 1, "wedge": 2, "tetra": 6, "tetra10": 6}[kind]
    assert gen.box((1, 1, 1), (3, 2, 4), kind).n_cells == 24 * per_hex
    assert gen.thick_sphere(A, B, 2, 3, kind).n_cells == 3 * 9 * 2 * per_hex


# --- geometry ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_flat_geometries_exact(kind: str) -> None:
    box = make("box", kind)
    assert volume(box) == pytest.approx(6.0, rel=1e-12)
    for name, area in dict(xmin=3, xmax=3, ymin=6, ymax=6, zmin=2, zmax=2).items():
        assert face_area(box, name) == pytest.approx(area, rel=1e-12)
    assert box.points.min(axis=0) == pytest.approx([1.0, -1.0, 0.5])

    cook = make("cooks", kind)  # thickness 2
    assert volume(cook) == pytest.approx(2 * COOK_AREA, rel=1e-12)
    expected = dict(clamped=88.0, tip=32.0, zmin=COOK_AREA, zmax=COOK_AREA,
                    lower=2 * np.hypot(48, 44), upper=2 * np.hypot(48, 16))
    for name, area in expected.items():
        assert face_area(cook, name) == pytest.approx(area, rel=1e-12), name

    beam = make("beam", kind)
    assert volume(beam) == pytest.approx(10.0, rel=1e-12)
    for name, area in dict(x0=1, x1=1, y0=10, y1=10, bottom=10, top=10).items():
        assert face_area(beam, name) == pytest.approx(area, rel=1e-12)
    (x0_faces,) = beam.face_sets["x0"].values()
    assert np.all(beam.points[np.unique(x0_faces), 0] == 0.0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sector", ["full", "quarter"])
def test_tube_volume_and_areas(kind: str, sector: str) -> None:
    n_circ = 12 if sector == "full" else 6
    span = 2 * np.pi if sector == "full" else 0.5 * np.pi
    mesh = gen.tube(A, B, L, 2, n_circ, 3, kind, sector)
    delta = span / n_circ  # angle of one circumferential cell
    exact = {
        "volume": 0.5 * span * (B**2 - A**2) * L,
        "inner": span * A * L, "outer": span * B * L,
        "zmin": 0.5 * span * (B**2 - A**2), "zmax": 0.5 * span * (B**2 - A**2),
    }
    measured = {k: (volume(mesh) if k == "volume" else face_area(mesh, k)) for k in exact}
    if kind in LINEAR:
        # chords: sector areas scale by sin(d)/d, arc lengths by sin(d/2)/(d/2); exact polygons
        for key in ("volume", "zmin", "zmax"):
            assert measured[key] == pytest.approx(exact[key] * chord_factor(delta), rel=1e-12)
            assert abs(measured[key] / exact[key] - 1) <= 1 - chord_factor(delta) + 1e-12
        for key in ("inner", "outer"):
            assert measured[key] == pytest.approx(exact[key] * chord_factor(delta / 2), rel=1e-12)
    else:
        # quadratic arcs: error O(delta^4), far below the chord error O(delta^2)
        for key in exact:
            assert abs(measured[key] / exact[key] - 1) < delta**4 / 50, key
    if sector == "quarter":
        for key in ("xsym", "ysym"):
            assert face_area(mesh, key) == pytest.approx((B - A) * L, rel=1e-12)


@pytest.mark.parametrize("kind", ["tetra", "tetra10"])
def test_tube_volume_convergence_order(kind: str) -> None:
    exact = np.pi * (B**2 - A**2) * L
    errors = [abs(volume(gen.tube(A, B, L, 1, n, 1, kind)) / exact - 1) for n in (8, 16)]
    order = np.log2(errors[0] / errors[1])
    assert order == pytest.approx(2.0 if kind == "tetra" else 4.0, abs=0.3)


@pytest.mark.parametrize("kind", KINDS)
def test_tube_nodes_on_exact_geometry(kind: str) -> None:
    mesh = make("tube_quarter", kind)
    radius = np.hypot(mesh.points[:, 0], mesh.points[:, 1])
    for name, value in (("inner", A), ("outer", B)):
        nodes = np.unique(np.concatenate([f.ravel() for f in mesh.face_sets[name].values()]))
        assert np.allclose(radius[nodes], value, rtol=1e-14, atol=0)
    for name, axis, value in (("xsym", 0, 0.0), ("ysym", 1, 0.0), ("zmin", 2, 0.0), ("zmax", 2, L)):
        nodes = np.unique(np.concatenate([f.ravel() for f in mesh.face_sets[name].values()]))
        assert np.all(mesh.points[nodes, axis] == value), name
    assert np.all(mesh.points[:, :2] >= 0.0)


def test_tube_grading() -> None:
    mesh = gen.tube(A, B, L, 4, 6, 1, "hexahedron", "quarter", radial_grading=3.0)
    radii = np.unique(np.round(np.hypot(mesh.points[:, 0], mesh.points[:, 1]), 12))
    steps = np.diff(radii)
    assert len(radii) == 5 and steps[-1] / steps[0] == pytest.approx(3.0)
    assert np.allclose(steps[1:] / steps[:-1], 3.0 ** (1 / 3))


@pytest.mark.parametrize("name", ["tube_full", "tube_quarter", "tube_graded"])
@pytest.mark.parametrize("kind", KINDS)
def test_tube_basis(name: str, kind: str) -> None:
    mesh = make(name, kind)
    (basis,) = mesh.cell_data["basis"]
    assert basis.shape == (mesh.n_cells, 9)
    rows = basis.reshape(-1, 3, 3)
    assert np.allclose(rows @ rows.transpose(0, 2, 1), np.eye(3), atol=1e-14)
    assert np.allclose(np.linalg.det(rows), 1.0)  # (circ, axial, radial) right-handed
    centroid = mesh.points[mesh.blocks[0].conn[:, :4]].mean(axis=1)
    outward = centroid[:, :2] / np.linalg.norm(centroid[:, :2], axis=1, keepdims=True)
    assert np.allclose(rows[:, 2, :2], outward, atol=0.1)
    assert np.allclose(rows[:, 1], [0.0, 0.0, 1.0])


def test_beam_basis() -> None:
    mesh = make("beam", "tetra")
    (basis,) = mesh.cell_data["basis"]
    assert basis.shape == (mesh.n_cells, 9)
    assert np.array_equal(basis, np.tile(np.eye(3).ravel(), (mesh.n_cells, 1)))


def max_face_angle(mesh: Mesh, name: str) -> float:
    """Largest angle (rad) seen from the origin between two corners of one face."""
    worst = 0.0
    for ftype, faces in mesh.face_sets[name].items():
        x = mesh.points[faces[:, : corner_count(ftype)]]
        u = x / np.linalg.norm(x, axis=2, keepdims=True)
        cos = np.einsum("fai,fbi->fab", u, u)
        worst = max(worst, float(np.arccos(np.clip(cos.min(), -1, 1))))
    return worst


@pytest.mark.parametrize("kind", KINDS)
def test_sphere_volume_and_areas(kind: str) -> None:
    n_circ = 3
    mesh = make("sphere", kind)
    shell = np.pi / 6 * (B**3 - A**3)
    sphere_area = {"inner": 0.5 * np.pi * A**2, "outer": 0.5 * np.pi * B**2}
    quarter_annulus = 0.25 * np.pi * (B**2 - A**2)
    # symmetry-plane arcs have 2 n_circ equal chords (equiangular map)
    delta = 0.5 * np.pi / (2 * n_circ)
    alpha = max(max_face_angle(mesh, "inner"), max_face_angle(mesh, "outer"))
    # flat facets with corners on the sphere stay within R (1 - cos alpha) of it
    gap = {name: R * (1 - np.cos(alpha)) for name, R in (("inner", A), ("outer", B))}
    vol_bound = sum(sphere_area[k] * gap[k] for k in gap) / shell
    err = abs(volume(mesh) / shell - 1)
    if kind in LINEAR:
        assert err <= vol_bound
        for name in sphere_area:  # (R/d)^2 cos^3(gamma) area ratio, d >= R cos(alpha)
            assert abs(face_area(mesh, name) / sphere_area[name] - 1) <= 1 / np.cos(alpha) ** 3 - 1
        for name in ("xsym", "ysym", "zsym"):
            area = face_area(mesh, name)
            assert area == pytest.approx(quarter_annulus * chord_factor(delta), rel=1e-12)
    else:
        assert err <= 0.02 * vol_bound
        for name in sphere_area:
            assert abs(face_area(mesh, name) / sphere_area[name] - 1) < 2e-3
        for name in ("xsym", "ysym", "zsym"):
            assert abs(face_area(mesh, name) / quarter_annulus - 1) < delta**4 / 50


@pytest.mark.parametrize("kind", ["hexahedron", "tetra10"])
def test_sphere_convergence_order(kind: str) -> None:
    shell, outer = np.pi / 6 * (B**3 - A**3), 0.5 * np.pi * B**2
    meshes = [gen.thick_sphere(A, B, 1, n, kind) for n in (4, 8)]
    vol_err = [abs(volume(m) / shell - 1) for m in meshes]
    area_err = [abs(face_area(m, "outer") / outer - 1) for m in meshes]
    expected = 2.0 if kind == "hexahedron" else 4.0  # straight vs quadratic curved geometry
    assert np.log2(vol_err[0] / vol_err[1]) == pytest.approx(expected, abs=0.3)
    assert np.log2(area_err[0] / area_err[1]) == pytest.approx(expected, abs=0.3)


@pytest.mark.parametrize("kind", KINDS)
def test_sphere_nodes_on_exact_geometry(kind: str) -> None:
    mesh = make("sphere", kind)
    radius = np.linalg.norm(mesh.points, axis=1)
    for name, value in (("inner", A), ("outer", B)):
        nodes = np.unique(np.concatenate([f.ravel() for f in mesh.face_sets[name].values()]))
        assert np.allclose(radius[nodes], value, rtol=1e-14, atol=0)
    for axis, name in enumerate(("xsym", "ysym", "zsym")):
        nodes = np.unique(np.concatenate([f.ravel() for f in mesh.face_sets[name].values()]))
        assert np.all(mesh.points[nodes, axis] == 0.0)
    assert np.all(mesh.points >= 0.0)
    assert np.all((radius >= A * (1 - 1e-14)) & (radius <= B * (1 + 1e-14)))


# --- benchmark sizing and errors ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", [100_000, 300_000, 1_000_000])
def test_bench_divisions(kind: str, target: int) -> None:
    counts = np.array(gen.bench_divisions(target, kind))
    per = 2 if kind == "tetra10" else 1
    dofs = 3 * np.prod(per * counts + 1)
    assert abs(dofs / target - 1) < 0.03
    sizes = np.array([B - A, 0.25 * np.pi * (A + B), L]) / counts
    assert sizes.max() / sizes.min() <= 1.5


@pytest.mark.parametrize("kind", KINDS)
def test_quarter_tube_for_bench(kind: str) -> None:
    mesh = gen.quarter_tube_for_bench(30_000, kind)
    assert abs(3 * mesh.n_points / 30_000 - 1) < 0.1
    assert set(mesh.face_sets) == {"inner", "outer", "zmin", "zmax", "xsym", "ysym"}
    radius = np.hypot(mesh.points[:, 0], mesh.points[:, 1])
    assert radius.min() == pytest.approx(A) and radius.max() == pytest.approx(B)
    assert mesh.points[:, 2].max() == pytest.approx(L)
    assert jacobian_dets(mesh)[0].min() > 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: gen.box(element="hex20"),
        lambda: gen.box(divisions=(0, 1, 1)),
        lambda: gen.tube(12, 10, 1, 1, 8, 1),
        lambda: gen.tube(10, 12, 1, 1, 2, 1),
        lambda: gen.tube(10, 12, 1, 1, 8, 1, sector="half"),
        lambda: gen.tube(10, 12, 1, 1, 8, 1, "wedge", wedge_axis="z"),
        lambda: gen.thick_sphere(1, 2, 1, 0),
        lambda: gen.cooks_membrane(2, thickness=0.0),
    ],
)
def test_invalid_arguments(call: Callable[[], Mesh]) -> None:
    with pytest.raises(ValueError):
        call()
