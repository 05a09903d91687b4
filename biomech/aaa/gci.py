"""Roache's grid convergence index by the procedure of Celik et al. 2008 (J Fluids Eng
130:078001), three grids, possibly non-uniform refinement ratios.

Grids 1 (fine), 2, 3 (coarse) with sizes h1 < h2 < h3, r21 = h2/h1, r32 = h3/h2;
ε21 = φ2 − φ1, ε32 = φ3 − φ2, s = sign(ε32/ε21). The observed order p solves, by fixed-point
iteration, p = |ln|ε32/ε21| + q(p)| / ln r21 with q(p) = ln((r21^p − s)/(r32^p − s)).
φ_ext = (r21^p φ1 − φ2)/(r21^p − 1), e_a = |(φ1 − φ2)/φ1|, e_ext = |(φ_ext − φ1)/φ_ext|,
GCI_fine = Fs e_a/(r21^p − 1) with Fs = 1.25 (three grids). Given cell counts N instead of h,
h = N^(−1/dim) (Celik eq. 1 on a fixed domain; only ratios matter).

All relative quantities (e_a, e_ext, GCIs) are fractions, not percent.
``gci_coarse`` is GCI_fine of the coarse pair, Fs |(φ2 − φ3)/φ2|/(r32^p − 1), the band on φ2.
``asymptotic_ratio`` = GCI_coarse/(r21^p GCI_fine), Roache's check (≈ 1 in the asymptotic
range). Three values determine φ0, C and p of φ = φ0 + C h^p exactly, so for monotonic data it
equals φ1/φ2 identically and only confirms consistency; the informative asymptotic check is p
against the scheme's formal order (``gci_verdict(..., formal_order=...)``).
Convergence: "monotonic" (s > 0, p > 0), "oscillatory" (s < 0; Celik's flag, the GCI is unreliable)
or "divergent" (s > 0 but the power law through the three values has p <= 0: the error does
not shrink on refinement; p is then that order, φ_ext and e_ext are NaN, the GCIs infinite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from biomech.errors import CaseError

__all__ = ["GCIResult", "grid_convergence", "observed_order", "gci_verdict"]

CELIK_MIN_RATIO = 1.3  # Celik et al.: refinement ratio r > 1.3 desirable
P_MAX = 100.0  # observed orders above this are not searched for


@dataclass(frozen=True)
class GCIResult:
    """Outcome of a three-grid study; relative errors and GCIs as fractions."""

    p: float
    phi_ext: float
    gci_fine: float
    gci_coarse: float
    e_a: float
    e_ext: float
    r21: float
    r32: float
    asymptotic_ratio: float
    converged_monotonically: bool
    convergence: str  # "monotonic" | "oscillatory" | "divergent"


def _triple(name: str, values) -> np.ndarray:
    """Three finite floats; CaseError otherwise."""
    a = np.asarray(values, dtype=float)
    if a.shape != (3,) or not np.all(np.isfinite(a)):
        raise CaseError(f"{name} must be three finite numbers, fine → coarse; got {values!r}")
    return a


def _grid_sizes(h, n_cells, dim: int) -> np.ndarray:
    """Representative sizes h1 < h2 < h3 from h, or from cell counts as N^(−1/dim)."""
    if (h is None) == (n_cells is None):
        raise CaseError("give exactly one of h (grid sizes) or n_cells (cell counts)")
    if dim not in (1, 2, 3):
        raise CaseError(f"dim must be 1, 2 or 3, got {dim!r}")
    sizes = _triple("h" if h is not None else "n_cells", h if h is not None else n_cells)
    if np.any(sizes <= 0.0):
        raise CaseError("grid sizes and cell counts must be > 0")
    if n_cells is not None:
        sizes = sizes ** (-1.0 / dim)
    if not (sizes[0] < sizes[1] < sizes[2]):
        raise CaseError(
            "grids must be ordered fine → coarse (h increasing, cell counts decreasing)"
        )
    return sizes


def _log_rp_minus_s(p: float, ln_r: float, s: float) -> float:
    """ln(r^p − s) for p > 0, without overflow for large p or cancellation for small p."""
    x = p * ln_r
    return x + (math.log(-math.expm1(-x)) if s > 0.0 else math.log1p(math.exp(-x)))


def _q(p: float, ln_r21: float, ln_r32: float, s: float) -> float:
    """Celik's q(p) = ln((r21^p − s)/(r32^p − s)), eq. 3c."""
    return _log_rp_minus_s(p, ln_r21, s) - _log_rp_minus_s(p, ln_r32, s)


def _first_root(g, lo: float = 1e-6, hi: float = P_MAX) -> float | None:
    """The smallest root of g on [lo, hi] (geometric scan, then Brent); None if no sign change."""
    grid = np.geomspace(lo, hi, 400)
    values = [g(p) for p in grid]
    for i in range(len(grid) - 1):
        if values[i] == 0.0:
            return float(grid[i])
        if values[i] * values[i + 1] < 0.0:
            return float(brentq(g, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15))
    return None


def _log_abs_expm1(x: float) -> float:
    """ln|e^x − 1| for x ≠ 0, without overflow."""
    return x + math.log(-math.expm1(-x)) if x > 0.0 else math.log(-math.expm1(x))


def _power_law_order(ratio: float, ln_r21: float, ln_r32: float) -> float:
    """Signed p of φ = φ0 + C h^p through three monotone values: ε32/ε21 = R(p), any sign of p.

    R(p) = r21^p (r32^p − 1)/(r21^p − 1) increases with p from 0 to ∞ and R(0) = ln r32/ln r21,
    so p > 0 (convergence) exactly when ε32/ε21 > ln r32/ln r21.
    """
    ln_ratio = math.log(ratio)

    def g(p: float) -> float:
        return p * ln_r21 + _log_abs_expm1(p * ln_r32) - _log_abs_expm1(p * ln_r21) - ln_ratio

    r0 = ln_r32 / ln_r21
    if ratio == r0:
        return 0.0
    lo, hi = (1e-9, P_MAX) if ratio > r0 else (-P_MAX, -1e-9)
    if g(lo) * g(hi) > 0.0:
        raise CaseError(f"no grid order in [-{P_MAX:g}, {P_MAX:g}] fits ε32/ε21 = {ratio:g}")
    return float(brentq(g, lo, hi, xtol=1e-15, rtol=1e-15))


def observed_order(eps21: float, eps32: float, r21: float, r32: float) -> float:
    """Observed order p by Celik eqs. 3a–c; p <= 0 flags monotone divergence.

    Fixed-point iteration p ← |a(p)|/ln r21, a(p) = ln|ε32/ε21| + q(p), from the
    uniform-ratio value; it converges when r32 < r21² (the map's slope tends to
    1 − ln r32/ln r21). Otherwise, and for monotone data that diverge (where the |·| of eq. 3a
    would fold a negative order into a spurious positive one), the power-law equation is solved
    by root-finding; for oscillatory data the smallest root of p ln r21 = |a(p)| is taken.
    """
    s = 1.0 if eps32 / eps21 > 0.0 else -1.0
    ln_ratio, ln_r21, ln_r32 = math.log(abs(eps32 / eps21)), math.log(r21), math.log(r32)
    if s > 0.0 and not abs(eps32 / eps21) > ln_r32 / ln_r21:
        return _power_law_order(abs(eps32 / eps21), ln_r21, ln_r32)

    def a(p: float) -> float:
        return ln_ratio + _q(max(p, 1e-12), ln_r21, ln_r32, s)

    p = abs(ln_ratio) / ln_r21
    for _ in range(200):
        p_new = abs(a(p)) / ln_r21
        if abs(p_new - p) <= 1e-14 * max(1.0, p_new):
            return p_new
        if p_new > P_MAX:
            break
        p = p_new
    if s > 0.0:
        return _power_law_order(abs(eps32 / eps21), ln_r21, ln_r32)
    root = _first_root(lambda p: p * ln_r21 - abs(a(p)))
    if root is None:
        raise CaseError(
            f"observed order cannot be estimated from ε21 = {eps21:g}, ε32 = {eps32:g}, "
            f"r21 = {r21:g}, r32 = {r32:g}: refine further or use other grids"
        )
    return root


def grid_convergence(
    phi, h=None, *, n_cells=None, dim: int = 3, safety: float = 1.25
) -> GCIResult:
    """Three-grid GCI study (Celik et al. 2008): phi and h (or n_cells) ordered fine → coarse."""
    phi1, phi2, phi3 = (float(v) for v in _triple("phi", phi))
    h1, h2, h3 = (float(v) for v in _grid_sizes(h, n_cells, dim))
    if not (math.isfinite(safety) and safety >= 1.0):
        raise CaseError(f"safety factor must be >= 1 (1.25 for three grids), got {safety!r}")
    r21, r32 = h2 / h1, h3 / h2
    eps21, eps32 = phi2 - phi1, phi3 - phi2
    if eps21 == 0.0 or eps32 == 0.0:
        raise CaseError(
            f"φ does not change between two grids (φ = {phi1:g}, {phi2:g}, {phi3:g}): "
            "the observed order is undefined; this quantity is not a measure of grid error"
        )
    if phi1 == 0.0 or phi2 == 0.0:
        raise CaseError("relative errors need φ1 ≠ 0 and φ2 ≠ 0; use a quantity away from 0")
    p = observed_order(eps21, eps32, r21, r32)
    e_a = abs(eps21 / phi1)
    if eps32 / eps21 < 0.0:
        convergence = "oscillatory"
    elif p <= 0.0:
        convergence = "divergent"
    else:
        convergence = "monotonic"
    if convergence == "divergent":  # no extrapolation, no error band
        nan = math.nan
        return GCIResult(
            p, nan, math.inf, math.inf, e_a, nan, r21, r32, nan, False, convergence
        )
    f21, f32 = math.expm1(p * math.log(r21)), math.expm1(p * math.log(r32))  # r^p − 1
    phi_ext = phi1 - eps21 / f21  # = (r21^p φ1 − φ2)/(r21^p − 1)
    gci_fine = safety * e_a / f21
    gci_coarse = safety * abs(eps32 / phi2) / f32
    return GCIResult(
        p=p,
        phi_ext=phi_ext,
        gci_fine=gci_fine,
        gci_coarse=gci_coarse,
        e_a=e_a,
        e_ext=abs((phi_ext - phi1) / phi_ext) if phi_ext != 0.0 else math.inf,
        r21=r21,
        r32=r32,
        asymptotic_ratio=gci_coarse / ((f21 + 1.0) * gci_fine),
        converged_monotonically=convergence == "monotonic",
        convergence=convergence,
    )


def gci_verdict(result: GCIResult, tolerance: float, formal_order: float | None = None) -> dict:
    """Pass if convergence is monotonic and GCI_fine <= tolerance (a fraction: 0.05 = 5 %).

    ``notes`` (advisory, not failing): p more than 25 % from ``formal_order``, an asymptotic
    ratio more than 20 % from 1, refinement ratios below Celik's 1.3.
    """
    if not (0.0 < tolerance < 1.0):
        raise CaseError(f"tolerance is a fraction in (0, 1), e.g. 0.05 for 5 %; got {tolerance!r}")
    reasons, notes = [], []
    if result.convergence != "monotonic":
        reasons.append(f"{result.convergence} convergence: the GCI is not a reliable error band")
    if not result.gci_fine <= tolerance:
        reasons.append(f"GCI_fine {100 * result.gci_fine:.3g} % > {100 * tolerance:.3g} %")
    if formal_order is not None and abs(result.p - formal_order) > 0.25 * formal_order:
        notes.append(
            f"observed order {result.p:.3g} differs from the formal order {formal_order:g}: "
            "the grids may not be in the asymptotic range"
        )
    if abs(result.asymptotic_ratio - 1.0) > 0.2:
        notes.append(f"asymptotic ratio {result.asymptotic_ratio:.3g} is far from 1")
    if min(result.r21, result.r32) < CELIK_MIN_RATIO:
        notes.append(f"refinement ratio below {CELIK_MIN_RATIO} (Celik et al. recommend more)")
    return {
        "passed": not reasons,
        "verdict": "pass" if not reasons else "fail",
        "reasons": reasons,
        "notes": notes,
    }
