"""Dynamic relaxation: explicit pseudo-dynamics with mass scaling and kinetic damping, for a
beam network with fabric pressed by rigid tools (a crimping catheter, a fixed lumen).

The static residual r(x) = f_int + Σ f_contact drives M a = −r, integrated by central
differences with a unit time step. The masses are fictitious: each degree of freedom gets
``safety``/4 × the Gershgorin row sum Σ_j |K_ij| of the tangent (the fabric taken as taut,
the contact penalty added), which keeps the unit step below the stability limit 2/ω_max
(Underwood 1983; Barnes 1999). Kinetic damping: when the kinetic energy passes a peak the
velocities are zeroed (Cundall's "kinetic damping"), so the motion decays into the nearest
minimum of the potential energy (or, with ``method="fire"``, FIRE's steering and adaptive
step, faster where a wire network re-forms). The result is the same static equilibrium
Newton seeks — the solve stops only when the out-of-balance force is within tolerance —
reached without a tangent solve, so fabric with next to no stiffness (crimped, wrinkled) and contact that
switches on and off do not stall it. Contacts are penalties per node, each node's penalty a
multiple of its own stiffness (soft fabric nodes get a soft, stable penalty).

A ``hold`` (axis point and direction) removes, per connected body, the translation along the
axis and the spin about it from the motion (a pusher and the catheter's grip), and from the
residual that is checked (their reactions). Units: mm, N, N·mm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from biomech.errors import ConvergenceError
from biomech.structures.beams import BeamModel, BeamState

# FIRE: starting (step, α, steps since the last reset), the largest and smallest step (the
# unit step is the central-difference step the fictitious masses make stable), the delay
FIRE_START = (0.5, 0.1, 0)
FIRE_DT_MAX, FIRE_DT_MIN, FIRE_DELAY = 1.2, 0.02, 5

# a tool: positions (n, 3) → penetration g (n,; > 0 inside the tool) and ∂g/∂x (n, 3)
Tool = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class RelaxationOptions:
    """Tolerance on the out-of-balance force (relative to the largest internal force, plus
    an absolute floor, N), step budget, mass safety factor and contact penalty (× the node's
    own stiffness). ``budget_ends``: when the step budget runs out, the state reached is
    returned (a stage of a process, its residual reported) instead of raising."""

    rtol: float = 1e-4
    atol: float = 1e-6
    max_steps: int = 200_000
    safety: float = 2.0
    penalty: float = 1.0
    remass_every: int = 5_000
    method: str = "kinetic"  # or "fire" (see Relaxation._fire_step)
    budget_ends: bool = False


@dataclass
class RelaxationInfo:
    steps: int
    resets: int
    residual: float
    scale: float
    penetration_mm: float


def cylinder_tool(radius: float, offset: np.ndarray, point: np.ndarray, axis: np.ndarray,
                  *, inside: bool = True) -> Tool:
    """A rigid cylinder (mm) about ``axis`` through ``point``; nodes with surface offsets
    ``offset`` (mm) stay inside it (``inside``) or outside."""
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    p0 = np.asarray(point, float)
    sign = 1.0 if inside else -1.0

    def tool(x: np.ndarray):
        d = x - p0
        r = d - np.outer(d @ a, a)
        n = np.linalg.norm(r, axis=1)
        g = sign * (n - radius) + offset
        return g, sign * r / np.maximum(n, 1e-12)[:, None]
    return tool


def surface_tool(contact, x_master: np.ndarray) -> Tool:
    """A fixed triangulated surface: ``contact`` a :class:`biomech.contact.SurfaceContact`
    (its triangles, offsets and side), ``x_master`` its points (mm)."""
    xm = np.asarray(x_master, float)

    def tool(x: np.ndarray):
        return contact.fixed_gaps(x, xm)
    return tool


class Relaxation:
    """Explicit relaxation of ``model`` against ``tools`` (see the module docstring). Tied
    nodes (sutures, pinned crossings) move together: their translations are one unknown,
    so the stiff tie springs neither weigh on the masses nor slow the relaxation."""

    def __init__(self, model: BeamModel, tools: Sequence[Tool] = (), *,
                 hold: tuple[np.ndarray, np.ndarray] | None = None,
                 options: RelaxationOptions | None = None) -> None:
        from biomech.structures.static import bodies

        self.model, self.tools = model, list(tools)
        self.opt = options or RelaxationOptions()
        if self.opt.method not in ("kinetic", "fire"):
            raise ValueError(f"relaxation method {self.opt.method!r}: use 'kinetic' or 'fire'")
        n = model.n_nodes
        self.group = bodies(n, np.zeros((0, 2), np.int64), model.ties)
        self.n_groups = int(self.group.max()) + 1 if n else 0
        self.hold = None
        if hold is not None:
            a = np.asarray(hold[1], float)
            self.hold = (np.asarray(hold[0], float), a / np.linalg.norm(a),
                         bodies(n, model.links, np.zeros((0, 2), np.int64)))
        self.contact_force = np.zeros(n)  # per node, last evaluation (N)
        self.scale = 0.0

    # --- reduced unknowns: translations per tied group, then spins per node ------------------

    def _gather(self, r: np.ndarray) -> np.ndarray:
        """Nodal (n, 6) → reduced (3 groups + 3 n): a group's forces summed."""
        t = np.column_stack([np.bincount(self.group, weights=r[:, c], minlength=self.n_groups)
                             for c in range(3)])
        return np.concatenate([t.ravel(), r[:, 3:].ravel()])

    def _scatter(self, z: np.ndarray) -> np.ndarray:
        """Reduced → nodal (n, 6): every member of a group moves with it."""
        g = 3 * self.n_groups
        return np.hstack([z[:g].reshape(-1, 3)[self.group], z[g:].reshape(-1, 3)])

    def _masses(self, state: BeamState, k: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Fictitious masses (reduced; inf where a DOF has no stiffness) and the contact
        penalty per node (N/mm; ``k`` kept when given: the equilibrium depends on it)."""
        rows = self.model.stiffness_bound(state, ties=False)
        if k is None:
            k = self.opt.penalty * rows[:, :3].max(axis=1)
        rows[:, :3] += len(self.tools) * k[:, None]
        m = self._gather(0.25 * self.opt.safety * rows)
        m[m <= 0.0] = np.inf
        return m, k

    def residual(self, state: BeamState, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Out-of-balance force (n, 6), trial history, largest penetration (mm)."""
        f, trial = self.model.internal_forces(state)
        r = f.reshape(-1, 6)
        self.scale = float(np.abs(f).max())
        self.contact_force = np.zeros(len(r))
        pen = 0.0
        for tool in self.tools:
            g, dg = tool(state.x)
            on = g > 0.0
            lam = np.where(on, k * np.where(on, g, 0.0), 0.0)
            r[:, :3] += lam[:, None] * dg
            self.contact_force += lam
            pen = max(pen, float(g.max(initial=0.0)))
        return r, trial, pen

    def _modes(self, x: np.ndarray) -> np.ndarray | None:
        """Per body, its axial translation and spin about the held axis (reduced, as columns)."""
        if self.hold is None:
            return None
        c, a, label = self.hold
        cols = []
        for b in range(label.max() + 1):
            on = (label == b)[:, None]
            t = np.zeros((len(x), 6))
            t[:, :3] = a
            s = np.zeros((len(x), 6))
            s[:, :3] = np.cross(a, x - c)
            s[:, 3:] = a
            for mode in (t * on, s * on):
                z = self._gather(mode)
                z[:3 * self.n_groups] /= np.maximum(
                    np.bincount(self.group, minlength=self.n_groups), 1).repeat(3)
                cols.append(z)
        return np.stack(cols, axis=1)

    @staticmethod
    def _remove(v: np.ndarray, Phi: np.ndarray | None, w: np.ndarray) -> np.ndarray:
        """v less its components along the columns of Phi, orthogonal in the metric w."""
        if Phi is None:
            return v
        G = Phi.T @ (w[:, None] * Phi)
        return v - Phi @ np.linalg.solve(G, Phi.T @ (w * v))

    @staticmethod
    def _reaction_free(z: np.ndarray, Phi: np.ndarray | None, w: np.ndarray) -> np.ndarray:
        """The residual less the hold's reaction. At rest under the hold the residual is
        M Φ c (the motion M⁻¹ z lies in the held modes), so the reaction is removed in that
        form: z − M Φ (Φᵀ M Φ)⁻¹ Φᵀ z."""
        if Phi is None:
            return z
        WPhi = w[:, None] * Phi
        return z - WPhi @ np.linalg.solve(Phi.T @ WPhi, Phi.T @ z)

    def _fire_step(self, v, a, force, w, Phi, fire):
        """One FIRE step (Bitzek et al., Phys Rev Lett 97:170201, 2006; the half-step back on
        a reset of Guénolé et al., Comput Mater Sci 175:109584, 2020), in the metric of the
        fictitious masses: while the power F·v is positive the velocity is turned towards
        the force by α and the step grows; when it turns negative the motion stops, the step
        halves and α restarts. ``a`` = M⁻¹F; returns (v, displacement, FIRE's (step, α,
        steps since the last reset), whether it reset)."""
        dt, alpha, uphill = fire
        a = self._remove(a, Phi, w)
        if float(force @ v) > 0.0:
            vn, an = np.sqrt(float(np.sum(w * v * v))), np.sqrt(float(np.sum(w * a * a)))
            if an > 0.0:
                v = (1.0 - alpha) * v + (alpha * vn / an) * a
            uphill += 1
            if uphill > FIRE_DELAY:
                dt, alpha = min(1.1 * dt, FIRE_DT_MAX), 0.99 * alpha
            back, reset = 0.0, 0
        else:
            back = -0.5 * dt * v
            v = np.zeros_like(v)
            dt, alpha, uphill = max(0.5 * dt, FIRE_DT_MIN), FIRE_START[1], 0
            reset = 1
        v = v + dt * a
        return v, back + dt * v, (dt, alpha, uphill), reset

    # --- solution ---------------------------------------------------------------------------

    def solve(self, state: BeamState) -> tuple[BeamState, RelaxationInfo]:
        """Relax from ``state`` (at rest) to equilibrium; the history is committed."""
        opt, model = self.opt, self.model
        committed = state.history
        v = ke_last = k = None
        resets, err = 0, np.inf
        for step in range(opt.max_steps + 1):
            if step % opt.remass_every == 0:  # (re)size the masses; restart from rest
                m, k = self._masses(state, k)
                live = np.isfinite(m)
                w = np.where(live, m, 0.0)
                inv_m = np.where(live, 1.0 / np.where(live, m, 1.0), 0.0)
                v, ke_last = np.zeros(len(m)), 0.0
                fire = FIRE_START
            r, trial, pen = self.residual(state, k)
            z = self._gather(r) * live
            Phi = self._modes(state.x)
            err = float(np.abs(self._reaction_free(z, Phi, w)).max())
            if not np.isfinite(err):
                raise ConvergenceError("explicit relaxation: non-finite force (the step is "
                                       "unstable: raise RelaxationOptions.safety)")
            if err <= opt.rtol * self.scale + opt.atol or (opt.budget_ends
                                                             and step == opt.max_steps):
                return (BeamState(state.x, state.R, trial),
                        RelaxationInfo(step, resets, err, self.scale, pen))
            if opt.method == "fire":
                v, dx, fire, reset = self._fire_step(v, -z * inv_m, -z, w, Phi, fire)
                resets += reset
                state = model.moved(BeamState(state.x, state.R, committed),
                                    self._scatter(dx).ravel())
                continue
            v = self._remove(v - z * inv_m, Phi, w)
            ke = float(np.sum(w * v * v))
            if ke < ke_last:  # past a peak of kinetic energy: stop there, restart from rest
                v[:] = 0.0
                resets += 1
                ke = 0.0
            else:
                state = model.moved(BeamState(state.x, state.R, committed),
                                    self._scatter(v).ravel())
            ke_last = ke
        self.last_state = state  # where the budget ran out, for a caller's diagnosis
        raise ConvergenceError(f"explicit relaxation: out-of-balance force {err:.3e} N after "
                               f"{opt.max_steps} steps (tolerance "
                               f"{opt.rtol * self.scale + opt.atol:.3e} N)")


__all__ = ["Relaxation", "RelaxationInfo", "RelaxationOptions", "cylinder_tool",
           "surface_tool"]
