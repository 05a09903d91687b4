"""Frictionless contact of beam nodes with a rigid cylinder they must stay inside.

The crimping head of a radial-force tester, a catheter, or a rigid mock vessel: axis
through ``axis_point`` along ``axis_direction`` (default: the z axis of the device frame),
inner radius ``radius`` (mm). A node of strut
half-thickness ``offset`` penetrates when ``g = r + offset − radius > 0``; the contact force
on it is ``−λ n`` with ``λ = max(0, λ_AL + k g)`` (augmented Lagrangian: the multiplier
``λ_AL`` is updated after each converged solve so penetration falls below a tolerance
without a stiffer penalty). Forces in N, stiffness in N/mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass
class RigidCylinder:
    """Rigid cylinder (inner radius, mm) about z; penalty k (N/mm); per-node offsets (mm)."""

    radius: float
    penalty: float
    offset: np.ndarray
    multipliers: np.ndarray = field(default=None)  # type: ignore[assignment]
    axis_point: np.ndarray = field(default_factory=lambda: np.zeros(3))
    axis_direction: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 1.0]))

    def __post_init__(self) -> None:
        self.offset = np.asarray(self.offset, float)
        if self.multipliers is None:
            self.multipliers = np.zeros(len(self.offset))
        a = np.asarray(self.axis_direction, float)
        self.axis_direction = a / np.linalg.norm(a)

    def radial_vectors(self, x: np.ndarray) -> np.ndarray:
        """Position (mm) relative to the axis, axial part removed (n, 3)."""
        d = x - self.axis_point
        return d - np.outer(d @ self.axis_direction, self.axis_direction)

    def gaps(self, x: np.ndarray) -> np.ndarray:
        """Penetration g (mm) per node: > 0 inside the tool's wall."""
        return np.linalg.norm(self.radial_vectors(x), axis=1) + self.offset - self.radius

    def contact_forces(self) -> np.ndarray:
        """Converged contact force (N) per node (the multipliers after the last solve)."""
        return self.multipliers.copy()

    def normal_forces(self, x: np.ndarray) -> np.ndarray:
        """Contact force magnitude (N) per node at positions x, pushing it towards the axis."""
        return np.maximum(0.0, self.multipliers + self.penalty * self.gaps(x))

    def forces(self, x: np.ndarray, n_dof: int) -> tuple[np.ndarray, sp.coo_matrix]:
        """Resisting force vector (6 DOF per node) and its tangent."""
        p = self.radial_vectors(x)
        r = np.linalg.norm(p, axis=1)
        lam = self.normal_forces(x)
        act = np.flatnonzero(lam > 0.0)
        f = np.zeros(n_dof)
        if act.size == 0:
            return f, sp.coo_matrix((n_dof, n_dof))
        ra = r[act]
        n = p[act] / ra[:, None]
        for c in range(3):
            f[6 * act + c] = lam[act] * n[:, c]
        # d(λ n)/dx = k n nᵀ + (λ / r)(I − a aᵀ − n nᵀ)
        k = self.penalty
        a = lam[act] / ra
        ax = self.axis_direction
        rows, cols, vals = [], [], []
        for i in range(3):
            for j in range(3):
                rows.append(6 * act + i)
                cols.append(6 * act + j)
                vals.append(k * n[:, i] * n[:, j]
                            + a * ((i == j) - ax[i] * ax[j] - n[:, i] * n[:, j]))
        K = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n_dof, n_dof))
        return f, K

    def augment(self, x: np.ndarray) -> float:
        """Uzawa update of the multipliers; returns the complementarity error (mm) before it:
        the largest penetration, or gap of a node that still carries force."""
        g = self.gaps(x)
        lam = np.maximum(0.0, self.multipliers + self.penalty * g)
        self.multipliers = lam
        loaded = lam > 0.0
        return float(max(0.0, g.max(initial=0.0), np.abs(g[loaded]).max(initial=0.0)))
