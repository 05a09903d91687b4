"""Closed-form and quadrature solutions used to verify the solver (and for users' checks).

Incompressible, isotropic, homogeneous thick-walled tube (plane strain, λz = 1) and sphere
under internal pressure. For an energy W(I1) the pressure is
P = ∫_a^b (σθθ − σrr) dr / r (tube), P = 2 ∫_a^b (σθθ − σrr) dr / r (sphere), with
σθθ − σrr from the principal stretches (Ogden, Non-linear Elastic Deformations, 1984, §5.3).
Units: mm, MPa.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

DW = Callable[[float], float]  # dW/dI1 as a function of I1


def neo_hookean_dW(mu: float) -> DW:
    """dW/dI1 of W = μ/2 (I1 − 3)."""
    return lambda I1: 0.5 * mu


def raghavan_vorp_dW(alpha: float, beta: float) -> DW:
    """dW/dI1 of W = α(I1 − 3) + β(I1 − 3)² (Raghavan & Vorp 2000)."""
    return lambda I1: alpha + 2.0 * beta * (I1 - 3.0)


def tube_pressure(a: float, A: float, B: float, dW: DW) -> float:
    """Internal pressure (MPa) that opens a tube of radii A < B (mm) to inner radius a."""
    def integrand(r):
        R = np.sqrt(r * r - a * a + A * A)
        lam = r / R
        I1 = lam**2 + lam**-2 + 1.0
        return 2.0 * dW(I1) * (lam**2 - lam**-2) / r

    b = np.sqrt(B * B + a * a - A * A)
    return quad(integrand, a, b, epsabs=1e-14, epsrel=1e-12)[0]


def tube_pressure_neo_hookean(a: float, A: float, B: float, mu: float) -> float:
    """Closed form P = μ [ln(λa/λb) + ½(λb⁻² − λa⁻²)] (plane strain, incompressible)."""
    b = np.sqrt(B * B + a * a - A * A)
    la, lb = a / A, b / B
    return mu * (np.log(la / lb) + 0.5 * (lb**-2 - la**-2))


def sphere_pressure(a: float, A: float, B: float, dW: DW) -> float:
    """Internal pressure (MPa) that opens a spherical shell A < B (mm) to inner radius a."""
    def integrand(r):
        R = np.cbrt(r**3 - a**3 + A**3)
        lam = r / R
        I1 = 2 * lam**2 + lam**-4
        return 2.0 * 2.0 * dW(I1) * (lam**2 - lam**-4) / r

    b = np.cbrt(B**3 + a**3 - A**3)
    return quad(integrand, a, b, epsabs=1e-14, epsrel=1e-12)[0]


def sphere_pressure_neo_hookean(a: float, A: float, B: float, mu: float) -> float:
    """Closed form P = μ [2/λb + 1/(2λb⁴) − 2/λa − 1/(2λa⁴)] (incompressible)."""
    b = np.cbrt(B**3 + a**3 - A**3)
    la, lb = a / A, b / B
    return mu * (2 / lb + 0.5 / lb**4 - 2 / la - 0.5 / la**4)


def inner_radius(pressure: Callable[[float], float], P: float, A: float, a_max: float | None = None) -> float:
    """Deformed inner radius a (mm) at pressure P on the rising branch (before the limit point)."""
    hi = a_max or 3.0 * A
    grid = np.linspace(A, hi, 400)
    vals = np.array([pressure(a) for a in grid])
    peak = int(np.argmax(vals))
    if P > vals[peak]:
        raise ValueError(f"pressure {P} MPa exceeds the limit-point pressure {vals[peak]:.4g} MPa")
    k = int(np.argmax(vals[: peak + 1] >= P))
    if k == 0:
        return A
    return brentq(lambda a: pressure(a) - P, grid[k - 1], grid[k], xtol=1e-14)


def outer_radius_tube(a: float, A: float, B: float) -> float:
    return float(np.sqrt(B * B + a * a - A * A))


def unloaded_tube_radii(a: float, b: float, P: float, dW: DW) -> tuple[float, float]:
    """Stress-free radii (A, B) mm of a tube seen with radii a < b (mm) at pressure P (MPa).

    Incompressible, plane strain: B² = b² − a² + A²; A solves tube_pressure(a, A, B) = P
    (the inverse problem that zero-pressure geometry algorithms approximate)."""
    def mismatch(A: float) -> float:
        return tube_pressure(a, A, float(np.sqrt(b * b - a * a + A * A)), dW) - P

    A = brentq(mismatch, 0.2 * a, a, xtol=1e-14)
    return A, float(np.sqrt(b * b - a * a + A * A))


def cantilever_tip_load(alpha: float) -> tuple[float, float, float]:
    """Large-deflection (elastica) cantilever with a dead tip load P ⟂ the undeformed axis,
    ``alpha = P L² / (E I)``: tip position (x/L along the axis, y/L deflection) and tip
    rotation (rad). Bisshopp & Drucker, Q Appl Math 3:272 (1945):
    √α = K(k) − F(ψ₀, k), k² = (1 + sin φ₀)/2, sin ψ₀ = 1/(k√2);
    x/L = √(2 sin φ₀ / α); y/L = 1 − (2/√α)(E(k) − E(ψ₀, k))."""
    from scipy.optimize import brentq
    from scipy.special import ellipe, ellipeinc, ellipk, ellipkinc

    def gap(phi0: float) -> float:
        m = 0.5 * (1.0 + np.sin(phi0))
        psi0 = np.arcsin(1.0 / np.sqrt(2.0 * m))
        return ellipk(m) - ellipkinc(psi0, m) - np.sqrt(alpha)

    phi0 = brentq(gap, 1e-12, 0.5 * np.pi - 1e-12, xtol=1e-15)
    m = 0.5 * (1.0 + np.sin(phi0))
    psi0 = np.arcsin(1.0 / np.sqrt(2.0 * m))
    y = 1.0 - 2.0 / np.sqrt(alpha) * (ellipe(m) - ellipeinc(psi0, m))
    x = np.sqrt(2.0 * np.sin(phi0) / alpha)
    return float(x), float(y), float(phi0)
