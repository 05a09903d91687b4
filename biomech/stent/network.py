"""BeamNetwork: a stent (or stent-graft) as 3-D beams, the currency of the beam solver.

Units: mm, MPa. Device frame: axis +z, the device spans z in [0, length_mm] and is
centred on the z axis. Each beam carries a section (rectangle or circle) whose local
y axis (``orientation``) is the thickness direction (radial for struts) and whose local
z = beam axis x y is the width direction in the cylinder surface.
"""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biomech.errors import CaseError
from biomech.stent.materials import check_material

__all__ = ["CIRCLE", "RECTANGLE", "BeamNetwork", "GraftFabric", "radial_orientation"]

RECTANGLE, CIRCLE = 0, 1


def radial_orientation(nodes: np.ndarray, beams: np.ndarray) -> np.ndarray:
    """Unit vectors ⟂ to each beam: the outward cylinder normal (about z) at its midpoint.

    The normal is made exactly ⟂ to the beam (Gram-Schmidt); where it is undefined (beam on
    the axis or radial) any unit vector ⟂ to the beam is returned.
    """
    a, b = nodes[beams[:, 0]], nodes[beams[:, 1]]
    t = (b - a) / np.linalg.norm(b - a, axis=1, keepdims=True)
    n = 0.5 * (a + b)
    n[:, 2] = 0.0
    n -= np.sum(n * t, axis=1, keepdims=True) * t
    size = np.linalg.norm(n, axis=1)
    bad = size < 1e-9 * max(1.0, float(np.abs(nodes).max(initial=1.0)))
    if bad.any():
        helper = np.where(np.abs(t[bad, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
        n[bad] = np.cross(t[bad], helper)
        size[bad] = np.linalg.norm(n[bad], axis=1)
    n /= size[:, None]
    n -= np.sum(n * t, axis=1, keepdims=True) * t  # second pass: ⟂ to round-off
    return n / np.linalg.norm(n, axis=1, keepdims=True)


@dataclass
class GraftFabric:
    """Graft fabric of a stent-graft: a triangulated tube (mm) carried as a membrane.

    ``sutures`` (s, 2): (stent node, graft point) pairs tied together; ``material`` a
    linear-elastic dict in MPa (see ``biomech.stent.materials.GRAFT_MATERIALS``).
    """

    points: np.ndarray
    triangles: np.ndarray
    thickness_mm: float
    material: dict[str, Any]
    sutures: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))

    def __post_init__(self) -> None:
        self.points = np.ascontiguousarray(self.points, dtype=np.float64)
        self.triangles = np.ascontiguousarray(self.triangles, dtype=np.int64).reshape(-1, 3)
        self.sutures = np.ascontiguousarray(self.sutures, dtype=np.int64).reshape(-1, 2)

    def validate(self, n_stent_nodes: int) -> None:
        """Raise CaseError if points, triangles, sutures, thickness or material are bad."""
        pts, tri, sut = self.points, self.triangles, self.sutures
        if pts.ndim != 2 or pts.shape[1] != 3 or not np.isfinite(pts).all():
            raise CaseError("graft: points must be a finite (p, 3) array in mm")
        _check_index(tri, 3, len(pts), "graft triangles")
        _check_index(sut[:, :1], 1, n_stent_nodes, "graft sutures (stent node column)")
        _check_index(sut[:, 1:], 1, len(pts), "graft sutures (graft point column)")
        e1, e2 = pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]]
        if (np.linalg.norm(np.cross(e1, e2), axis=1) <= 0).any():
            raise CaseError("graft: degenerate (zero-area) triangles")
        if not (np.isfinite(self.thickness_mm) and self.thickness_mm > 0):
            raise CaseError(f"graft: thickness_mm = {self.thickness_mm} must be positive")
        check_material(self.material, allowed_models=("linear-elastic",))

    def to_pyvista(self):
        """The fabric as a pyvista PolyData of triangles."""
        import pyvista as pv

        faces = np.hstack([np.full((len(self.triangles), 1), 3), self.triangles]).ravel()
        return pv.PolyData(self.points.copy(), faces)


@dataclass
class BeamNetwork:
    """Nodes (n, 3) mm and beams (m, 2) with sections, material, ties and optional graft.

    ``section`` 0 = rectangle (``width`` in the cylinder surface, ``thickness`` radial),
    1 = circle (both = diameter). ``ties`` (k, 2): node pairs whose displacements are equal
    (pin joints: translations tied, rotations independent, as EndoBeams' constraints).
    ``ring`` per beam (-1 for connectors and wires). ``source_from_device`` (4, 4) maps
    device-frame points back to the frame they were read in (identity when generated).
    """

    nodes: np.ndarray
    beams: np.ndarray
    orientation: np.ndarray
    section: np.ndarray
    width: np.ndarray
    thickness: np.ndarray
    material: dict[str, Any]
    ties: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    ring: np.ndarray | None = None
    graft: GraftFabric | None = None
    name: str = ""
    kind: str = ""
    nominal_diameter_mm: float = float("nan")
    length_mm: float = float("nan")
    source_from_device: np.ndarray = field(default_factory=lambda: np.eye(4))

    def __post_init__(self) -> None:
        self.nodes = np.ascontiguousarray(self.nodes, dtype=np.float64)
        self.beams = np.ascontiguousarray(self.beams, dtype=np.int64).reshape(-1, 2)
        self.orientation = np.ascontiguousarray(self.orientation, dtype=np.float64)
        m = len(self.beams)
        self.section = np.broadcast_to(np.asarray(self.section, np.int8), (m,)).copy()
        self.width = np.broadcast_to(np.asarray(self.width, np.float64), (m,)).copy()
        self.thickness = np.broadcast_to(np.asarray(self.thickness, np.float64), (m,)).copy()
        self.ties = np.ascontiguousarray(self.ties, dtype=np.int64).reshape(-1, 2)
        ring = np.full(m, -1) if self.ring is None else self.ring
        self.ring = np.broadcast_to(np.asarray(ring, np.int64), (m,)).copy()

    @property
    def n_dof(self) -> int:
        """Degrees of freedom: 6 per node (3 translations, 3 rotations)."""
        return 6 * len(self.nodes)

    def radius(self) -> np.ndarray:
        """Distance of each node from the device axis (z), mm."""
        return np.hypot(self.nodes[:, 0], self.nodes[:, 1])

    def beam_lengths(self) -> np.ndarray:
        """Length of each beam, mm."""
        return np.linalg.norm(self.nodes[self.beams[:, 1]] - self.nodes[self.beams[:, 0]], axis=1)

    def copy(self) -> BeamNetwork:
        """A deep copy (arrays, material and graft)."""
        return _copy.deepcopy(self)

    def validate(self) -> BeamNetwork:
        """Raise CaseError naming the first inconsistency; return self when all is well."""
        who = f"beam network {self.name!r}" if self.name else "beam network"
        try:
            self._validate_geometry()
            self._validate_sections()
            check_material(self.material)
            if self.graft is not None:
                self.graft.validate(len(self.nodes))
        except CaseError as exc:
            raise CaseError(f"{who}: {exc}") from None
        return self

    def _validate_geometry(self) -> None:
        nodes, beams = self.nodes, self.beams
        if nodes.ndim != 2 or nodes.shape[1] != 3 or not np.isfinite(nodes).all():
            raise CaseError("nodes must be a finite (n, 3) array in mm")
        _check_index(beams, 2, len(nodes), "beams")
        if len(beams) == 0:
            raise CaseError("there are no beams")
        length = self.beam_lengths()
        short = length <= 1e-12 * max(1.0, np.abs(nodes).max())
        if short.any():
            raise CaseError(f"zero-length beams: {np.flatnonzero(short)[:10].tolist()}")
        _check_index(self.ties, 2, len(nodes), "ties")
        if (self.ties[:, 0] == self.ties[:, 1]).any():
            raise CaseError("ties: a node is tied to itself")
        o = self.orientation
        if o.shape != beams.shape[:1] + (3,) or not np.isfinite(o).all():
            raise CaseError(f"orientation must be a finite ({len(beams)}, 3) array")
        t = (nodes[beams[:, 1]] - nodes[beams[:, 0]]) / length[:, None]
        if (np.abs(np.linalg.norm(o, axis=1) - 1) > 1e-8).any():
            raise CaseError("orientation vectors must be unit vectors (to 1e-8)")
        if (np.abs(np.sum(o * t, axis=1)) > 1e-8).any():
            raise CaseError("orientation vectors must be perpendicular to their beams (to 1e-8)")

    def _validate_sections(self) -> None:
        if not np.isin(self.section, (RECTANGLE, CIRCLE)).all():
            raise CaseError("section must be 0 (rectangle) or 1 (circle)")
        for key in ("width", "thickness"):
            value = getattr(self, key)
            if not (np.isfinite(value).all() and (value > 0).all()):
                raise CaseError(f"{key} must be positive and finite (mm)")
        circle = self.section == CIRCLE
        if (self.width[circle] != self.thickness[circle]).any():
            raise CaseError("circular sections need width == thickness (the diameter)")

    def to_pyvista(self):
        """Beams as a pyvista PolyData of lines with cell data width, thickness, ring, …"""
        import pyvista as pv

        lines = np.hstack([np.full((len(self.beams), 1), 2), self.beams]).ravel()
        poly = pv.PolyData(self.nodes.copy(), lines=lines)
        for key, value in self._cell_data().items():
            poly.cell_data[key] = value
        return poly

    def to_meshio(self):
        """Beams as a meshio.Mesh of "line" cells with the same cell data."""
        import meshio

        cell_data = {key: [value] for key, value in self._cell_data().items()}
        return meshio.Mesh(self.nodes.copy(), [("line", self.beams.copy())], cell_data=cell_data)

    def _cell_data(self) -> dict[str, np.ndarray]:
        return {
            "width": self.width.copy(), "thickness": self.thickness.copy(),
            "ring": self.ring.copy(), "section": self.section.astype(np.int64),
            "orientation": self.orientation.copy(),
        }


def _check_index(array: np.ndarray, cols: int, n: int, what: str) -> None:
    if array.ndim != 2 or array.shape[1] != cols:
        raise CaseError(f"{what} must be an (k, {cols}) integer array")
    if array.size and (array.min() < 0 or array.max() >= n):
        raise CaseError(f"{what}: index out of range [0, {n}) (indices are 0-based)")
