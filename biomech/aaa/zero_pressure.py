"""Zero-pressure (unloaded) geometry of an imaged vessel by backward displacement.

The imaged wall is already inflated by the blood pressure at imaging time. The reference
(stress-free) geometry X is the fixed point of X = x_img − u(X), u(X) the forward solution
from X under the imaging pressure (Bols et al., ESAIM M2AN 47:1059, 2013). Plain
iteration converges linearly; Anderson acceleration (type II, Walker & Ni, SIAM J Numer
Anal 49:1715, 2011) mixes the last few iterates. Convergence is measured by what matters:
the largest distance between the reloaded and the imaged nodes (mm). Each forward solve
starts from the previous displacement, and one linear solver (one symbolic
factorization) serves every iteration: the mesh connectivity never changes.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from biomech.errors import ConvergenceError
from biomech.fem.linear import make_linear_solver
from biomech.fem.newton import NewtonOptions, solve_incremental

__all__ = ["ZeroPressureResult", "with_reference", "zero_pressure_geometry"]


@dataclass
class ZeroPressureResult:
    """The unloaded reference points (n, 3) mm and how they were found.

    ``errors_mm``: max node distance |x(X_k) − x_img| after each forward solve (the last one
    is the verification of the returned geometry); ``displacement``: the forward solution
    from ``reference`` at the imaging pressure (mm).
    """

    reference: np.ndarray
    displacement: np.ndarray
    converged: bool
    iterations: int
    errors_mm: list[float] = field(default_factory=list)
    newton_iterations: int = 0
    wall_s: float = 0.0
    accelerated_steps: int = 0
    plain_steps: int = 0

    @property
    def error_mm(self) -> float:
        """Max distance (mm) between the reloaded reference and the imaged nodes."""
        return self.errors_mm[-1] if self.errors_mm else float("inf")

    def summary(self) -> dict:
        return {
            "method": "backward displacement with Anderson acceleration (Bols 2013)",
            "iterations": self.iterations,
            "converged": bool(self.converged),
            "max_surface_error_mm": float(self.error_mm),
            "error_history_mm": [float(e) for e in self.errors_mm],
            "newton_iterations": self.newton_iterations,
            "max_shrink_mm": float(np.linalg.norm(self.displacement, axis=1).max()),
            "wall_s": round(self.wall_s, 3),
        }


def with_reference(model, points: np.ndarray):
    """A copy of ``model`` whose mesh has the reference ``points`` (n, 3) mm (re-validated)."""
    mesh = dataclasses.replace(model.mesh, points=np.array(points, dtype=float))
    new = copy.copy(model)
    for name in ("materials", "constraints", "pressures", "tractions", "springs"):
        setattr(new, name, list(getattr(model, name)))
    new.mesh = mesh
    return new


def _anderson(G: list[np.ndarray], F: list[np.ndarray]) -> np.ndarray:
    """Type-II Anderson mixing of the iterates g_k = g(X_k) with residuals f_k = g_k − X_k."""
    dF = np.column_stack([F[i + 1] - F[i] for i in range(len(F) - 1)])
    dG = np.column_stack([G[i + 1] - G[i] for i in range(len(G) - 1)])
    gamma, *_ = np.linalg.lstsq(dF, F[-1], rcond=None)
    return G[-1] - dG @ gamma


def zero_pressure_geometry(
    model,
    *,
    tol_mm: float = 0.01,
    max_iterations: int = 25,
    history: int = 5,
    options: NewtonOptions | None = None,
    linear_solver: str = "auto",
    progress: Callable[[int, float], None] | None = None,
    initial_reference: np.ndarray | None = None,
) -> ZeroPressureResult:
    """Unloaded geometry of ``model`` (whose loads are those at imaging time).

    Iterates until the reloaded nodes lie within ``tol_mm`` (mm) of the imaged ones, or
    ``max_iterations`` forward solves; ``history`` = Anderson depth (0: plain iteration).
    ``progress(k, error_mm)`` after every forward solve; ``initial_reference`` (n, 3) mm
    starts the iteration from a known nearby answer (e.g. the nominal one, for uncertainty
    samples) instead of the imaged geometry. Raises ConvergenceError only when
    the first forward solve (the imaged geometry itself) does not converge.
    """
    t0 = time.perf_counter()
    problem = model.compile()
    x_img = problem.X.copy()
    opts = options or NewtonOptions()
    warm = dataclasses.replace(opts, steps=1, max_step_growth=1.0, min_increment=0.25)
    solver = make_linear_solver(linear_solver, n_dofs=problem.n_dofs, symmetric=True,
                                coordinates=x_img)
    out = ZeroPressureResult(x_img.copy(), np.zeros_like(x_img), False, 0)
    X = x_img.copy() if initial_reference is None else np.array(initial_reference, dtype=float)
    G: list[np.ndarray] = []
    F: list[np.ndarray] = []
    u = None
    try:
        for k in range(max_iterations):
            problem.X[:] = X
            u, its = _forward(problem, solver, opts, warm, u, (x_img - X).ravel())
            out.newton_iterations += its
            x = X + u.reshape(-1, 3)
            err = float(np.linalg.norm(x - x_img, axis=1).max())
            out.errors_mm.append(err)
            out.iterations = k + 1
            out.reference, out.displacement = X.copy(), u.reshape(-1, 3).copy()
            if progress is not None:
                progress(k + 1, err)
            if err <= tol_mm:
                out.converged = True
                break
            g = (x_img - u.reshape(-1, 3)).ravel()
            G.append(g)
            F.append(g - X.ravel())
            del G[:-(history + 1)], F[:-(history + 1)]
            X_next = _anderson(G, F) if len(G) > 1 else g
            if len(G) > 1 and not _valid(problem, X_next.reshape(-1, 3)):
                G, F = G[-1:], F[-1:]  # the mixed geometry inverts a cell: restart plainly
                X_next = g
                out.plain_steps += 1
            elif len(G) > 1:
                out.accelerated_steps += 1
            else:
                out.plain_steps += 1
            X = X_next.reshape(-1, 3)
    finally:
        problem.X[:] = x_img
        solver.release()
    out.wall_s = time.perf_counter() - t0
    return out


def _forward(problem, solver, opts, warm, u_prev, u_target):
    """Forward solve at the imaging load in one step from the better (smaller residual) of
    two guesses: the displacement that carries the current reference onto the imaged
    geometry (``u_target``, exact at convergence) and the previous displacement. If that
    Newton solve fails (carried onto a new reference a guess can be far from equilibrium, e.g.
    a nearly incompressible thrombus changing volume), load stepping from u = 0."""
    guesses = [g for g in (u_target, u_prev) if g is not None and np.any(g)]
    if not guesses:  # the imaged geometry itself: load stepping from u = 0
        res = solve_incremental(problem, solver, opts)
        return res.u, res.newton_iterations
    residuals = [_residual(problem, g) for g in guesses]
    best = int(np.argmin(residuals))
    if np.isfinite(residuals[best]):
        try:
            res = solve_incremental(problem, solver, warm, u0=guesses[best])
            return res.u, res.newton_iterations
        except ConvergenceError:
            pass  # fall back to load stepping from the unloaded state
    res = solve_incremental(problem, solver, opts)
    return res.u, res.newton_iterations


def _residual(problem, u: np.ndarray) -> float:
    R, _, n_bad = problem.assemble(u, 1.0, False)
    R[problem.constrained] = 0.0
    return float(np.linalg.norm(R)) if n_bad == 0 else np.inf


def _valid(problem, X: np.ndarray) -> bool:
    """Does reference X give finite residuals with no inverted element (at u = 0)?"""
    saved = problem.X.copy()
    try:
        problem.X[:] = X
        R, _, n_bad = problem.assemble(np.zeros(problem.n_dofs), 0.0, False)
        return n_bad == 0 and bool(np.isfinite(R).all())
    finally:
        problem.X[:] = saved
