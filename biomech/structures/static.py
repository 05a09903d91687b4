"""Static equilibrium of a beam network with contact: Newton on the manifold of nodal
rotations, optional exact removal of the 6 rigid-body modes (Lagrange multipliers),
augmented-Lagrangian contact, adaptive sub-stepping of any loading parameter, and an
optional pseudo-viscous stabilisation settled to a stated error (``Stabilisation``).

The residual is ``f_int(x, R) + Σ f_contact(x) − λ f_ext``; Newton's increment moves
translations additively and rotations by ``R ← exp(Δw) R``, the same map under which the
tangent was formed, so convergence is quadratic. Forces in N, moments in N·mm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from biomech.errors import ConvergenceError
from biomech.structures.beams import BeamModel, BeamState
from biomech.threads import one_mkl_thread, serial_numpy_blas


@dataclass
class SolveOptions:
    """Newton and contact tolerances (residual relative to the force scale)."""

    max_iterations: int = 30
    rtol: float = 1e-9
    atol: float = 1e-10
    penetration_tol: float = 1e-3  # mm
    max_augmentations: int = 12
    max_cutbacks: int = 10


@dataclass
class EquilibriumInfo:
    iterations: int
    augmentations: int
    residual: float
    penetration_mm: float
    settles: int = 0
    stabilisation_error_N: float = 0.0


@dataclass
class Stabilisation:
    """Pseudo-viscous stabilisation of nodes with next to no stiffness (crimped, slack graft
    fabric): each translation is held by a spring of ``stiffness`` (N/mm) to where it was at
    the start of the solve (a dashpot k·Δt over one step, backward Euler; Abaqus's
    "stabilize"). The solve is then repeated from where it ended ("settling") until
    ``error(x, f)`` of the spring forces f left (n, 3; N) is at most ``tolerance()`` (N): the
    state reported is an equilibrium up to that error, which callers choose as the error of
    what they report (e.g. the radial resultant for a radial force)."""

    stiffness: float
    error: Callable[[np.ndarray, np.ndarray], float]
    tolerance: Callable[[], float]
    max_settles: int = 40
    relax: float = 0.3  # each settling solve softens the springs by this factor …
    min_relax: float = 1e-2  # … down to this fraction of ``stiffness``
    anchor: np.ndarray | None = None

    def nodal_forces(self, x: np.ndarray) -> np.ndarray:
        """Spring forces (n, 3; N) at positions x."""
        return self.stiffness * (x - self.anchor)

    def forces(self, x: np.ndarray, n_dof: int) -> tuple[np.ndarray, sp.dia_matrix]:
        """Force vector and tangent on the 6-DOF layout (translations of node i: 6i..6i+2)."""
        idx = (6 * np.arange(len(x))[:, None] + np.arange(3)).ravel()
        f = np.zeros(n_dof)
        f[idx] = self.nodal_forces(x).ravel()
        d = np.zeros(n_dof)
        d[idx] = self.stiffness
        return f, sp.diags(d)

    def settle(self, state: BeamState, solve_once: Callable) -> tuple[BeamState, dict]:
        """``solve_once(state)`` from ``state`` until settled; (state, totals)."""
        totals = {"iterations": 0, "augmentations": 0, "residual": 0.0, "penetration": 0.0}
        base = self.stiffness
        try:
            for k in range(1, self.max_settles + 1):
                self.stiffness = base * max(self.relax ** (k - 1), self.min_relax)
                self.anchor = state.x.copy()
                state, its, aug, res, pen = solve_once(state)
                totals["iterations"] += its
                totals["augmentations"] += aug
                totals["residual"], totals["penetration"] = res, pen
                err = self.error(state.x, self.nodal_forces(state.x))
                if err <= self.tolerance():
                    return state, {**totals, "settles": k, "stabilisation_error_N": float(err)}
        finally:
            self.stiffness = base
        raise ConvergenceError(f"not quasi-static: after {self.max_settles} settling solves the "
                               f"stabilisation still carries {err:.3e} N (tolerance "
                               f"{self.tolerance():.3e} N)")


def direct_solve(A: sp.spmatrix, b: np.ndarray) -> np.ndarray:
    """Sparse direct solve: MKL PARDISO (unsymmetric, fresh analysis each call: contact
    changes the pattern) above 2000 unknowns, else SuperLU. Measured on the EndoBeams braid
    (20k DOF bordered by the 6 dense rigid-mode rows): PARDISO 0.23 s, SuperLU 12.3 s.

    PARDISO runs on one thread: with two its factors differ in the last bits from run to
    run, which a contact Newton amplifies into a different outcome (a deployment converging
    in one run and stalling in the next); on one thread the same input gives the same
    answer, and on this 2-core machine no slower (measured: 0.14 s against 0.16 s for a
    15.6k-unknown 3D stencil)."""
    if A.shape[0] > 2000:
        try:
            import pypardiso

            with one_mkl_thread(pypardiso.ps.libmkl):
                x = pypardiso.spsolve(sp.csr_matrix(A), np.asarray(b, float))
            if np.all(np.isfinite(x)):
                return x
        except ImportError:
            pass
    return spla.spsolve(sp.csc_matrix(A), b)


def rigid_mode_rows(x: np.ndarray, n_dof: int) -> sp.csr_matrix:
    """6 × n_dof constraint rows: zero mean translation and zero mean rotation of the nodes
    (translational DOFs only). Unbiased for self-equilibrated loads (reactions vanish)."""
    n = len(x)
    c = x - x.mean(axis=0)
    scale = np.sqrt(np.mean(np.sum(c * c, axis=1))) or 1.0
    rows, cols, vals = [], [], []
    for k in range(3):
        rows.append(np.full(n, k))
        cols.append(6 * np.arange(n) + k)
        vals.append(np.ones(n))
    for k in range(3):  # u · (e_k × c) summed
        e = np.zeros(3)
        e[k] = 1.0
        t = np.cross(e, c) / scale
        for j in range(3):
            rows.append(np.full(n, 3 + k))
            cols.append(6 * np.arange(n) + j)
            vals.append(t[:, j])
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(6, n_dof))


def bodies(n_nodes: int, beams: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """Body label of every node: nodes joined by beams or ties share one (0, 1, …)."""
    from scipy.sparse.csgraph import connected_components

    edges = np.vstack([np.asarray(beams, np.int64).reshape(-1, 2),
                       np.asarray(ties, np.int64).reshape(-1, 2)])
    graph = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])),
                          shape=(n_nodes, n_nodes))
    return connected_components(graph, directed=False)[1]


def body_rigid_mode_rows(x: np.ndarray, beams: np.ndarray, ties: np.ndarray, n_dof: int,
                         only: Sequence[int] | None = None) -> sp.csr_matrix:
    """``rigid_mode_rows`` for every separate body of the network (beams and ties join
    nodes), or for the bodies in ``only``: 6 rows per body. Unconnected rings (a stent-graft
    whose fabric is not modelled) each slide and twist freely in a frictionless catheter;
    one set of rows for the whole device would leave those modes singular."""
    label = bodies(len(x), beams, ties)
    if only is None and label.max() == 0:
        return rigid_mode_rows(x, n_dof)
    blocks = []
    for b in (range(label.max() + 1) if only is None else only):
        nodes = np.flatnonzero(label == b)
        rows = rigid_mode_rows(x[nodes], 6 * len(nodes)).tocoo()
        cols = 6 * nodes[rows.col // 6] + rows.col % 6
        blocks.append(sp.csr_matrix((rows.data, (rows.row, cols)), shape=(6, n_dof)))
    return sp.vstack(blocks, format="csr")


class Equilibrium:
    """Newton solver for one configuration of loads and contacts (see module docstring)."""

    def __init__(self, model: BeamModel, contacts: Sequence = (), *,
                 fixed: np.ndarray | None = None, rigid_modes: bool = False,
                 options: SolveOptions | None = None,
                 stabilisation: Stabilisation | None = None) -> None:
        self.model = model
        self.contacts = list(contacts)
        self.fixed = np.zeros(0, np.int64) if fixed is None else np.asarray(fixed, np.int64)
        self.rigid_modes = rigid_modes
        self.opt = options or SolveOptions()
        self.stabilisation = stabilisation

    def residual(self, state: BeamState, f_ext: np.ndarray | None):
        """Residual, tangent and trial history at ``state``."""
        f, K, trial = self.model.forces(state)
        self.internal_scale = float(np.abs(f).max())  # the force yardstick of this state
        for c in self.contacts:
            fc, Kc = c.forces(state.x, self.model.n_dof)
            f = f + fc
            K = K + Kc
        if self.stabilisation is not None and self.stabilisation.anchor is not None:
            fs, Ks = self.stabilisation.forces(state.x, self.model.n_dof)
            f = f + fs
            K = K + Ks
        if f_ext is not None:
            f = f - f_ext
        return f, K.tocsr(), trial

    def _solve_linear(self, K: sp.csr_matrix, r: np.ndarray, C) -> tuple[np.ndarray, np.ndarray]:
        n = K.shape[0]
        keep = np.ones(n, bool)
        keep[self.fixed] = False
        if C is None:
            A, b = K, -r
        else:
            A = sp.bmat([[K, C.T], [C, None]], format="csc")
            b = np.concatenate([-r, np.zeros(C.shape[0])])
            keep = np.concatenate([keep, np.ones(C.shape[0], bool)])
        idx = np.flatnonzero(keep)
        A = sp.csc_matrix(A)[idx][:, idx]
        sol = np.zeros(A.shape[0] + (~keep).sum())
        try:
            sol[idx] = direct_solve(A, b[idx])
        except RuntimeError as exc:  # exactly singular: an unconstrained mechanism
            raise ConvergenceError(f"beam network: singular tangent ({exc}); is the device "
                                   "free to drift (no contact, no constraint)?") from None
        if not np.all(np.isfinite(sol)):
            raise ConvergenceError("beam network: singular tangent; is the device free to "
                                   "drift (no contact, no constraint)?")
        return sol[:n], sol[n:]

    def _free_residual(self, r: np.ndarray, C) -> np.ndarray:
        r = r.copy()
        r[self.fixed] = 0.0
        if C is not None:  # remove the part the rigid-mode multipliers balance
            CC = (C @ C.T).toarray()
            r -= C.T @ np.linalg.solve(CC, C @ r)
        return r

    @serial_numpy_blas()
    def solve(self, state: BeamState, f_ext: np.ndarray | None = None) -> tuple[BeamState, EquilibriumInfo]:
        """Equilibrium from ``state`` (committed history); returns the new committed state.
        With a stabilisation, solved and settled until its error is within tolerance."""
        if self.stabilisation is None:
            state, its, aug, res, pen = self._solve_once(state, f_ext)
            return state, EquilibriumInfo(its, aug, res, pen)
        state, t = self.stabilisation.settle(state, lambda s: self._solve_once(s, f_ext))
        return state, EquilibriumInfo(t["iterations"], t["augmentations"], t["residual"],
                                      t["penetration"], t["settles"], t["stabilisation_error_N"])

    def _solve_once(self, state: BeamState, f_ext):
        """Newton with contact augmentation: (state, iterations, augmentations, residual,
        penetration)."""
        its = aug = 0
        while True:
            state, n, res = self._newton(state, f_ext)
            its += n
            pen = max((c.augment(state.x) for c in self.contacts), default=0.0)
            if pen <= self.opt.penetration_tol:
                break
            aug += 1
            if aug > self.opt.max_augmentations:
                raise ConvergenceError(f"contact: penetration {pen:.2e} mm after {aug - 1} "
                                       "augmentations (tolerance "
                                       f"{self.opt.penetration_tol:g} mm)")
        return state, its, aug, res, pen

    def _newton(self, state: BeamState, f_ext) -> tuple[BeamState, int, float]:
        C = body_rigid_mode_rows(state.x, self.model.links, np.zeros((0, 2), np.int64),
                                 self.model.n_dof) if self.rigid_modes else None
        committed = state.history
        r, K, trial = self.residual(state, f_ext)
        rf = self._free_residual(r, C)
        scale = max(self.internal_scale, np.abs(rf).max(),
                    0.0 if f_ext is None else np.abs(f_ext).max(), 1e-12)
        err = np.abs(rf).max()
        for it in range(1, self.opt.max_iterations + 1):
            du, _ = self._solve_linear(K, r, C)
            state, r, K, trial, rf = self._line_search(state, committed, du, f_ext, C, rf)
            err = np.abs(rf).max()
            if not np.isfinite(err):
                raise ConvergenceError("beam network: non-finite residual")
            if err <= self.opt.rtol * scale + max(self.opt.atol, self.model.force_noise()):
                return BeamState(state.x, state.R, trial), it, float(err)
        raise ConvergenceError(f"beam network: Newton did not converge in "
                               f"{self.opt.max_iterations} iterations (residual {err:.3e} N, "
                               f"scale {scale:.3e} N)")

    def _line_search(self, state, committed, du, f_ext, C, r0):
        """Backtrack the Newton step on the energy norm |du · r(u + s du)| (the residual norm
        itself may grow in a good co-rotational step: a transverse step first stretches)."""
        g0 = abs(du @ r0)
        best = None
        step = 1.0
        for _ in range(6):
            trial_state = self.model.moved(BeamState(state.x, state.R, committed), step * du)
            r, K, trial = self.residual(trial_state, f_ext)
            rf = self._free_residual(r, C)
            g = abs(du @ rf)
            if best is None or g < best[0]:
                best = (g, trial_state, r, K, trial, rf)
            if g <= 0.9 * g0:
                break
            step *= 0.5
        return best[1:]

def follow_path(step: Callable[[float], None], solve: Callable[[], object], start: float,
                stop: float, n_steps: int, *, max_cutbacks: int = 10,
                on_step: Callable[[float, object], None] | None = None,
                snapshot: Callable[[], object] | None = None,
                restore: Callable[[object], None] | None = None) -> None:
    """Drive a parameter from ``start`` to ``stop`` in ``n_steps`` equal steps, halving a
    step that fails (``ConvergenceError``) up to ``max_cutbacks`` times; ``step(value)`` sets
    the parameter, ``solve()`` finds equilibrium, ``on_step`` records each converged value."""
    value = start
    target_h = (stop - start) / n_steps
    h = target_h
    cuts = 0
    while (stop - value) * np.sign(target_h) > 1e-9 * abs(stop - start):
        h = np.sign(target_h) * min(abs(h), abs(stop - value))
        if abs(h) < 1e-9 * abs(stop - start):
            raise ConvergenceError(f"load path stalled at {value:.6g} (step {h:.3g}) on the way "
                                   f"from {start:.6g} to {stop:.6g}")
        saved = snapshot() if snapshot else None
        try:
            step(value + h)
            out = solve()
        except ConvergenceError:
            if restore:
                restore(saved)
            cuts += 1
            if cuts > max_cutbacks:
                raise
            h *= 0.5
            continue
        value += h
        if on_step:
            on_step(value, out)
        if cuts == 0:
            h = min(abs(2 * h), abs(target_h)) * np.sign(target_h)
        cuts = 0
