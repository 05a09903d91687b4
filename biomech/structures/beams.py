"""A network of co-rotational beams: sections, material law, nodal rotations, assembly.

``BeamModel`` holds the reference geometry (nodes in mm, element frames, lengths), the
section points, the 1-D law and the committed history; ``state`` objects carry the current
positions and nodal rotation matrices. DOFs per node: 3 displacements (mm) and 3 spins
(rad), node i at ``6 i … 6 i + 5``. Ties (wire crossings, sutures) are stiff translational
springs. Optional membrane triangles (graft fabric, :mod:`biomech.structures.membrane`) join
nodes that carry no beam; their spins are inert (unit stiffness, zero force).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from biomech.errors import CaseError
from biomech.structures.corotational import (
    assemble_elements,
    element_forces,
    peak_strains,
    spin_all,
)
from biomech.structures.laws import LINEAR_ELASTIC, NITINOL, law_parameters
from biomech.structures.membrane import (
    RESIDUAL_STIFFNESS,
    TOE_STRAIN,
    assemble_membranes,
    membrane_forces,
    pressure_loads,
    reference_gradients,
)

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
    membranes: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))
    membrane_thickness: float = 0.0
    membrane_material: dict | None = None
    membrane_residual: float = RESIDUAL_STIFFNESS

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
        self._membrane_setup()
        self._pattern()

    def _membrane_setup(self) -> None:
        self.membranes = np.ascontiguousarray(self.membranes, dtype=np.int64).reshape(-1, 3)
        if len(self.membranes):
            if self.membrane_material is None or not self.membrane_thickness > 0:
                raise CaseError("membranes need a material (E, nu) and a positive thickness")
            self.dN, self.area0 = reference_gradients(self.nodes, self.membranes)
            self._E = float(self.membrane_material["E"])
            self._nu = float(self.membrane_material["nu"])
            self._half_toe = 0.5 * float(self.membrane_material.get("toe_strain", TOE_STRAIN))
        spun = np.zeros(self.n_nodes, bool)
        spun[self.beams.ravel()] = True
        self.inert_spins = (6 * np.flatnonzero(~spun)[:, None] + np.arange(3, 6)).ravel()

    @property
    def links(self) -> np.ndarray:
        """Node pairs joined by a beam, a tie or a membrane edge (k, 2)."""
        t = self.membranes
        edges = np.vstack([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]])
        return np.vstack([self.beams, self.ties, edges])

    def half_thickness(self) -> np.ndarray:
        """Half the thickness (mm) of the thickest strut or fabric at each node: the contact
        surface lies this far out from the node."""
        half = np.zeros(self.n_nodes)
        np.maximum.at(half, self.beams.ravel(), np.repeat(0.5 * np.asarray(self.thickness, float), 2))
        if len(self.membranes):
            np.maximum.at(half, self.membranes.ravel(), 0.5 * self.membrane_thickness)
        return half

    def force_noise(self) -> float:
        """Round-off floor of the internal force (N): 10 ε × the stiffest spring × the size."""
        k = max(float(np.max(self.params[0] * self.area() / self.l0)), self.tie_stiffness)
        noise = 10.0 * np.finfo(float).eps * k * float(np.abs(self.nodes).max())
        return max(noise, self.membrane_force_floor())

    def membrane_force_floor(self) -> float:
        """Residual floor (N) of the fabric: the force of a 1e-8 strain in one membrane edge
        (Y t h / (1 − ν²) · 1e-8). Newton's last digits chatter on the tension-field law's
        kinks (taut ↔ wrinkled ↔ slack) below it; 0 without membranes."""
        if not len(self.membranes):
            return 0.0
        h = float(np.median(np.sqrt(2.0 * self.area0)))
        return 1e-8 * self._E / (1.0 - self._nu**2) * self.membrane_thickness * h

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
        mdofs = (DOF_PER_NODE * self.membranes[:, :, None] + np.arange(3)).reshape(-1, 9)
        self._mdofs = mdofs
        self._mrows = np.repeat(mdofs, 9, axis=1).ravel()
        self._mcols = np.tile(mdofs, (1, 9)).ravel()

    def forces(self, state: BeamState) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        """Internal force (6n), tangent (CSR) and trial history at ``state``. The tangent's
        sparsity pattern is built once (``_csr_pattern``); each call only sums the element
        blocks into its data."""
        trial = np.empty_like(state.history)
        F, K = assemble_elements(state.x, state.R, self.beams, self.R0, self.l0, self.spts,
                                 self.GJ, self.law, self.params, state.history, trial)
        f = np.bincount(self._dofs.ravel(), weights=F.ravel(), minlength=self.n_dof)
        indptr, indices, slot_beam, slot_membrane, constant = self._csr_pattern()
        data = constant + np.bincount(slot_beam, weights=K.ravel(), minlength=len(indices))
        if len(self.membranes):
            Fm, Km = assemble_membranes(state.x, self.membranes, self.dN, self.area0,
                                        self.membrane_thickness, self._E, self._nu,
                                        self.membrane_residual, self._half_toe)
            f += np.bincount(self._mdofs.ravel(), weights=Fm.ravel(), minlength=self.n_dof)
            data += np.bincount(slot_membrane, weights=Km.ravel(), minlength=len(indices))
        if len(self.ties):
            f += self._tie_forces(state.x)
        K = sp.csr_matrix((data, indices, indptr), shape=(self.n_dof,) * 2, copy=False)
        return f, K, trial

    def fabric_pressure(self, state: BeamState, pressure: float) -> tuple[np.ndarray, sp.csr_matrix]:
        """External force (6n; N) of a follower ``pressure`` (MPa) on the membrane triangles,
        along their normals by node order (outward on a device's fabric tube), and its
        derivative ∂f/∂x (CSR on the tangent's pattern; subtract it from the tangent)."""
        Fp, Kp = pressure_loads(state.x, self.membranes, float(pressure))
        f = np.bincount(self._mdofs.ravel(), weights=Fp.ravel(), minlength=self.n_dof)
        indptr, indices, _, slot_membrane, _ = self._csr_pattern()
        data = np.bincount(slot_membrane, weights=Kp.ravel(), minlength=len(indices))
        return f, sp.csr_matrix((data, indices, indptr), shape=(self.n_dof,) * 2, copy=False)

    def _csr_pattern(self):
        """The tangent's CSR structure (indptr, indices: sorted, unique), the data slot of
        every beam and membrane block entry, and the constant part (ties: linear springs;
        unit spins of nodes without a beam) on that pattern. Built on first use."""
        if getattr(self, "_csr", None) is None:
            rows = [self._rows, self._mrows, self.inert_spins]
            cols = [self._cols, self._mcols, self.inert_spins]
            vals = [np.zeros(len(self._rows)), np.zeros(len(self._mrows)),
                    np.ones(len(self.inert_spins))]
            if len(self.ties):
                tr, tc, tv = self._tie_stiffness_triplets()
                rows, cols, vals = rows + [tr], cols + [tc], vals + [tv]
            key = np.concatenate(rows) * self.n_dof + np.concatenate(cols)
            unique, slot = np.unique(key, return_inverse=True)
            indices = (unique % self.n_dof).astype(np.int32)
            indptr = np.searchsorted(unique // self.n_dof, np.arange(self.n_dof + 1)).astype(np.int32)
            constant = np.bincount(slot, weights=np.concatenate(vals), minlength=len(unique))
            nb, nm = len(self._rows), len(self._mrows)
            self._csr = (indptr, indices, slot[:nb], slot[nb:nb + nm], constant)
        return self._csr

    def internal_forces(self, state: BeamState) -> tuple[np.ndarray, np.ndarray]:
        """Internal force (6n) and trial history at ``state``, without the tangent."""
        trial = np.empty_like(state.history)
        F = element_forces(state.x, state.R, self.beams, self.R0, self.l0, self.spts, self.GJ,
                           self.law, self.params, state.history, trial)
        f = np.bincount(self._dofs.ravel(), weights=F.ravel(), minlength=self.n_dof)
        if len(self.membranes):
            Fm = membrane_forces(state.x, self.membranes, self.dN, self.area0,
                                 self.membrane_thickness, self._E, self._nu,
                                 self.membrane_residual, self._half_toe)
            f += np.bincount(self._mdofs.ravel(), weights=Fm.ravel(), minlength=self.n_dof)
        if len(self.ties):
            f += self._tie_forces(state.x)
        return f, trial

    def stiffness_bound(self, state: BeamState, ties: bool = True) -> np.ndarray:
        """Gershgorin bound Σ_j |K_ij| of every row (n, 6; N/mm and N·mm/rad) of the tangent at
        ``state``, with the fabric taken as taut (its full elastic stiffness): the row sums
        that size the fictitious masses of explicit relaxation (``ties`` False: without the
        tie springs, for a caller that moves tied nodes together)."""
        trial = np.empty_like(state.history)
        _, K = assemble_elements(state.x, state.R, self.beams, self.R0, self.l0, self.spts,
                                 self.GJ, self.law, self.params, state.history, trial)
        rows = np.bincount(self._dofs.ravel(), weights=np.abs(K).sum(axis=2).ravel(),
                           minlength=self.n_dof)
        if len(self.membranes):
            _, Km = assemble_membranes(state.x, self.membranes, self.dN, self.area0,
                                       self.membrane_thickness, self._E, self._nu, 1.0,
                                       self._half_toe)
            rows += np.bincount(self._mdofs.ravel(), weights=np.abs(Km).sum(axis=2).ravel(),
                                minlength=self.n_dof)
        if ties and len(self.ties):
            r3 = np.bincount(self.ties.ravel(), minlength=self.n_nodes) * 2.0 * self.tie_stiffness
            rows.reshape(-1, 6)[:, :3] += r3[:, None]
        return rows.reshape(-1, 6)

    def _tie_forces(self, x: np.ndarray) -> np.ndarray:
        """Forces (6n) of the stiff springs between tied node pairs (translations only:
        pinned crossings)."""
        k, a, b = self.tie_stiffness, self.ties[:, 0], self.ties[:, 1]
        d = k * ((x[a] - self.nodes[a]) - (x[b] - self.nodes[b]))
        f = np.zeros((self.n_nodes, 6))
        for c in range(3):
            f[:, c] = (np.bincount(a, weights=d[:, c], minlength=self.n_nodes)
                       - np.bincount(b, weights=d[:, c], minlength=self.n_nodes))
        return f.ravel()

    def _tie_stiffness_triplets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, values) of the ties' constant stiffness (N/mm)."""
        k, a, b = self.tie_stiffness, self.ties[:, 0], self.ties[:, 1]
        rows, cols, vals = [], [], []
        for c in range(3):
            for (i, j, sign) in ((a, a, 1.0), (b, b, 1.0), (a, b, -1.0), (b, a, -1.0)):
                rows.append(6 * i + c)
                cols.append(6 * j + c)
                vals.append(np.full(len(a), sign * k))
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)

    def peak_strains(self, state: BeamState) -> np.ndarray:
        """Largest surface normal strain of each beam (m,), see corotational.peak_strains."""
        return peak_strains(state.x, state.R, self.beams, self.R0, self.l0,
                            0.5 * np.asarray(self.thickness, float), 0.5 * np.asarray(self.width, float),
                            np.asarray(self.section) == CIRCLE)

    def moved(self, state: BeamState, du: np.ndarray) -> BeamState:
        """State after an increment du (6n): x += Δu, R ← exp(Δw) R."""
        d = du.reshape(-1, 6)
        return BeamState(state.x + d[:, :3], spin_all(state.R, np.ascontiguousarray(d[:, 3:])),
                         state.history)


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


def beam_model(network, *, fabric: bool = False, **kw) -> BeamModel:
    """A BeamModel of a :class:`biomech.stent.BeamNetwork` (or any object with its fields).

    ``fabric``: a stent-graft's fabric points follow the network's nodes (ids n, n + 1, …),
    its sutures become ties and its triangles tension-field membranes. Off by default: the
    bench and the deployment solve the rings alone (the crimped fabric, with next to no
    stiffness, makes Newton cycle on the crimper's contacts; see the README)."""
    ties = np.asarray(getattr(network, "ties", np.zeros((0, 2), np.int64)), np.int64).reshape(-1, 2)
    graft = getattr(network, "graft", None)
    if graft is None or not fabric:
        return BeamModel(network.nodes, network.beams, network.orientation, network.section,
                         network.width, network.thickness, network.material, ties=ties, **kw)
    n = len(network.nodes)
    sutures = np.asarray(graft.sutures, np.int64) + [0, n]
    return BeamModel(np.vstack([network.nodes, graft.points]), network.beams,
                     network.orientation, network.section, network.width, network.thickness,
                     network.material, ties=np.vstack([ties, sutures]),
                     membranes=np.asarray(graft.triangles, np.int64) + n,
                     membrane_thickness=float(graft.thickness_mm),
                     membrane_material=graft.material, **kw)
