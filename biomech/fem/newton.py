"""Incremental Newton–Raphson with line search and adaptive load stepping.

The problem supplies ``assemble(u, lam, want_K) -> (R, data, n_bad)`` (R = f_int - f_ext,
``data`` the tangent's CSR values, ``n_bad`` the number of inverted elements), the
constrained-dof mask and the prescribed displacements. Converged when the residual norm
drops below ``rtol`` times the larger of the step's first residual and the applied
load/reaction norm (or below ``atol``), and the energy norm |du·R| below ``etol`` times
the first one.

The linear solver needs ``factorize(K)`` and ``solve(b)``; with ``load(K)``, ``factor()``
and ``release_factor()`` as well (biomech's solvers), the BFGS path frees the old factor
before assembling a new tangent and the problem's tangent buffer (``release_tangent``)
before factorizing, which lowers the peak memory of large models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from biomech.errors import ConvergenceError
from biomech.threads import serial_numpy_blas


class NonlinearProblem(Protocol):
    n_dofs: int
    constrained: np.ndarray  # bool (n_dofs,)

    def prescribed(self, lam: float) -> np.ndarray: ...

    def assemble(self, u: np.ndarray, lam: float, want_K: bool): ...

    def tangent(self, data: np.ndarray): ...


@dataclass
class NewtonOptions:
    steps: int = 10
    max_iterations: int = 25
    rtol: float = 1e-8
    etol: float = 1e-8
    atol: float = 1e-10
    line_search: bool = True
    line_search_tol: float = 0.9
    max_step_growth: float = 2.0
    optimal_iterations: int = 6
    min_increment: float = 1e-4
    max_increment: float = 1.0
    divergence_factor: float = 1e6
    method: str = "auto"  # "newton" (full), "bfgs" (quasi-Newton on a kept factorization), "auto"
    bfgs_above_dofs: int = 20_000  # "auto": full Newton below, BFGS from here (factorizations dominate)
    max_updates: int = 10  # BFGS updates before the tangent is refactorized
    keep_tangent: bool = True  # BFGS: reuse the last factorization in the next load step
    extrapolate: bool = False  # start a step from the secant extrapolation of the last two


@dataclass
class StepRecord:
    lam: float
    iterations: int
    residuals: list[float]
    u: np.ndarray


@dataclass
class NewtonResult:
    u: np.ndarray
    lam: float
    converged: bool
    steps: list[StepRecord] = field(default_factory=list)
    newton_iterations: int = 0
    cutbacks: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""


class _StepFailed(Exception):
    pass


@serial_numpy_blas()
def solve_incremental(
    problem: NonlinearProblem,
    linear_solver,
    options: NewtonOptions | None = None,
    progress: Callable[[float], None] | None = None,
    u0: np.ndarray | None = None,
) -> NewtonResult:
    """Drive the load factor from 0 to 1; raise ConvergenceError carrying the last state."""
    opt = options or NewtonOptions()
    u = np.zeros(problem.n_dofs) if u0 is None else u0.copy()
    lam = 0.0
    dlam = min(1.0 / max(opt.steps, 1), opt.max_increment)
    out = NewtonResult(u=u, lam=0.0, converged=False)
    timings = {"assemble_s": 0.0, "factorize_s": 0.0, "solve_s": 0.0, "factorizations": 0}
    out.timings = timings
    state = {"factorized": False}  # shared by BFGS steps: is the solver's factorization usable?
    previous = None  # (lam, u) of the converged state before the last one
    inverted_tries = 0  # cut-backs caused by det F <= 0 (named in the final message)
    while lam < 1.0 - 1e-12:
        target = min(1.0, lam + dlam)
        guess = u
        if opt.extrapolate and previous is not None and lam > previous[0]:
            guess = u + (target - lam) / (lam - previous[0]) * (u - previous[1])
        try:
            try:
                u_new, iters, res = _step(problem, linear_solver, guess, target, opt, timings, state)
            except _StepFailed:
                if guess is u:
                    raise
                state["factorized"] = False
                u_new, iters, res = _step(problem, linear_solver, u, target, opt, timings, state)
        except _StepFailed as exc:
            state["factorized"] = False
            out.cutbacks += 1
            inverted_tries += "inverted" in str(exc)
            dlam *= 0.5
            if dlam < opt.min_increment:
                out.u, out.lam, out.message = u, lam, str(exc)
                raise ConvergenceError(
                    f"no convergence: load factor stuck at {lam:.4g} (increment fell below "
                    f"{opt.min_increment:g}); last failure: {exc}"
                    f"{_inversion_note(inverted_tries, str(exc))}. The last converged state "
                    "is kept; try more steps, a smaller load, or check the boundary conditions",
                    result=out,
                ) from None
            continue
        previous = (lam, u)
        u, lam = u_new, target
        out.newton_iterations += iters
        out.steps.append(StepRecord(lam, iters, res, u.copy()))
        out.u, out.lam = u, lam
        if progress is not None:
            progress(lam)
        if iters <= opt.optimal_iterations:
            dlam = min(dlam * opt.max_step_growth, opt.max_increment)
    out.converged = True
    return out


def _inversion_note(inverted_tries: int, last: str) -> str:
    """Inverted elements stopped earlier tries but not the last one: say so, since they
    usually are the cause (a load that would compress the material past zero volume)."""
    if inverted_tries == 0 or "inverted" in last:
        return ""
    return (f"; {inverted_tries} earlier tr{'y' if inverted_tries == 1 else 'ies'} inverted "
            "elements (det F <= 0)")


def _step(problem, linear_solver, u_start, lam, opt, timings, state):
    method = opt.method
    if method == "auto":
        method = "bfgs" if problem.n_dofs >= opt.bfgs_above_dofs else "newton"
    if method == "bfgs":
        return _bfgs_step(problem, linear_solver, u_start, lam, opt, timings, state)
    return _newton_step(problem, linear_solver, u_start, lam, opt, timings)


def _newton_step(problem, linear_solver, u_start, lam, opt, timings):
    u = u_start.copy()
    cons = problem.constrained
    u[cons] = problem.prescribed(lam)[cons]
    t = time.perf_counter()
    R, data, n_bad = problem.assemble(u, lam, True)
    timings["assemble_s"] += time.perf_counter() - t
    if n_bad:
        raise _StepFailed(f"{n_bad} element(s) inverted (det F <= 0) at load factor {lam:.4g}")
    R[cons] = 0.0
    r0 = float(np.linalg.norm(R))
    r_ref = _reference(problem, r0)
    residuals = [r0]
    if not np.isfinite(r0):
        raise _StepFailed(f"residual is not finite at load factor {lam:.4g}")
    e0 = None
    for it in range(1, opt.max_iterations + 1):
        t = time.perf_counter()
        linear_solver.factorize(problem.tangent(data))
        timings["factorizations"] += 1
        t2 = time.perf_counter()
        du = linear_solver.solve(-R)
        timings["factorize_s"] += t2 - t
        timings["solve_s"] += time.perf_counter() - t2
        du[cons] = 0.0
        s0 = float(du @ R)
        energy = abs(s0)
        if e0 is None:
            e0 = max(energy, 1e-300)
        u, R, data = _line_search(problem, u, du, R, s0, lam, opt, timings, True)
        R[cons] = 0.0
        rn = float(np.linalg.norm(R))
        residuals.append(rn)
        if not np.isfinite(rn) or rn > opt.divergence_factor * max(r_ref, opt.atol):
            raise _StepFailed(f"Newton diverged at load factor {lam:.4g} (residual {rn:.3g} N)")
        if rn <= max(opt.rtol * r_ref, opt.atol) and energy <= opt.etol * e0:
            return u, it, residuals
    raise _StepFailed(
        f"no convergence in {opt.max_iterations} Newton iterations at load factor {lam:.4g} "
        f"(residual {residuals[-1]:.3g} N, first {r0:.3g} N)"
    )


def _load_tangent(problem, linear_solver, data) -> Callable[[], None]:
    """Hand the tangent to the solver and drop the problem's buffer; returns what
    factorizes it. Call that after dropping ``data`` too: a solver that copies the values
    (PARDISO) then factorizes without the full tangent resident. A solver with only
    ``factorize`` is factorized here."""
    load, factor = getattr(linear_solver, "load", None), getattr(linear_solver, "factor", None)
    if load is None or factor is None:
        linear_solver.factorize(problem.tangent(data))
        return lambda: None
    load(problem.tangent(data))
    release = getattr(problem, "release_tangent", None)
    if release is not None:
        release()
    return factor


def _reference(problem, r0: float) -> float:
    """Residual yardstick: the step's first residual, or the applied loads and reactions
    when larger (a small increment of a large load must not chase round-off)."""
    scale = getattr(problem, "force_scale", None)
    return max(r0, scale() if scale is not None else 0.0)


def _bfgs_step(problem, linear_solver, u_start, lam, opt, timings, state):
    """Quasi-Newton iterations: L-BFGS two-loop recursion with the factorized tangent as
    the initial inverse (Matthies & Strang, IJNME 14:1613, 1979); the tangent is
    refactorized after ``max_updates`` updates or when a direction is not one of descent,
    and (``keep_tangent``) carried over from the previous load step otherwise."""
    u = u_start.copy()
    cons = problem.constrained
    u[cons] = problem.prescribed(lam)[cons]
    history: list[tuple[np.ndarray, np.ndarray, float]] = []

    def refactorize(u):
        state["factorized"] = False
        release_factor = getattr(linear_solver, "release_factor", None)
        if release_factor is not None:
            release_factor()  # the old factor is not held beside the new tangent
        t = time.perf_counter()
        R, data, n_bad = problem.assemble(u, lam, True)
        timings["assemble_s"] += time.perf_counter() - t
        if n_bad:
            raise _StepFailed(f"{n_bad} element(s) inverted (det F <= 0) at load factor {lam:.4g}")
        t = time.perf_counter()
        factor = _load_tangent(problem, linear_solver, data)
        del data
        factor()
        timings["factorize_s"] += time.perf_counter() - t
        timings["factorizations"] += 1
        state["factorized"] = True
        history.clear()
        R[cons] = 0.0
        return R

    def residual(u):
        t = time.perf_counter()
        R, _, n_bad = problem.assemble(u, lam, False)
        timings["assemble_s"] += time.perf_counter() - t
        if n_bad:
            raise _StepFailed(f"{n_bad} element(s) inverted (det F <= 0) at load factor {lam:.4g}")
        R[cons] = 0.0
        return R

    def direction(R):
        t = time.perf_counter()
        q = R.copy()
        alphas = []
        for s_i, y_i, rho in reversed(history):
            a = rho * (s_i @ q)
            alphas.append(a)
            q -= a * y_i
        r = linear_solver.solve(q)
        for (s_i, y_i, rho), a in zip(history, reversed(alphas)):
            r += s_i * (a - rho * (y_i @ r))
        timings["solve_s"] += time.perf_counter() - t
        r[cons] = 0.0
        return -r

    R = residual(u) if (opt.keep_tangent and state["factorized"]) else refactorize(u)
    r0 = float(np.linalg.norm(R))
    r_ref = _reference(problem, r0)
    if not np.isfinite(r0):
        raise _StepFailed(f"residual is not finite at load factor {lam:.4g}")
    residuals, e0 = [r0], None
    for it in range(1, 4 * opt.max_iterations + 1):
        du = direction(R)
        s0 = float(du @ R)
        if s0 >= 0.0:  # lost descent: fall back to the true tangent
            R = refactorize(u)
            du = direction(R)
            s0 = float(du @ R)
        energy = abs(s0)
        if e0 is None:
            e0 = max(energy, 1e-300)
        u_new, R_new, _ = _line_search(problem, u, du, R, s0, lam, opt, timings, False)
        R_new[cons] = 0.0
        rn = float(np.linalg.norm(R_new))
        residuals.append(rn)
        if not np.isfinite(rn) or rn > opt.divergence_factor * max(r_ref, opt.atol):
            raise _StepFailed(f"quasi-Newton diverged at load factor {lam:.4g} (residual {rn:.3g} N)")
        if rn <= max(opt.rtol * r_ref, opt.atol) and energy <= opt.etol * e0:
            return u_new, it, residuals
        s_vec, y_vec = u_new - u, R_new - R
        sy = float(s_vec @ y_vec)
        u, R = u_new, R_new
        if sy > 1e-14 * np.linalg.norm(s_vec) * np.linalg.norm(y_vec) and len(history) < opt.max_updates:
            history.append((s_vec, y_vec, 1.0 / sy))
        else:
            R = refactorize(u)
    raise _StepFailed(
        f"no convergence in {4 * opt.max_iterations} quasi-Newton iterations at load factor "
        f"{lam:.4g} (residual {residuals[-1]:.3g} N, first {r0:.3g} N)"
    )


def _line_search(problem, u, du, R0, s0, lam, opt, timings, want_K):
    """Full step when |du·R(u+du)| <= tol·|du·R(u)|, else secant steps on s(α)."""
    alpha = 1.0
    t = time.perf_counter()
    R1, data, n_bad = problem.assemble(u + du, lam, want_K)
    timings["assemble_s"] += time.perf_counter() - t
    if not opt.line_search:
        if n_bad:
            raise _StepFailed(f"{n_bad} element(s) inverted during Newton iteration at load factor {lam:.4g}")
        return u + du, R1, data
    R1[problem.constrained] = 0.0
    s1 = float(du @ R1) if not n_bad else np.inf
    if n_bad == 0 and abs(s1) <= opt.line_search_tol * abs(s0):
        return u + du, R1, data
    a_prev, s_prev = 0.0, s0
    for _ in range(6):
        if n_bad or not np.isfinite(s1):
            alpha *= 0.5
        else:
            denom = s_prev - s1
            a_new = alpha - s1 * (alpha - a_prev) / denom if denom != 0 else 0.5 * alpha
            a_prev, s_prev = alpha, s1
            alpha = float(np.clip(a_new, 0.1 * alpha, 1.0))
        t = time.perf_counter()
        R1, data, n_bad = problem.assemble(u + alpha * du, lam, want_K)
        timings["assemble_s"] += time.perf_counter() - t
        if n_bad:
            continue
        R1[problem.constrained] = 0.0
        s1 = float(du @ R1)
        if abs(s1) <= opt.line_search_tol * abs(s0):
            break
    if n_bad:
        raise _StepFailed(f"{n_bad} element(s) inverted during Newton iteration at load factor {lam:.4g}")
    return u + alpha * du, R1, data
