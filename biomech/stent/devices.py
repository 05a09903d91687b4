"""Parametric stents and stent-grafts as BeamNetworks (mm, MPa), and beam networks read from files.

All generators build in the device frame (axis +z, z in [0, length], centred on the axis),
validate the result and raise CaseError naming the offending parameter.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from biomech.errors import CaseError
from biomech.stent.files import from_files
from biomech.stent.materials import NITINOL_DEFAULTS, check_material
from biomech.stent.materials import graft_material as _graft_material
from biomech.stent.network import CIRCLE, RECTANGLE, BeamNetwork, GraftFabric, radial_orientation

__all__ = [
    "braid_crossing_spacing",
    "braided",
    "diamond",
    "from_files",
    "stent_graft",
    "z_ring",
    "z_ring_height",
]


# ----------------------------------------------------------------------------- helpers


def _length(name: str, value: float, allow_zero: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        need = "non-negative" if allow_zero else "positive"
        raise CaseError(f"{name} = {value:g} mm must be a {need} length")
    return value


def _count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise CaseError(f"{name} = {value!r} must be an integer >= {minimum}")
    return int(value)


def _material(material: dict[str, Any] | None) -> dict[str, Any]:
    return check_material(dict(NITINOL_DEFAULTS if material is None else material))


class _Builder:
    """Collects nodes and chains of beams; finishes into a validated BeamNetwork."""

    def __init__(self) -> None:
        self.points: list[np.ndarray] = []
        self.count = 0
        self.beams: list[np.ndarray] = []
        self.ring: list[np.ndarray] = []

    def add(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, np.float64).reshape(-1, 3)
        self.points.append(points)
        self.count += len(points)
        return np.arange(self.count - len(points), self.count)

    def chain(self, ids: Sequence[int], ring: int = -1) -> None:
        ids = np.asarray(ids, np.int64)
        self.beams.append(np.column_stack([ids[:-1], ids[1:]]))
        self.ring.append(np.full(len(ids) - 1, ring, np.int64))

    def point(self, index: int) -> np.ndarray:
        """Coordinates of node ``index``."""
        start = 0
        for block in self.points:
            if index < start + len(block):
                return block[index - start]
            start += len(block)
        raise IndexError(index)

    def path(self, a: int, b: int, interior: np.ndarray, ring: int = -1) -> None:
        """Chain a -> interior points (added now) -> b."""
        self.chain([a, *self.add(interior), b], ring)

    def network(self, section: int, width: float, thickness: float, **kw: Any) -> BeamNetwork:
        nodes, beams = np.vstack(self.points), np.vstack(self.beams)
        net = BeamNetwork(
            nodes=nodes, beams=beams, orientation=radial_orientation(nodes, beams),
            section=section, width=width, thickness=thickness, ring=np.concatenate(self.ring),
            **kw,
        )
        return net.validate()


def _straight(a: np.ndarray, b: np.ndarray, elements: int) -> np.ndarray:
    """Interior points dividing the segment a-b into ``elements`` equal parts."""
    s = np.arange(1, elements)[:, None] / elements
    return a + s * (b - a)


def _on_cylinder(radius: float, theta: np.ndarray, z: np.ndarray) -> np.ndarray:
    return np.column_stack([radius * np.cos(theta), radius * np.sin(theta), z])


# ----------------------------------------------------------------------------- Z-ring


def z_ring_height(diameter: float, crowns: int, strut_length: float) -> float:
    """Axial height h (mm) of a Z-ring: L² = h² + (D sin(π/N))², N = 2·crowns struts."""
    chord = diameter * math.sin(math.pi / (2 * crowns))
    h2 = strut_length**2 - chord**2
    if h2 <= 0:
        raise CaseError(
            f"strut_length = {strut_length:g} mm is too short for a ring of diameter "
            f"{diameter:g} mm with {crowns} crowns: it must exceed the apex chord "
            f"D·sin(π/(2·crowns)) = {chord:.4g} mm (lengthen strut_length or add crowns)"
        )
    return math.sqrt(h2)


def _apex_arc(prev: np.ndarray, apex: np.ndarray, nxt: np.ndarray, radius: float,
              elements: int) -> np.ndarray:
    """Points (elements + 1) of a circular fillet of ``radius`` replacing a sharp apex.

    The arc lies in the plane of the two struts, tangent to both; its ends are on the struts.
    """
    u = (prev - apex) / np.linalg.norm(prev - apex)
    v = (nxt - apex) / np.linalg.norm(nxt - apex)
    beta = 0.5 * math.acos(float(np.clip(u @ v, -1.0, 1.0)))  # half the apex angle
    trim = radius / math.tan(beta)
    if trim >= 0.5 * np.linalg.norm(nxt - apex):
        raise CaseError(f"apex radius = {radius:g} mm is too large for these struts: the fillet "
                        f"would use {trim:.3g} mm of each strut (more than half)")
    bisector = (u + v) / np.linalg.norm(u + v)
    centre = apex + radius / math.sin(beta) * bisector
    a, b = (apex + trim * u - centre) / radius, (apex + trim * v - centre) / radius
    omega = math.pi - 2 * beta
    s = np.linspace(0.0, 1.0, elements + 1)[:, None]
    return centre + radius * (np.sin((1 - s) * omega) * a + np.sin(s * omega) * b) / math.sin(omega)


def _z_ring_frame(b: _Builder, radius: float, n_struts: int, h: float, z0: float, shift: int,
                  apex: float | None, elements: int, apex_elements: int, ring: int) -> np.ndarray:
    """Add one Z-ring; return the node id of each apex (arc midpoint when rounded)."""
    j = np.arange(n_struts)
    corners = _on_cylinder(radius, (j + shift) * 2 * math.pi / n_struts, z0 + h * (j % 2))
    if apex is None:
        ends = [(i, i) for i in b.add(corners)]
        apex_ids = np.array([e[0] for e in ends])
    else:
        ends, apex_ids = [], []
        for k in j:
            arc = _apex_arc(corners[k - 1], corners[k], corners[(k + 1) % n_struts], apex, apex_elements)
            ids = b.add(arc)
            b.chain(ids, ring)
            ends.append((ids[0], ids[-1]))
            apex_ids.append(ids[apex_elements // 2])
    for k in j:
        nxt = (k + 1) % n_struts
        a_id, b_id = ends[k][1], ends[nxt][0]
        b.path(a_id, b_id, _straight(b.point(a_id), b.point(b_id), elements), ring)
    return np.asarray(apex_ids)


def _parse_apex(apex: str | float) -> float | None:
    if isinstance(apex, str):
        if apex.strip().lower() == "sharp":
            return None
        raise CaseError(f"apex = {apex!r}: use \"sharp\" or a fillet radius in mm")
    return _length("apex", apex)


def _z_rings(diameter, crowns, strut_length, strut_width, strut_thickness, rings, ring_gap,
             connectors, apex, elements_per_strut, apex_elements):
    """Shared body of z_ring and stent_graft: (builder, apex ids per ring, h, gap)."""
    for key, value in (("diameter", diameter), ("strut_length", strut_length),
                       ("strut_width", strut_width), ("strut_thickness", strut_thickness)):
        _length(key, value)
    crowns, rings = _count("crowns", crowns, 2), _count("rings", rings, 1)
    connectors = _count("connectors", connectors, 0)
    elements = _count("elements_per_strut", elements_per_strut, 1)
    apex_elements = _count("apex_elements", apex_elements, 2)
    if apex_elements % 2:
        raise CaseError(f"apex_elements = {apex_elements} must be even (the apex node is the "
                        "arc midpoint)")
    h = z_ring_height(diameter, crowns, strut_length)
    gap = 0.5 * h if ring_gap is None else _length("ring_gap", ring_gap)
    if connectors and (rings < 2 or connectors > crowns):
        raise CaseError(f"connectors = {connectors} needs rings >= 2 and at most "
                        f"crowns = {crowns} bridges per gap")
    radius, n_struts, fillet = 0.5 * diameter, 2 * crowns, _parse_apex(apex)
    b = _Builder()
    apex_ids = [
        _z_ring_frame(b, radius, n_struts, h, r * (h + gap), r, fillet, elements, apex_elements, r)
        for r in range(rings)
    ]
    for r in range(rings - 1):  # bridges: top apex j of ring r -> bottom apex j-1 of ring r+1
        for c in range(connectors):
            j = 2 * (c * crowns // connectors) + 1
            lo, hi = apex_ids[r][j], apex_ids[r + 1][j - 1]
            b.path(lo, hi, _straight(b.point(lo), b.point(hi), 2), -1)
    return b, apex_ids, h, gap


def z_ring(diameter: float, crowns: int, strut_length: float, strut_width: float,
           strut_thickness: float, rings: int = 1, ring_gap: float | None = None,
           connectors: int = 0, apex: str | float = "sharp", elements_per_strut: int = 4,
           apex_elements: int = 4, material: dict | None = None,
           name: str = "z-ring") -> BeamNetwork:
    """Gianturco Z-stent rings (mm): apexes on two circles of ``diameter``, straight struts.

    Each ring has 2·crowns apexes (crowns at z = z0, crowns at z0 + h) and 2·crowns struts of
    length ``strut_length`` = sqrt(h² + (D sin(π/2crowns))²) (straight chords, both ends on
    the cylinder, interior nodes slightly inside). Rings are stacked with an axial
    ``ring_gap`` (default h/2) between apex circles, each turned by one apex spacing so the
    peaks of ring r face the valleys of ring r+1; ``connectors`` axial bridges (2 elements)
    join them per gap, 0 leaves them free (stent-graft). ``apex`` "sharp" or a fillet radius
    in mm (then the arc midpoint is the apex node). Rectangular section, width in the
    surface, thickness radial; ``material`` defaults to superelastic nitinol.
    """
    b, _, h, gap = _z_rings(diameter, crowns, strut_length, strut_width, strut_thickness, rings,
                            ring_gap, connectors, apex, elements_per_strut, apex_elements)
    return b.network(RECTANGLE, strut_width, strut_thickness, material=_material(material),
                     name=name, kind="z-ring", nominal_diameter_mm=float(diameter),
                     length_mm=rings * h + (rings - 1) * gap)


# ----------------------------------------------------------------------------- diamond


def diamond(diameter: float, cells_around: int, cell_length: float, strut_width: float,
            strut_thickness: float, rings: int = 2, elements_per_strut: int = 4,
            material: dict | None = None, name: str = "diamond") -> BeamNetwork:
    """Laser-cut closed-cell (diamond) stent (mm): ``rings`` Z-rings of height cell_length/2.

    Ring ℓ zigzags between apex circles ℓ and ℓ+1; consecutive rings share apexes (peak of
    ring ℓ = valley of ring ℓ+1), closing ``cells_around`` diamond cells per pair of rings:
    (rings − 1)·cells_around cells, length = rings·cell_length/2. Struts follow the cylinder
    (interior nodes on it, as cut from a tube), so every node lies at radius D/2.
    """
    for key, value in (("strut_width", strut_width), ("strut_thickness", strut_thickness)):
        _length(key, value)
    radius = 0.5 * _length("diameter", diameter)
    half = 0.5 * _length("cell_length", cell_length)
    ca, rings = _count("cells_around", cells_around, 2), _count("rings", rings, 2)
    elements = _count("elements_per_strut", elements_per_strut, 1)
    step = math.pi / ca
    b = _Builder()
    levels = [
        b.add(_on_cylinder(radius, (2 * np.arange(ca) + lvl % 2) * step, np.full(ca, lvl * half)))
        for lvl in range(rings + 1)
    ]
    s = np.arange(1, elements) / elements
    for lvl in range(rings):
        for k in range(ca):
            theta0 = (2 * k + lvl % 2) * step
            targets = ((k, step), ((k - 1) % ca, -step)) if lvl % 2 == 0 else \
                ((k, -step), ((k + 1) % ca, step))
            for k2, dtheta in targets:
                inner = _on_cylinder(radius, theta0 + s * dtheta, (lvl + s) * half)
                b.path(levels[lvl][k], levels[lvl + 1][k2], inner, lvl)
    return b.network(RECTANGLE, strut_width, strut_thickness, material=_material(material),
                     name=name, kind="diamond", nominal_diameter_mm=float(diameter),
                     length_mm=rings * half)


# ----------------------------------------------------------------------------- braided


def braid_crossing_spacing(diameter: float, wires: int, angle_deg: float) -> float:
    """Axial distance (mm) between crossing levels: Δz = π R / (n tan α), n = wires / 2."""
    return math.pi * 0.5 * diameter / (wires // 2 * math.tan(math.radians(angle_deg)))


def braided(diameter: float, length: float, wires: int, angle_deg: float, wire_diameter: float,
            elements_per_segment: int = 1, crossings: str = "tied", free_ends: bool = False,
            material: dict | None = None, name: str = "braided") -> BeamNetwork:
    """Braided stent (mm): wires/2 helices each way at ``angle_deg`` to the axis, radius D/2.

    Wire i (+) follows θ = 2πi/n + z tanα/R, wire j (−) θ = 2πj/n − z tanα/R, n = wires/2.
    They cross on levels Δz = πR/(n tanα) apart, n crossings per level (− wire j meets +
    wire (j − q) mod n on level q); the length is rounded to whole levels. Nodes sit at the
    crossings (plus ``elements_per_segment`` − 1 helix points between them); circular section.

    Crossings (``crossings``): "tied" (default) gives each wire its own node and ties the
    pair, translations only, as EndoBeams does: the wires stay free to rotate (scissor)
    against each other, which is how a braid changes diameter and where its compliance
    comes from (Jedwab & Clerc 1993 assume it). "shared" merges the pair into one node: half
    the crossing nodes, but the joint is welded (rotations shared), which over-stiffens the
    braid: fit for a welded wire mesh, not for a braid. ``free_ends`` leaves the crossings of
    the two end levels unjoined (cut wire ends); by default they are joined like the rest.
    """
    for key, value in (("length", length), ("wire_diameter", wire_diameter)):
        _length(key, value)
    radius = 0.5 * _length("diameter", diameter)
    wires = _count("wires", wires, 4)
    if wires % 2 or not 0 < float(angle_deg) < 90:
        raise CaseError(f"wires = {wires} must be even and angle = {angle_deg} deg within "
                        "(0, 90) deg (the angle between each wire and the stent axis)")
    if crossings not in ("tied", "shared"):
        raise CaseError(f"crossings = {crossings!r}: use \"tied\" or \"shared\"")
    elements = _count("elements_per_segment", elements_per_segment, 1)
    n, dz = wires // 2, braid_crossing_spacing(diameter, wires, angle_deg)
    levels = round(length / dz) + 1
    if levels < 2:
        raise CaseError(f"length = {length:g} mm is shorter than half the crossing spacing "
                        f"{dz:.3g} mm of this braid; lengthen it or lower the angle")
    z = np.linspace(0.0, (levels - 1) * dz, (levels - 1) * elements + 1)
    slope = math.tan(math.radians(angle_deg)) / radius
    b, ties = _Builder(), []
    shared = _crossing_nodes(b, radius, n, levels, dz) if crossings == "shared" else None
    plus = [_braid_wire(b, radius, 2 * math.pi * i / n + slope * z, z, elements, shared, i, +1,
                        free_ends) for i in range(n)]
    minus = [_braid_wire(b, radius, 2 * math.pi * j / n - slope * z, z, elements, shared, j, -1,
                         free_ends) for j in range(n)]
    if shared is None:
        qs = range(1, levels - 1) if free_ends else range(levels)
        ties = [(plus[(j - q) % n][q], minus[j][q]) for q in qs for j in range(n)]
    return b.network(CIRCLE, wire_diameter, wire_diameter, material=_material(material),
                     ties=np.array(ties, np.int64).reshape(-1, 2), name=name, kind="braided",
                     nominal_diameter_mm=float(diameter), length_mm=float(z[-1]))


def _crossing_nodes(b: _Builder, radius: float, n: int, levels: int, dz: float) -> np.ndarray:
    """Shared crossing nodes, (levels, n): crossing of + wire i on level q."""
    q, i = np.meshgrid(np.arange(levels), np.arange(n), indexing="ij")
    theta = 2 * math.pi * i / n + q * math.pi / n
    return b.add(_on_cylinder(radius, theta.ravel(), (q * dz).ravel())).reshape(levels, n)


def _braid_wire(b: _Builder, radius: float, theta: np.ndarray, z: np.ndarray, elements: int,
                shared: np.ndarray | None, wire: int, sign: int, free_ends: bool) -> np.ndarray:
    """Add one helical wire; return its node id on each crossing level."""
    ids = np.full(len(z), -1, np.int64)
    if shared is not None:
        levels, n = shared.shape
        for q in range(levels):
            if sign < 0 and free_ends and q in (0, levels - 1):
                continue  # cut wire ends: the − wire keeps its own end node
            ids[q * elements] = shared[q, wire if sign > 0 else (wire - q) % n]
    own = ids < 0
    ids[own] = b.add(_on_cylinder(radius, theta[own], z[own]))
    b.chain(ids, -1)
    return ids[::elements]


# ----------------------------------------------------------------------------- stent-graft


def stent_graft(diameter: float, crowns: int, strut_length: float, strut_width: float,
                strut_thickness: float, rings: int = 3, ring_gap: float | None = None,
                apex: str | float = "sharp", elements_per_strut: int = 4,
                graft_thickness: float = 0.1, graft_material: str | dict = "polyester",
                graft_margin: float = 0.0, graft_element_size: float | None = None,
                material: dict | None = None, name: str = "stent-graft") -> BeamNetwork:
    """Z-rings (unconnected) sewn to a fabric tube of the nominal diameter (mm).

    The tube spans the rings plus ``graft_margin`` at each end; its grid has 2·crowns·m
    points around (m from ``graft_element_size``, default the apex spacing: the grid
    the bench and the deployment converge on, see ``FABRIC_STABILISATION``) and
    axial levels through every apex circle, so each sharp apex coincides with a fabric
    point; one suture per apex joins them. The device is shifted so the fabric starts at z 0.
    """
    b, apex_ids, h, gap = _z_rings(diameter, crowns, strut_length, strut_width, strut_thickness,
                                   rings, ring_gap, 0, apex, elements_per_strut, 4)
    margin = _length("graft_margin", graft_margin, allow_zero=True)
    thickness = _length("graft_thickness", graft_thickness)
    spacing = math.pi * diameter / (2 * crowns)
    size = spacing if graft_element_size is None else _length("graft_element_size",
                                                                  graft_element_size)
    stent_length = rings * h + (rings - 1) * gap
    apex_z = sorted({r * (h + gap) + dz for r in range(rings) for dz in (0.0, h)})
    points, triangles = _tube(0.5 * diameter, 2 * crowns * max(1, math.ceil(spacing / size)),
                              [-margin, *apex_z, stent_length + margin], size)
    net = b.network(RECTANGLE, strut_width, strut_thickness, material=_material(material),
                    name=name, kind="stent-graft", nominal_diameter_mm=float(diameter),
                    length_mm=stent_length + 2 * margin)
    net.nodes[:, 2] += margin
    points[:, 2] += margin
    apexes = np.concatenate(apex_ids)
    nearest = np.argmin(((net.nodes[apexes, None, :] - points[None]) ** 2).sum(-1), axis=1)
    net.graft = GraftFabric(points, triangles, thickness, _graft_material(graft_material),
                            np.column_stack([apexes, nearest]))
    return net.validate()


def _tube(radius: float, around: int, z_breaks: list[float], size: float):
    """Triangulated open cylinder: points (levels·around, 3), outward-facing triangles."""
    z = [z_breaks[0]]
    for lo, hi in itertools.pairwise(z_breaks):
        if hi > lo:
            z.extend(np.linspace(lo, hi, max(1, math.ceil((hi - lo) / size)) + 1)[1:])
    z = np.asarray(z)
    theta = 2 * math.pi * np.arange(around) / around
    tt, zz = np.meshgrid(theta, z)
    points = _on_cylinder(radius, tt.ravel(), zz.ravel())
    i, k = np.meshgrid(np.arange(len(z) - 1), np.arange(around), indexing="ij")
    a = (i * around + k).ravel()
    bb = (i * around + (k + 1) % around).ravel()
    c, d = bb + around, a + around
    triangles = np.concatenate([np.column_stack([a, bb, c]), np.column_stack([a, c, d])])
    return points, triangles.astype(np.int64)
