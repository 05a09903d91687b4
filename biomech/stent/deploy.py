"""Virtual deployment: crimp a device into a catheter, place it in the vessel, release it
against the lumen, settle; the beam network and the vessel wall (a [core] FE model under
blood pressure, or a rigid surface) solved together, implicitly.

Unknowns: the beam DOFs (6 per node) then the wall DOFs (3 per node). Residual = beam
internal force + wall residual (internal − follower pressure) + contact forces (device ↔
catheter: rigid frictionless cylinder; device ↔ lumen: :class:`SurfaceContact`, augmented
Lagrangian, Coulomb friction). While the catheter holds the device, its six rigid-body
modes are held by Lagrange multipliers (catheter axis and pusher: without them a device
that momentarily loses contact in a Newton iterate floats free). The catheter is withdrawn
with them still held (the pusher: the device springs onto the wall), then they are released
and the wall contact (with friction) carries the device. Quasi-static: every reported state
is an equilibrium (residual below tolerance), so no energy balance is needed to show it.

A stent-graft with its fabric (``deploy(..., fabric=True)``): slack fabric has next to no
stiffness and stalls Newton, so the crimp and the catheter's withdrawal are done by explicit
relaxation (:mod:`biomech.structures.relaxation`: mass-scaled, kinetically damped; every
stage run to a stated out-of-balance force), the lumen rigid and frictionless; Newton then
takes the device, the deformable wall and friction on the struts from there, the fabric
nodes held by springs that are softened and settled until their force plus the
out-of-balance force left is within ``QUASI_STATIC_RTOL`` of the wall force (see
``DeploymentSolver.solve``). Deployed, the graft may take the blood pressure over
(``seal_graft``: on its fabric, off the wall it spans).
Units: mm, N, MPa.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import copy
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from biomech.errors import CaseError, ConvergenceError
from biomech.stent.placement import CentrelinePath, rotations_onto
from biomech.structures.beams import BeamModel, BeamState
from biomech.structures.relaxation import RelaxationOptions
from biomech.structures.static import SolveOptions, body_rigid_mode_rows, direct_solve
from biomech.threads import serial_numpy_blas

_NO_TIES = np.zeros((0, 2), np.int64)  # model.links already holds the ties
# explicit relaxation of a stent-graft's crimp and release: out-of-balance force within 1e-3
# of the largest internal force; Newton takes over for the final equilibria
RELAXATION = RelaxationOptions(rtol=1e-3)
RELEASE_RTOL = 1e-2  # the release by explicit relaxation only brings Newton close
# the release of a device wrapped onto a curved centreline: FIRE (kinetic damping crawls
# while a braid re-forms), to 5 % of the largest internal force, and no re-massing (each
# changes the pusher's mass-weighted grip); Newton takes it from there
CURVED_RELEASE = RelaxationOptions(rtol=5e-2, method="fire", remass_every=10**9)
# a braid is first opened there by braid kinematics to this × the lumen's radius (less its
# wire's), then released to this (its opened state, pressed on the lumen, has ~17× the
# largest internal force of the crimped one: the same force in newtons)
OPEN_TO_LUMEN = 0.9
OPENED_RELEASE = replace(CURVED_RELEASE, rtol=5e-3)
# or (release_stages > 0) the catheter, along the centreline, is withdrawn in stages, each
# STAGE_STEPS FIRE steps long (the withdrawal's pace) or less where they reach STAGE_RTOL of
# the largest internal force; then, the catheter gone, relaxed to CURVED_RELEASE. Slower,
# and its stages do not open a braid (the Newton after it does): EndoBeams braid 2437 s
# against 1214 s opened (README)
RELEASE_STAGES = 0
STAGE_STEPS = 1500
STAGE_RTOL = 1e-2
# and its Newton stabilised at every node (its mechanism-like braid modes), springs of this
# × the contact penalty (1e-3 × 100 × 12 E I / l³: a tenth of an element's transverse stiffness)
CURVED_SPRING = 1e-3
CURVED_ITERATIONS = 200  # Newton's budget there: a braid's many sliding contacts converge slowly
MAX_SETTLES = 80
# the settling's springs: ×SOFTEN per settle down to SOFTEST × the first; a settle that fails
# is undone and retried at the geometric mean with the last that settled, while that is
# softer than SOFTEN_LEAST × it
SOFTEN, SOFTEST, SOFTEN_LEAST = 0.3, 1e-3, 0.9
# Levenberg–Marquardt shift of an indefinite tangent, × |diag K| (see DeploymentSolver._step)
SHIFT_START, SHIFT_MAX = 1e-6, 1e2
# 100 × the bench's: the deployment's Newton starts from an explicit release whose fabric is
# not yet in equilibrium (the softer spring let its first steps stretch the fabric taut); the
# settling softens it to 1e-3 of this
FABRIC_SPRING = 1e-2
SEAL_STEPS = 2  # load steps moving the blood pressure from the covered wall onto the fabric


@dataclass
class Wall:
    """The vessel: a compiled FE Problem (or None for a rigid lumen), its lumen triangles
    (wall node ids), reference points (mm) and the pressure load factor applied.

    A stent-graft's seal (``sealed``, 0 → 1): the share of the blood pressure that its
    fabric carries, ``load_factor`` × ``lumen_pressure`` (MPa at load factor 1) × ``sealed``
    outward on the fabric, while the lumen faces it covers (``covering``) lose that share of
    theirs: the excluded sac, and the seal zone, where the fabric passes it on by contact."""

    problem: object | None
    points: np.ndarray
    lumen: np.ndarray
    load_factor: float = 1.0
    lumen_pressure: float = 0.0
    sealed: float = 0.0
    _full: list | None = field(default=None, repr=False)  # face pressures, and covered masks

    @property
    def n_dof(self) -> int:
        return 0 if self.problem is None else self.problem.n_dofs

    @property
    def fabric_pressure(self) -> float:
        """Blood pressure on a sealed graft's fabric now (MPa)."""
        return self.load_factor * self.lumen_pressure * self.sealed

    def covering(self, covered: Callable[[np.ndarray], np.ndarray]) -> Wall:
        """This wall with its own copy of the FE problem's pressure faces, those whose
        reference centroids (f, 3; mm) ``covered`` marks True to be unloaded by ``seal``."""
        if self.problem is None:
            return replace(self, sealed=0.0)
        problem = copy.copy(self.problem)
        problem.pressures = [replace(b, pressure=b.pressure.copy()) for b in problem.pressures]
        full = [(b.pressure.copy(), np.asarray(covered(problem.X[b.conn].mean(axis=1)), bool))
                for b in problem.pressures]
        return replace(self, problem=problem, sealed=0.0, _full=full)

    def seal(self, share: float) -> None:
        """The graft carries ``share`` of the blood pressure (see the class docstring)."""
        self.sealed = float(share)
        if self._full is None:
            return
        for b, (full, covered) in zip(self.problem.pressures, self._full):
            b.pressure[:] = np.where(covered, (1.0 - self.sealed) * full, full)


@dataclass
class Configuration:
    """Beam state (positions, rotations, history) and wall displacement (3 nw)."""

    beam: BeamState
    wall_u: np.ndarray

    def copy(self) -> Configuration:
        return Configuration(self.beam.copy(), self.wall_u.copy())


class DeploymentSolver:
    """Newton for device + wall + contacts (see the module docstring)."""

    def __init__(self, beam: BeamModel, wall: Wall, catheter, lumen_contact, *,
                 axis_point: np.ndarray, axis: np.ndarray, options: SolveOptions | None = None,
                 soft_nodes: np.ndarray | None = None, soft_stiffness: float = 0.0):
        self.beam, self.wall = beam, wall
        self.soft_nodes = np.zeros(0, np.int64) if soft_nodes is None else soft_nodes
        self.soft_stiffness = soft_stiffness  # N/mm, see solve()
        self.warm_springs, self._settled_springs = False, None  # see _first_springs()
        self._springs: tuple[float, np.ndarray] | None = None
        self._accept: float | None = None  # N: Σ|residual| that ends a stabilised Newton
        self.catheter, self.lumen = catheter, lumen_contact
        self.axis_point, self.axis = np.asarray(axis_point, float), np.asarray(axis, float)
        self.hold = True
        self.opt = options or SolveOptions()
        self.n_b = beam.n_dof
        self.n = self.n_b + wall.n_dof
        nw = len(wall.points)
        self.slave_dofs = 6 * np.arange(beam.n_nodes)[:, None] + np.arange(3)
        if wall.problem is None:
            self.master_dofs = -np.ones((nw, 3), np.int64)
            self.fixed = np.zeros(0, np.int64)
        else:
            self.master_dofs = self.n_b + 3 * np.arange(nw)[:, None] + np.arange(3)
            con = np.asarray(wall.problem.constrained).reshape(nw, 3)
            self.master_dofs[con] = -1
            self.fixed = self.n_b + np.flatnonzero(wall.problem.constrained)

    # --- assembly ---------------------------------------------------------------------------

    def wall_points(self, cfg: Configuration) -> np.ndarray:
        return self.wall.points + cfg.wall_u.reshape(-1, 3) if self.wall.n_dof else self.wall.points

    def residual(self, cfg: Configuration):
        """Residual (n), tangent (CSR n × n), trial beam history."""
        fb, Kb, trial = self.beam.forces(cfg.beam)
        self.internal_scale = float(np.abs(fb).max())  # the force yardstick of this state
        if self.wall.fabric_pressure:  # blood on a sealed graft's fabric
            fp, Kp = self.beam.fabric_pressure(cfg.beam, self.wall.fabric_pressure)
            fb, Kb = fb - fp, Kb - Kp
        blocks = [Kb]
        r = np.zeros(self.n)
        r[:self.n_b] = fb
        if self.wall.problem is not None:
            R, data, n_bad = self.wall.problem.assemble(cfg.wall_u, self.wall.load_factor, True)
            if n_bad:
                raise ConvergenceError(f"vessel wall: {n_bad} inverted elements")
            R[self.wall.problem.constrained] = 0.0
            r[self.n_b:] = R
            blocks.append(self.wall.problem.tangent(data))
        K = sp.block_diag(blocks, format="csr")
        if self._springs is not None:
            k, anchor = self._springs
            dofs = (6 * self.soft_nodes[:, None] + np.arange(3)).ravel()
            r[dofs] += k * (cfg.beam.x[self.soft_nodes] - anchor).ravel()
            d = np.zeros(self.n)
            d[dofs] = k
            K = K + sp.diags(d)
        if self.catheter is not None:
            fc, Kc = self.catheter.forces(cfg.beam.x, self.n)
            r += fc
            K = K + Kc
        if self.lumen is not None:
            fl, Kl = self.lumen.forces(cfg.beam.x, self.wall_points(cfg), self.slave_dofs,
                                       self.master_dofs, self.n)
            r += fl
            K = K + Kl
        return r, K.tocsr(), trial

    def _moved(self, cfg: Configuration, committed: np.ndarray, du: np.ndarray) -> Configuration:
        b = self.beam.moved(BeamState(cfg.beam.x, cfg.beam.R, committed), du[:self.n_b])
        return Configuration(b, cfg.wall_u + du[self.n_b:])

    def _constraints(self, cfg: Configuration):
        """While held (catheter + pusher), the device's 6 rigid-body modes: the catheter keeps
        it on its axis and the pusher keeps it in place; reactions are reported."""
        if self.hold is False or (self.hold is not True and not len(self.hold)):
            return None
        only = None if self.hold is True else self.hold
        return body_rigid_mode_rows(cfg.beam.x, self.beam.links, _NO_TIES, self.n, only)

    def _linear(self, K, r, C):
        keep = np.ones(self.n, bool)
        keep[self.fixed] = False
        if C is not None:
            K = sp.bmat([[K, C.T], [C, None]], format="csc")
            r = np.concatenate([r, np.zeros(C.shape[0])])
            keep = np.concatenate([keep, np.ones(C.shape[0], bool)])
        idx = np.flatnonzero(keep)
        A = sp.csc_matrix(K)[idx][:, idx]
        sol = np.zeros(len(keep))
        try:
            sol[idx] = direct_solve(A, -r[idx])
        except RuntimeError as exc:
            raise ConvergenceError(f"deployment: singular tangent ({exc})") from None
        if not np.all(np.isfinite(sol)):
            raise ConvergenceError("deployment: singular tangent (device free to drift?)")
        return sol[:self.n]

    def _step(self, K, r, rf, C, shift: float) -> tuple[np.ndarray, float]:
        """Newton step ``du`` and the shift used. Where the tangent is indefinite (a wire node
        rolling over a convex edge of the faceted lumen has the negative stiffness −λ/d of
        that edge; compressed wires theirs) the Newton step may climb the energy (du·r > 0)
        towards a saddle, and the line search then stalls at tiny steps. The tangent is then
        shifted, K + μ |diag K| with μ from ``shift`` (at least ``SHIFT_START``) ×10 until
        the step descends (Levenberg–Marquardt; Nocedal & Wright, Numerical Optimization,
        §3.4). The residual is not changed, so neither is the equilibrium reached; the shift
        decays ×0.1 per iteration, giving back Newton's quadratic convergence."""
        while True:
            if shift == 0.0:
                du = self._linear(K, r, C)
            else:
                try:
                    du = self._linear(K + sp.diags(shift * np.abs(K.diagonal())), r, C)
                except ConvergenceError:  # a shift that makes an eigenvalue zero: shift more
                    du = None
            if du is not None and (du @ rf <= 0.0 or shift >= SHIFT_MAX):
                return du, shift
            if shift >= SHIFT_MAX:
                raise ConvergenceError("deployment: singular tangent, shifted or not")
            shift = max(10.0 * shift, SHIFT_START)

    @staticmethod
    def _force_total(rf: np.ndarray) -> float:
        """Σ|r| of the free residual, device and wall, forces (N) and moments (N·mm, as per
        1 mm of arm) alike: it bounds the error of any resultant of the contact forces."""
        return float(np.abs(rf).sum())

    def _free(self, r, C):
        r = r.copy()
        r[self.fixed] = 0.0
        if C is not None:
            r -= C.T @ np.linalg.solve((C @ C.T).toarray(), C @ r)
        return r

    # --- solution ---------------------------------------------------------------------------

    @serial_numpy_blas()
    def solve(self, cfg: Configuration) -> tuple[Configuration, dict]:
        """Equilibrium from ``cfg`` with contact augmentation; commits history and friction.

        With ``soft_nodes`` (a stent-graft's fabric, next to no stiffness when slack) each
        solve holds them by springs of ``soft_stiffness`` (or warm: ``_first_springs``) to
        where they were (a dashpot over the step, Abaqus's "stabilize"; a warm start that
        fails is undone and stiffened) and is repeated from where it ended, the springs
        softened ×0.3 per solve to 1e-3 of it (a solve whose Newton fails is undone and
        retried with them softened less: the geometric mean with the last that settled;
        which round-off decides, not the physics), until the springs' total force plus the
        out-of-balance force Σ|r| left is within ``QUASI_STATIC_RTOL`` of the wall force (at
        least ``QUASI_STATIC_ATOL``): a bound on the error of the reported forces. Each such
        Newton stops once Σ|r| is under half that tolerance (the fabric's tension-field kinks
        keep it from the strict tolerance; one that stalls within the whole tolerance hands
        its best iterate on). Otherwise ConvergenceError "not quasi-static"."""
        if not len(self.soft_nodes) or not self.soft_stiffness:
            return self._solve_once(cfg)
        its, tol = 0, self._settling_tolerance()
        k, settled_k = self._first_springs(), None  # settled_k: the springs of the last settle
        try:
            for settle in range(1, MAX_SETTLES + 1):
                start = cfg.copy(), self.saved_contacts()
                self._springs = (k, cfg.beam.x[self.soft_nodes].copy())
                self._accept = 0.5 * tol
                try:
                    cfg, info = self._solve_once(cfg)
                except ConvergenceError:
                    if settled_k is None and k < self.soft_stiffness:
                        k = min(self.soft_stiffness, k / SOFTEN**2)  # a warm start too soft
                    elif settled_k is None or k > SOFTEN_LEAST * settled_k:
                        raise
                    else:  # retried with springs softened less
                        k = float(np.sqrt(k * settled_k))
                    cfg = start[0]  # undone first
                    self.restore_contacts(start[1])
                    continue
                its += info["iterations"]
                spring = k * np.linalg.norm(cfg.beam.x[self.soft_nodes] - self._springs[1],
                                            axis=1).sum()
                tol = self._settling_tolerance()
                error = spring + info["out_of_balance_N"]
                if error <= tol:
                    self._settled_springs = k
                    return cfg, {**info, "iterations": its, "settles": settle,
                                 "stabilisation_N": float(error)}
                settled_k = k
                k = max(SOFTEN * k, SOFTEST * self.soft_stiffness)
        finally:
            self._springs, self._accept = None, None
        raise ConvergenceError(f"not quasi-static: after {MAX_SETTLES} settling solves the "
                               f"fabric's stabilisation and the out-of-balance force still "
                               f"carry {error:.3e} N (tolerance {tol:.3e} N)")

    def _first_springs(self) -> float:
        """Springs (N/mm) of a solve's first settle: ``soft_stiffness``, or with
        ``warm_springs`` (fabric under blood pressure, no longer slack: the sealing and the
        steps to systole) ``1/SOFTEN²`` × those the last solve settled with, at most that."""
        if self.warm_springs and self._settled_springs is not None:
            return min(self.soft_stiffness, self._settled_springs / SOFTEN**2)
        return self.soft_stiffness

    def saved_contacts(self) -> tuple:
        """Copies of the contacts' state a solve changes (lumen multipliers and friction
        anchors, catheter multipliers and radius), for ``restore_contacts``."""
        return (None if self.lumen is None else self.lumen.saved(),
                None if self.catheter is None else
                (self.catheter.multipliers.copy(), self.catheter.radius))

    def restore_contacts(self, saved: tuple) -> None:
        """Back to ``saved_contacts()``: a failed solve or step undone."""
        if self.lumen is not None:
            self.lumen.restore(saved[0])
        if self.catheter is not None:
            self.catheter.multipliers, self.catheter.radius = saved[1][0].copy(), saved[1][1]

    def _settling_tolerance(self) -> float:
        """Error allowed to the reported forces (N): ``QUASI_STATIC_RTOL`` × the wall force
        now, ``QUASI_STATIC_ATOL`` at least."""
        from biomech.stent.bench import QUASI_STATIC_ATOL, QUASI_STATIC_RTOL

        load = self.lumen.contact_forces().sum() if self.lumen is not None else 0.0
        return max(QUASI_STATIC_RTOL * load, QUASI_STATIC_ATOL)

    def _solve_once(self, cfg: Configuration) -> tuple[Configuration, dict]:
        its = aug = 0
        while True:
            cfg, n, res, out_of_balance = self._newton(cfg)
            its += n
            err = 0.0
            if self.catheter is not None:
                err = max(err, self.catheter.augment(cfg.beam.x))
            if self.lumen is not None:
                err = max(err, self.lumen.augment(cfg.beam.x, self.wall_points(cfg)))
            if err <= self.opt.penetration_tol:
                break
            aug += 1
            if aug > self.opt.max_augmentations:
                raise ConvergenceError(f"contact: complementarity error {err:.2e} mm after "
                                       f"{aug - 1} augmentations")
        if self.lumen is not None:
            self.lumen.commit()
        return cfg, {"iterations": its, "augmentations": aug, "residual": res,
                     "contact_error_mm": err, "out_of_balance_N": out_of_balance}

    def _newton(self, cfg: Configuration):
        committed = cfg.beam.history
        C = self._constraints(cfg)
        r, K, trial = self.residual(cfg)
        rf = self._free(r, C)
        scale = max(np.abs(rf).max(), self.internal_scale, 1e-9)
        err = np.abs(rf).max()
        least = None  # (Σ|r|, state, max |r|) of the best iterate
        shift = 0.0
        for it in range(1, self.opt.max_iterations + 1):
            du, shift = self._step(K, r, rf, C, shift)
            g0 = abs(du @ rf)
            step, best = 1.0, None
            for _ in range(8):  # energy line search (see structures.static)
                trial_cfg = self._moved(cfg, committed, step * du)
                try:
                    r2, K2, trial2 = self.residual(trial_cfg)
                except ConvergenceError:  # an iterate that inverts wall elements: shorter step
                    step *= 0.5
                    continue
                rf2 = self._free(r2, C)
                g = abs(du @ rf2)
                if best is None or g < best[0]:
                    best = (g, trial_cfg, r2, K2, trial2, rf2)
                if g <= 0.9 * g0:
                    break
                step *= 0.5
            if best is None:
                raise ConvergenceError("deployment: every line-search iterate inverts wall "
                                       "elements")
            _, cfg, r, K, trial, rf = best
            shift = 0.1 * shift if shift > SHIFT_START else 0.0
            err = np.abs(rf).max()
            if not np.isfinite(err):
                raise ConvergenceError("deployment: non-finite residual")
            total = self._force_total(rf)
            done = Configuration(BeamState(cfg.beam.x, cfg.beam.R, trial), cfg.wall_u)
            if (err <= self.opt.rtol * scale + max(self.opt.atol, self.beam.force_noise())
                    or (self._accept is not None and total <= self._accept)):
                return done, it, float(err), total
            if least is None or total < least[0]:
                least = (total, done, float(err))
        if self._accept is not None and least[0] <= 2.0 * self._accept:
            # stalled on the fabric's kinks but within the settling tolerance: the settling
            # counts Σ|r| in its error and goes on from here
            return least[1], self.opt.max_iterations, least[2], least[0]
        raise ConvergenceError(f"deployment: Newton did not converge in {self.opt.max_iterations} "
                               f"iterations (residual {err:.3e} N, scale {scale:.3e} N)")


def _wall_penalty(wall: Wall) -> float:
    """Contact penalty (N/mm) matched to the wall: 0.1 × its bulk modulus × the mean lumen
    edge (≈ 10 × shear modulus × edge for the nearly incompressible walls used here). A
    penalty set by the struts inverts a soft wall's elements under the apexes; the augmented
    Lagrangian removes the penetration instead."""
    if wall.problem is None:
        return np.inf
    bulk = max(float(np.max(b.bulk)) for b in wall.problem.solids)
    t = wall.lumen
    edge = np.linalg.norm(wall.points[t[:, 1]] - wall.points[t[:, 0]], axis=1).mean()
    return 0.1 * bulk * edge


def _unsupported(model: BeamModel, lumen, x: np.ndarray, point: np.ndarray,
                 axis: np.ndarray) -> list[int]:
    """Bodies of the device that the wall does not hold all round (no contact, or contacts
    all on one side: the largest angular gap between them about the axis ≥ 180°). They stay
    held when the pusher lets go (rings of a stent-graft hanging in the sac, carried by the
    fabric that is not modelled); with friction the wall holds the others. A frictionless
    wall holds nothing axially, so the caller keeps every body held then."""
    from biomech.structures.static import bodies

    label = bodies(model.n_nodes, model.links, _NO_TIES)
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    e1 = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(a, e1)
    rel = x - np.asarray(point, float)
    angle = np.arctan2(rel @ e2, rel @ e1)
    on_wall = lumen.contact_forces() > 0
    held = []
    for b in range(label.max() + 1):
        t = np.sort(angle[(label == b) & on_wall])
        if len(t) < 3 or np.diff(np.append(t, t[0] + 2 * np.pi)).max() >= np.pi:
            held.append(b)
    return held


def place(state: BeamState, point: np.ndarray, axis: np.ndarray) -> BeamState:
    """Move a device-frame state (axis +z from z = 0) so that z = 0 sits at ``point`` and +z
    runs along ``axis``; nodal rotations follow the rigid rotation."""
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    Q = rotations_onto(np.array([[0.0, 0.0, 1.0]]), a[None])[0]
    return BeamState(state.x @ Q.T + np.asarray(point, float), Q @ state.R, state.history)


def check_crimped_span(z: np.ndarray, limits: tuple[float, float], catheter_mm: float) -> None:
    """CaseError if a crimped device (node heights z along the catheter from the landing,
    mm) leaves ``limits`` (mm from the landing), saying how far the landing may move."""
    lo, hi = float(z.min()), float(z.max())
    if lo >= limits[0] - 1e-9 and hi <= limits[1] + 1e-9:
        return
    first, last = limits[0] - lo, limits[1] - hi
    where = (f"move the landing by {first:+.1f} to {last:+.1f} mm (+: away from the inlet)"
             if first <= last else "it does not fit in this vessel at any landing")
    raise CaseError(f"crimped to {catheter_mm:.1f} mm the device is {hi - lo:.1f} mm long "
                    f"(braids lengthen when crimped) and would reach from {lo:+.1f} to "
                    f"{hi:+.1f} mm of the landing, beyond {limits[0]:+.1f} to {limits[1]:+.1f} "
                    f"mm (the vessel less half its clamped ends): {where}")


def device_gaps(solver: DeploymentSolver, cfg: Configuration, radius: float = 10.0) -> np.ndarray:
    """Gap (mm) between each device node's outer surface and the lumen (≤ 0: in contact;
    inf: no lumen within ``radius`` mm)."""
    return -solver.lumen.gaps(cfg.beam.x, solver.wall_points(cfg), radius).gap


__all__: Sequence[str] = ["Configuration", "DeploymentSolver", "Wall", "check_crimped_span",
                          "device_gaps", "load_path", "place", "seal_graft"]


def load_path(solver: DeploymentSolver, cfg: Configuration, set_load: Callable[[float], None],
              start: float, stop: float, steps: int,
              on_step: Callable[[float, dict], None] | None = None
              ) -> tuple[Configuration, dict]:
    """Equilibria along a load parameter (``set_load``) from ``start`` to ``stop`` in
    ``steps`` steps, each halved on divergence (at most 3 times), a failed step undone with
    its contacts' state; the last configuration and solve info, iterations summed.
    ``on_step(value, info)`` after each converged step."""
    from biomech.structures.static import follow_path

    box = {"cfg": cfg.copy(), "info": None, "its": 0}

    def solve():
        box["cfg"], box["info"] = solver.solve(box["cfg"])
        box["its"] += box["info"]["iterations"]
        return box["info"]

    def snap():
        return box["cfg"].copy(), solver.saved_contacts()

    def restore(s) -> None:
        box["cfg"] = s[0].copy()
        solver.restore_contacts(s[1])

    follow_path(set_load, solve, start, stop, steps, max_cutbacks=3, on_step=on_step,
                snapshot=snap, restore=restore)
    return box["cfg"], {**box["info"], "iterations": box["its"]}


def seal_graft(solver: DeploymentSolver, cfg: Configuration,
               covered: Callable[[np.ndarray], np.ndarray],
               steps: int = SEAL_STEPS, sac_share: float = 0.0,
               fabric_friction: bool = True) -> tuple[Configuration, dict]:
    """Move the blood pressure onto a deployed stent-graft's fabric (``Wall.seal`` 0 → 1):
    the graft now carries it, outward on its fabric, and the lumen faces whose reference
    centroids ``covered`` marks (those the graft spans) lose theirs: the sac is excluded and
    the seal zone gets the pressure through the fabric by contact. ``sac_share`` (0–1): an
    endoleak's residual sac pressure as a share of the lumen's; the covered faces keep it
    and the fabric carries the difference (``Wall.seal`` to 1 − ``sac_share``; 0: a sealed
    graft). Pressed on the wall, the fabric holds by the struts' Coulomb friction
    (frictionless while it deployed: its slack folds must slide to open), which also stops
    the tangential creep of slack fabric that keeps the settling going (SG28: 280 → 76 s);
    where that does not converge (stick–slip of slack fabric nodes: a 12 mm graft in a rigid
    tube), it is undone and sealed frictionless (at once when not ``fabric_friction``).
    The solver keeps the covering wall; the
    sealed configuration and info (``fabric_friction``: whether the fabric held by friction)."""
    if not 0.0 <= sac_share < 1.0:
        raise ValueError(f"sac_share {sac_share:g}: the sac keeps a share 0 ≤ s < 1 of the "
                         "lumen pressure")
    solver.wall = solver.wall.covering(covered)
    start = cfg.copy(), solver.saved_contacts(), solver.warm_springs
    target = 1.0 - sac_share  # the fabric's share
    fabric = np.unique(solver.beam.membranes)

    def warm(*_) -> None:  # once under pressure (on the wall or taut), the settles start
        solver.warm_springs = True  # near where the last ended; the first step from the top

    rough = fabric_friction and solver.lumen is not None and solver.lumen.friction > 0.0
    if rough:
        solver.lumen.friction_mask[fabric] = 1.0
        try:
            out, info = load_path(solver, cfg, solver.wall.seal, 0.0, target, steps, on_step=warm)
            return out, {**info, "fabric_friction": True}
        except ConvergenceError:  # undone, and sealed frictionless
            solver.lumen.friction_mask[fabric] = 0.0
            solver.restore_contacts(start[1])
            solver.wall.seal(0.0)
            solver.warm_springs = start[2]
    out, info = load_path(solver, start[0], solver.wall.seal, 0.0, target, steps, on_step=warm)
    return out, {**info, "fabric_friction": False}


def fabric_spring(model: BeamModel) -> float:
    """Stabilising spring (N/mm) of a fabric node in deployment: ``FABRIC_SPRING`` × the
    fabric's membrane stiffness E t / (1 − ν²); 0 without fabric."""
    if not len(model.membranes):
        return 0.0
    m = model.membrane_material
    return FABRIC_SPRING * m["E"] * model.membrane_thickness / (1.0 - m["nu"] ** 2)


def relaxed_crimp(model: BeamModel, from_mm: float, to_mm: float, steps: int):
    """Crimp ``model`` (device frame, axis +z) from ``from_mm`` to ``to_mm`` in a rigid
    frictionless cylinder by explicit relaxation, ``steps`` equilibria; the force curve with
    its states."""
    from biomech.stent.bench import RadialForceCurve
    from biomech.structures.relaxation import Relaxation, cylinder_tool

    origin, z = np.zeros(3), np.array([0.0, 0.0, 1.0])
    curve = RadialForceCurve()
    state = model.initial_state()
    half = model.half_thickness()
    for d in np.linspace(from_mm, to_mm, steps + 1)[1:]:
        relax = Relaxation(model, [cylinder_tool(0.5 * d, half, origin, z)], hold=(origin, z),
                           options=RELAXATION)
        state, info = relax.solve(state)
        curve.diameter_mm.append(float(d))
        curve.force_N.append(float(relax.contact_force.sum()))
        curve.phase.append("crimp")
        curve.contact_nodes.append(int(np.count_nonzero(relax.contact_force)))
        curve.max_strain.append(float(model.peak_strains(state).max()))
        curve.stabilisation_N.append(0.0)
        curve.newton_iterations += info.steps
        curve.states.append(state.copy())
    return curve


def relaxed_release(model: BeamModel, state: BeamState, lumen, wall_points: np.ndarray,
                    point: np.ndarray, axis: np.ndarray,
                    options: RelaxationOptions | None = None) -> tuple[BeamState, dict]:
    """Withdraw the catheter from the crimped ``state`` and let the device spring onto the
    lumen (``lumen``'s triangles at ``wall_points``, rigid and frictionless) by explicit
    relaxation, the pusher holding it about (``point``, ``axis``); to ``RELEASE_RTOL`` (or
    ``options``), a start for Newton. The state and its figures."""
    from biomech.structures.relaxation import Relaxation, surface_tool

    relax = Relaxation(model, [surface_tool(lumen, wall_points)], hold=(point, axis),
                       options=options or RelaxationOptions(rtol=RELEASE_RTOL))
    state, info = relax.solve(state)
    return state, {"relaxation_steps": info.steps, "residual": info.residual,
                   "contact_error_mm": info.penetration_mm,
                   "wall_force_N": float(relax.contact_force.sum()),
                   "contact_force": relax.contact_force}


def progressive_release(model: BeamModel, state: BeamState, lumen, wall_points: np.ndarray,
                        point: np.ndarray, axis: np.ndarray, path: CentrelinePath,
                        open_mm: float, stages: int) -> tuple[BeamState, dict]:
    """Release a device wrapped onto the centreline ``path`` (``state``, reopened to
    ``open_mm`` mm) as a catheter along the path is withdrawn: its tip
    (:meth:`CentrelinePath.catheter`, radius ``open_mm``/2, its funnel) goes from the
    device's far end (largest arc) to its near end in ``stages`` stages, each relaxed by FIRE
    for ``STAGE_STEPS`` steps (fewer where it reaches ``STAGE_RTOL``: the stages are the
    withdrawal's pace, not equilibria) against the catheter and the lumen (``lumen``'s triangles at
    ``wall_points``, rigid, frictionless), the pusher holding the device about (``point``,
    ``axis``); so each section opens, and the braid shortens, as it leaves the tip. Then,
    the catheter gone, :func:`relaxed_release` to ``CURVED_RELEASE``. The state and its
    figures (as ``relaxed_release``'s, with ``release_stages``)."""
    from biomech.structures.relaxation import Relaxation, surface_tool

    wall, half = surface_tool(lumen, wall_points), model.half_thickness()
    stage = replace(CURVED_RELEASE, rtol=STAGE_RTOL, max_steps=STAGE_STEPS, budget_ends=True)
    arc = path.arc_of(state.x)
    steps = 0
    for tip in np.linspace(arc.max(), arc.min(), stages):
        catheter = path.catheter(float(tip), 0.5 * open_mm, half)
        state, info = Relaxation(model, [wall, catheter], hold=(point, axis),
                                 options=stage).solve(state)
        steps += info.steps
    state, figures = relaxed_release(model, state, lumen, wall_points, point, axis,
                                     CURVED_RELEASE)
    figures["relaxation_steps"] += steps
    return state, {**figures, "release_stages": stages}


def braid_opened(model: BeamModel, network, state: BeamState, path: CentrelinePath,
                 lumen_points: np.ndarray) -> BeamState:
    """A crimped braid wrapped onto ``path`` (``state``) opened by braid kinematics
    (:meth:`CentrelinePath.opened`) to ``OPEN_TO_LUMEN`` × the radius of the lumen (its
    surface nodes ``lumen_points``, mm) less half its wire, section by section; unchanged
    unless it lengthened when crimped (not a braid)."""
    made = network.nodes
    made_mm = float(np.ptp(made[:, 2])), 2.0 * float(np.hypot(made[:, 0], made[:, 1]).mean())
    lumen_radius = path.lumen_radius(lumen_points)
    half = float(model.half_thickness().max())
    return path.opened(state, np.asarray(model.beams), made_mm,
                       lambda s: OPEN_TO_LUMEN * lumen_radius(s) - half)


def deploy(network, wall: Wall, *, point: np.ndarray, axis: np.ndarray,
           catheter_diameter_mm: float, release_diameter_mm: float, friction: float = 0.1,
           steps: int = 10, penalty: float | None = None, keep_states: bool = False,
           wall_u0: np.ndarray | None = None,
           check_crimped: Callable[[BeamState], None] | None = None,
           fabric: bool = False, centreline: CentrelinePath | None = None,
           landing_s_mm: float = 0.0, open_mm: float | None = None,
           release_stages: int = RELEASE_STAGES) -> dict:
    """Crimp ``network`` into a catheter (``check_crimped`` may refuse the crimped state, in
    the device frame, with CaseError: braids lengthen), place its z = 0 end at ``point``
    along ``axis``,
    open the catheter to ``release_diameter_mm`` (short of the wall, or beyond the lumen to
    press the device on), withdraw it with the pusher holding the device's rigid modes, then
    let go of the device and settle. Returns the solver, the final
    configuration, the catheter path and the states (when ``keep_states``), the crimp curve
    and the crimped device in place (``crimped``, before its release). ``wall_u0``: the
    wall's displacement before deployment (its equilibrium under the blood pressure).

    ``fabric``: a stent-graft is deployed with its graft fabric — crimped and released onto
    the lumen (rigid, frictionless) by explicit relaxation, then solved by Newton with the
    fabric stabilised and settled, frictionless on the wall (its friction is counted in the
    migration margin only; ``seal_graft`` then loads it). False (default): its rings alone.

    ``centreline``: the delivery may follow the vessel, used when ``check_crimped`` returns
    True (a device too long for a straight catheter in a tortuous artery; rings and wire
    networks, no fabric). The device is crimped and the catheter reopened to ``open_mm`` (short of the narrowest lumen) by Newton in a
    straight rigid tube, then the device is wrapped onto the centreline with its z = 0 end at
    ``landing_s_mm`` (:mod:`biomech.stent.placement`), let go onto the rigid lumen by
    explicit relaxation (FIRE) after a braid is opened there by braid kinematics
    (``braid_opened``; the morphing EndoBeams.jl also starts from), and solved by Newton with
    the deformable wall. ``release_stages`` > 0: instead released as a catheter along the
    centreline is withdrawn in that many stages (``progressive_release``; slower)."""
    from biomech.contact import RigidCylinder
    from biomech.contact.surface import SurfaceContact
    from biomech.stent.bench import _penalty, outer_diameter, radial_force_test
    from biomech.structures.beams import beam_model
    from biomech.structures.static import follow_path

    model = beam_model(network, fabric=fabric)
    fabric = np.unique(model.membranes)
    if centreline is not None and len(fabric):
        raise ValueError("a stent-graft with its fabric is deployed from a straight catheter")
    if len(fabric):  # explicit relaxation: the slack fabric stalls Newton (module docstring)
        crimp = relaxed_crimp(model, outer_diameter(network), catheter_diameter_mm, steps)
    else:
        crimp = radial_force_test(network, catheter_diameter_mm, steps=steps, release=False,
                                  keep_states=True, fabric=False)  # the rings alone
    curved = bool(check_crimped(crimp.states[-1])) if check_crimped is not None else False
    if curved and centreline is None:
        raise ValueError("the crimped device needs a curved delivery: pass its centreline")
    if curved:  # crimped again and reopened short of the lumen, then carried along the vessel
        crimp = radial_force_test(network, catheter_diameter_mm, steps=steps, release=True,
                                  reopen_mm=open_mm, keep_states=True, fabric=False)
        state = centreline.wrap(crimp.states[-1], landing_s_mm)
    else:
        state = place(crimp.states[-1], point, axis)
    k = penalty or _penalty(model)
    half = model.half_thickness()
    catheter = RigidCylinder(0.5 * catheter_diameter_mm, k, half, axis_point=np.asarray(point, float),
                             axis_direction=np.asarray(axis, float))
    lumen = SurfaceContact(wall.lumen, half, min(k, _wall_penalty(wall)), friction=friction)
    lumen.friction_mask[fabric] = 0.0  # the fabric slides; its friction is counted after
    soft, spring = fabric, fabric_spring(model)
    if curved:  # a wire network let go from its wrap: every node stabilised, then settled
        soft, spring = np.arange(model.n_nodes), CURVED_SPRING * k
    solver = DeploymentSolver(model, wall, catheter, lumen, axis_point=point, axis=axis,
                              options=SolveOptions(max_iterations=CURVED_ITERATIONS if curved
                                                   else 50), soft_nodes=soft,
                              soft_stiffness=spring)
    u0 = np.zeros(wall.n_dof) if wall_u0 is None else np.asarray(wall_u0, float).copy()
    box = {"cfg": Configuration(state, u0)}
    crimped = box["cfg"].copy()  # in the catheter, placed (or wrapped) at the landing
    history: list[dict] = []

    def set_radius(d: float) -> None:
        catheter.radius = 0.5 * d

    def solve():
        box["cfg"], info = solver.solve(box["cfg"])
        return info

    def record(d: float, info) -> None:
        history.append({"catheter_diameter_mm": d, **info,
                        "catheter_force_N": float(catheter.contact_forces().sum()),
                        "wall_force_N": float(lumen.contact_forces().sum())})
        if keep_states:
            history[-1]["state"] = box["cfg"].copy()

    def snap():  # everything a failed step may leave changed: state and contacts
        return box["cfg"].copy(), solver.saved_contacts()

    def restore(s) -> None:
        box["cfg"] = s[0].copy()
        solver.restore_contacts(s[1])

    points = solver.wall_points(box["cfg"])
    if curved and release_stages:  # the catheter withdrawn along the centreline (explicit)
        beam, info = progressive_release(model, state, lumen, points, point, axis, centreline,
                                         crimp.diameter_mm[-1], release_stages)
    elif curved:  # opened along the centreline, then let go at once (explicit)
        state = braid_opened(model, network, state, centreline, points[np.unique(wall.lumen)])
        beam, info = relaxed_release(model, state, lumen, points, point, axis, OPENED_RELEASE)
    elif len(fabric):  # the catheter withdrawn at once (explicit)
        beam, info = relaxed_release(model, state, lumen, points, point, axis)
    if len(fabric) or curved:
        box["cfg"] = Configuration(beam, u0)
        lumen.multipliers = info.pop("contact_force")  # Newton starts from these forces
        history.append({"catheter_diameter_mm": None, **info})
        if keep_states:
            history[-1]["state"] = box["cfg"].copy()
    else:
        solve()  # the crimped device held in the catheter, in place
        follow_path(set_radius, solve, catheter_diameter_mm, release_diameter_mm, steps,
                    on_step=record, snapshot=snap, restore=restore)
    solver.catheter = None  # catheter withdrawn: the device springs onto the wall, the
    box["cfg"], info = solver.solve(box["cfg"])  # pusher still holding its rigid modes
    history.append({"catheter_diameter_mm": None, **info,
                    "wall_force_N": float(lumen.contact_forces().sum())})
    if keep_states:
        history[-1]["state"] = box["cfg"].copy()
    held = box["cfg"].copy(), lumen.multipliers.copy()
    solver.hold = _unsupported(model, lumen, box["cfg"].beam.x, point, axis) \
        if friction > 0.0 else True
    released = True
    try:
        box["cfg"], info = solver.solve(box["cfg"])  # then lets go of what the wall carries
    except ConvergenceError:  # the wall alone found no equilibrium: the pusher stays
        box["cfg"], lumen.multipliers = held[0], held[1]
        solver.hold, released = True, False
        box["cfg"], info = solver.solve(box["cfg"])
    history.append({"catheter_diameter_mm": None, **info,
                    "wall_force_N": float(lumen.contact_forces().sum())})
    return {"solver": solver, "configuration": box["cfg"], "history": history,
            "crimp": crimp, "crimped": crimped, "released": released, "curved_delivery": curved}
