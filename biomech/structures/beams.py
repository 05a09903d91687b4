"""A network of co-rotational beams: sections, material law, nodal rotations, assembly.

``BeamModel`` holds the reference geometry (nodes in mm, element frames, lengths), the
section points, the 1-D law and the committed history; ``state`` objects carry the current
positions and nodal rotation matrices. DOFs per node: 3 displacements (mm) and 3 spins
(rad), node i at ``6 i … 6 i + 5``. Ties (wire crossings) are stiff translational springs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from biomech.errors import CaseError
from biomech.structures.corotational import assemble_elements, peak_strains, rotation_matrix
from biomech.structures.laws import LINEAR_ELASTIC, NITINOL, law_parameters

RECTANGLE, CIRCLE = 0, 1
DOF_PER_NODE = 6


def section_points(kind: int, width: float, thickness: float, n: int = 4) -> np.ndarray:
    """Gauss section points (y, z, weight mm²) of a rectangle (y: thickness, z: width) or a
    circle of diameter ``width`` (polar Gauss rule). Exact for the elastic moments."""
    g, w = np.polynomial.legendre.leggauss(n)
    if kind == RECTANGLE:
        y = 0.5 * thickness * g
        z = 0.5 * width * g
        Y, Z = np.meshgrid(y, z, indexing="ij")
        W = np.outer(w, w) * 0.25 * width * thickness
        return np.column_stack([Y.ravel(), Z.ravel(), W.ravel()])
    R = 0.5 * width
    r = 0.5 * R * (g + 1.0)
    wr = 0.5 * R * w * r
    m = 2 * n
    phi = (np.arange(m) + 0.5) * 2.0 * np.pi / m
    pts = [(ri * np.cos(p), ri * np.sin(p), wi * 2.0 * np.pi / m) for ri, wi in zip(r, wr) for p in phi]
    return np.array(pts)


def torsion_constant(kind: int, width: float, thickness: float) -> float:
    """Saint-Venant torsion constant J (mm⁴): circle π d⁴/32; rectangle (Roark) a b³ (1/3 −
    0.21 b/a (1 − b⁴/(12 a⁴))), a ≥ b."""
    if kind == CIRCLE:
        return np.pi * width**4 / 32.0
    a, b = max(width, thickness), min(width, thickness)
    return a * b**3 * (1.0 / 3.0 - 0.21 * b / a * (1.0 - b**4 / (12.0 * a**4)))


@dataclass
class BeamState:
    """Current configuration: positions x (n, 3) mm, nodal rotations R (n, 3, 3), history."""

    x: np.ndarray
    R: np.ndarray
    history: np.ndarray

    def copy(self) -> BeamState:
        return BeamState(self.x.copy(), self.R.copy(), self.history.copy())


@dataclass
class BeamModel:
    """Reference beam network and its material; see the module docstring."""

    nodes: np.ndarray
    beams: np.ndarray
    orientation: np.ndarray
    section: np.ndarray
    width: np.ndarray
    thickness: np.ndarray
    material: dict
    ties: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    section_order: int = 0
    tie_stiffness: float = 0.0

    def __post_init__(self) -> None:
        self.nodes = np.ascontiguousarray(self.nodes, dtype=float)
        self.beams = np.ascontiguousarray(self.beams, dtype=np.int64)
        self.law, self.params = law_parameters(self.material)
        d = self.nodes[self.beams[:, 1]] - self.nodes[self.beams[:, 0]]
        self.l0 = np.linalg.norm(d, axis=1)
        if np.any(self.l0 <= 1e-9):
            raise CaseError(f"beam network: {int(np.sum(self.l0 <= 1e-9))} zero-length beams")
        e1 = d / self.l0[:, None]
        y = np.asarray(self.orientation, float)
        y = y - np.sum(y * e1, axis=1)[:, None] * e1
        y /= np.linalg.norm(y, axis=1)[:, None]
        self.R0 = np.ascontiguousarray(np.stack([e1, y, np.cross(e1, y)], axis=2))
        n = self.section_order or (4 if self.law == LINEAR_ELASTIC else 6)
        self.spts = np.ascontiguousarray(np.stack([
            section_points(int(k), w, t, n) for k, w, t in zip(self.section, self.width, self.thickness)]))
        G = self.params[0] / (2.0 * (1.0 + self.material.get("nu", 0.33)))
        self.GJ = np.array([G * torsion_constant(int(k), w, t)
                            for k, w, t in zip(self.section, self.width, self.thickness)])
        if len(self.ties) and not self.tie_stiffness:
            self.tie_stiffness = 1e2 * float(np.median(self.params[0] * self.area() / self.l0))
        self._pattern()

    def force_noise(self) -> float:
        """Round-off floor of the internal force (N): 10 ε × the stiffest spring × the size."""
        k = max(float(np.max(self.params[0] * self.area() / self.l0)), self.tie_stiffness)
        return 10.0 * np.finfo(float).eps * k * float(np.abs(self.nodes).max())

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_dof(self) -> int:
        return DOF_PER_NODE * len(self.nodes)

    def area(self) -> np.ndarray:
        """Section areas (mm²)."""
        return self.spts[:, :, 2].sum(axis=1)

    def initial_state(self) -> BeamState:
        m = len(self.beams)
        return BeamState(self.nodes.copy(), np.tile(np.eye(3), (self.n_nodes, 1, 1)),
                         np.zeros((m, 3, self.spts.shape[1])))

    def _pattern(self) -> None:
        dofs = (DOF_PER_NODE * self.beams[:, :, None] + np.arange(6)).reshape(-1, 12)
        self._rows = np.repeat(dofs, 12, axis=1).ravel()
        self._cols = np.tile(dofs, (1, 12)).ravel()
        self._dofs = dofs

    def forces(self, state: BeamState) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        """Internal force (6n), tangent (CSR) and trial history at ``state``."""
        trial = np.empty_like(state.history)
        F, K = assemble_elements(state.x, state.R, self.beams, self.R0, self.l0, self.spts,
                                 self.GJ, self.law, self.params, state.history, trial)
        f = np.bincount(self._dofs.ravel(), weights=F.ravel(), minlength=self.n_dof)
        Kc = sp.coo_matrix((K.ravel(), (self._rows, self._cols)), shape=(self.n_dof,) * 2)
        if len(self.ties):
            ft, Kt = self._tie_forces(state.x)
            f += ft
            Kc = Kc + Kt
        return f, Kc.tocsr(), trial

    def _tie_forces(self, x: np.ndarray) -> tuple[np.ndarray, sp.coo_matrix]:
        """Stiff springs between tied node pairs (translations only: pinned crossings)."""
        k = self.tie_stiffness
        a, b = self.ties[:, 0], self.ties[:, 1]
        d = (x[a] - self.nodes[a]) - (x[b] - self.nodes[b])
        f = np.zeros(self.n_dof)
        for c in range(3):
            np.add.at(f, 6 * a + c, k * d[:, c])
            np.add.at(f, 6 * b + c, -k * d[:, c])
        rows, cols, vals = [], [], []
        for c in range(3):
            for (i, j, s) in ((a, a, 1.0), (b, b, 1.0), (a, b, -1.0), (b, a, -1.0)):
                rows.append(6 * i + c)
                cols.append(6 * j + c)
                vals.append(np.full(len(a), s * k))
        K = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(self.n_dof,) * 2)
        return f, K

    def peak_strains(self, state: BeamState) -> np.ndarray:
        """Largest surface normal strain of each beam (m,), see corotational.peak_strains."""
        return peak_strains(state.x, state.R, self.beams, self.R0, self.l0,
                            0.5 * np.asarray(self.thickness, float), 0.5 * np.asarray(self.width, float),
                            np.asarray(self.section) == CIRCLE)

    def moved(self, state: BeamState, du: np.ndarray) -> BeamState:
        """State after an increment du (6n): x += Δu, R ← exp(Δw) R."""
        d = du.reshape(-1, 6)
        R = np.empty_like(state.R)
        for i in range(self.n_nodes):
            R[i] = rotation_matrix(d[i, 3:]) @ state.R[i]
        return BeamState(state.x + d[:, :3], R, state.history)


__all__ = [
    "CIRCLE",
    "DOF_PER_NODE",
    "NITINOL",
    "RECTANGLE",
    "BeamModel",
    "BeamState",
    "beam_model",
    "section_points",
    "torsion_constant",
]


def beam_model(network, **kw) -> BeamModel:
    """A BeamModel of a :class:`biomech.stent.BeamNetwork` (or any object with its fields)."""
    return BeamModel(network.nodes, network.beams, network.orientation, network.section,
                     network.width, network.thickness, network.material,
                     ties=getattr(network, "ties", np.zeros((0, 2), np.int64)), **kw)
