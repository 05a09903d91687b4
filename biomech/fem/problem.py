"""A model compiled to arrays: element blocks, loads, constraints and the sparse pattern."""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from biomech.fem.assembly import (
    Pattern,
    build_pattern,
    chunked_coloring,
    dirichlet_positions,
    node_pair_positions,
)
from biomech.fem.elements import element
from biomech.fem.kernels import assemble_solid, element_stress
from biomech.fem.surface import assemble_pressure


@dataclass
class SolidBlock:
    cell_type: str
    conn: np.ndarray
    model_id: np.ndarray  # (ne,) int64
    params: np.ndarray  # (ne, MAX_PARAMS)
    basis: np.ndarray  # (ne, 3, 3)
    bulk: np.ndarray  # (ne,)
    N: np.ndarray = None
    dN: np.ndarray = None
    w: np.ndarray = None
    chunk: int = 0
    color_ptr: np.ndarray = None
    color_chunks: np.ndarray = None
    kpos: np.ndarray = None


@dataclass
class PressureBlock:
    cell_type: str
    conn: np.ndarray
    pressure: np.ndarray  # (nf,) MPa at load factor 1
    N: np.ndarray = None
    dN: np.ndarray = None
    w: np.ndarray = None
    kpos: np.ndarray = None


class Problem:
    """Residual R(u, λ) = f_int(u) + K_spring u - λ (f_pressure(u) + f_dead) and its tangent."""

    def __init__(
        self,
        points: np.ndarray,
        solids: list[SolidBlock],
        pressures: list[PressureBlock],
        constrained: np.ndarray,
        prescribed_values: np.ndarray,
        spring_stiffness: np.ndarray | None = None,
        dead_load: np.ndarray | None = None,
        symmetric_load_stiffness: bool = True,
    ) -> None:
        # a copy, never a view: callers move the reference (zero-pressure iterations) while
        # the mesh it came from may be read, even pickled, by another thread
        self.X = np.array(points, dtype=np.float64, order="C")
        self.n_nodes = len(self.X)
        self.n_dofs = 3 * self.n_nodes
        self.solids = solids
        self.pressures = pressures
        self.constrained = constrained
        self._prescribed = prescribed_values
        self.springs = spring_stiffness if spring_stiffness is not None else np.zeros(self.n_dofs)
        self.dead_load = dead_load if dead_load is not None and dead_load.any() else None
        self.symmetric = symmetric_load_stiffness
        self.pattern: Pattern = build_pattern(
            self.n_nodes, [b.conn for b in solids] + [b.conn for b in pressures]
        )
        for b in solids:
            b.N, b.dN, b.w = element(b.cell_type).tabulate()
            b.chunk, b.color_ptr, b.color_chunks = chunked_coloring(
                b.conn, self.n_nodes, numba.get_num_threads()
            )
            b.kpos = node_pair_positions(b.conn, self.pattern.nptr, self.pattern.nind)
        for b in pressures:
            b.N, b.dN, b.w = element(b.cell_type).tabulate()
            b.kpos = node_pair_positions(b.conn, self.pattern.nptr, self.pattern.nind)
        self._zero_pos, self._diag_pos = dirichlet_positions(
            self.pattern.indptr, self.pattern.indices, constrained
        )
        if self.pattern.nnz < 2**31 - 1:  # 32 bits: ~60 MB less at 1e6 DOF
            self._zero_pos = self._zero_pos.astype(np.int32)
        self._spring_diag = self._diagonal_positions() if self.springs.any() else None
        self.bad_elements: list[np.ndarray] = []
        self._data: np.ndarray | None = None  # tangent values, reused by every assembly
        self.external_force_norm = 0.0
        self.reaction_norm = 0.0

    def _diagonal_positions(self) -> np.ndarray:
        m = self.pattern.matrix(np.arange(self.pattern.nnz, dtype=np.float64))
        return m.diagonal().astype(np.int64)

    def force_scale(self) -> float:
        """Norm of the applied loads and reactions of the last assembly (N): the yardstick
        of the residual, so that small load increments are not asked for round-off."""
        return max(self.external_force_norm, self.reaction_norm)

    def prescribed(self, lam: float) -> np.ndarray:
        return lam * self._prescribed

    def assemble(self, u: np.ndarray, lam: float, want_K: bool):
        """Residual R (n_dofs,), tangent CSR data (nnz,) or None, number of inverted elements.

        The tangent data is this problem's own buffer, overwritten by the next assembly that
        asks for a tangent (a fresh 10^7-entry array costs its page faults every time, ~10 %
        of a TET10 assembly); copy it to keep it. The linear solvers copy it when they factorize.
        """
        R = np.zeros(self.n_dofs)
        external = np.zeros(self.n_dofs)  # -f_ext, kept apart for the force scale
        if want_K:
            if self._data is None:
                self._data = np.zeros(self.pattern.nnz)
            data = self._data
            data.fill(0.0)
        else:
            data = np.zeros(1)
        p, bad = self.pattern, []
        for b in self.solids:
            status = np.zeros(len(b.conn), dtype=np.int64)
            assemble_solid(
                self.X, u, b.conn, b.dN, b.w, b.model_id, b.params, b.basis, b.bulk,
                b.chunk, b.color_ptr, b.color_chunks, b.kpos, p.nptr, data, R, want_K, status,
            )
            bad.append(np.flatnonzero(status))
        for b in self.pressures:
            assemble_pressure(
                self.X, u, b.conn, b.N, b.dN, b.w, lam * b.pressure, b.kpos, p.nptr,
                data, external, want_K, self.symmetric,
            )
        if self._spring_diag is not None:
            R += self.springs * u
            if want_K:
                data[self._spring_diag] += self.springs
        if self.dead_load is not None:
            external -= lam * self.dead_load
        self.external_force_norm = float(np.linalg.norm(external[~self.constrained]))
        self.reaction_norm = float(np.linalg.norm((R + external)[self.constrained]))
        R += external
        self.bad_elements = bad
        return R, (data if want_K else None), int(sum(len(x) for x in bad))

    def release_tangent(self) -> None:
        """Drop the tangent buffer; the next tangent assembly allocates a fresh one (a
        BFGS solver frees it while PARDISO factorizes: 0.6 GB at 1e6 TET10 DOF)."""
        self._data = None

    def tangent(self, data: np.ndarray):
        """The CSR tangent with constrained rows/columns replaced by identity."""
        data[self._zero_pos] = 0.0
        data[self._diag_pos] = 1.0
        return self.pattern.matrix(data)

    def element_fields(self, u: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Per block: quadrature-averaged Cauchy stress (MPa), Green–Lagrange strain, J."""
        out = []
        for b in self.solids:
            ne = len(b.conn)
            sigma, green, jac = np.empty((ne, 6)), np.empty((ne, 6)), np.empty(ne)
            element_stress(
                self.X, u, b.conn, b.dN, b.w, b.model_id, b.params, b.basis, b.bulk,
                sigma, green, jac,
            )
            out.append({"cauchy_stress": sigma, "green_lagrange_strain": green, "J": jac})
        return out
