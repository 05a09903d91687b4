"""History-dependent 1-D (fibre) laws for beam sections: σ(ε), dσ/dε and the updated state.

Every law has the same numba signature ``(eps, state_old, params) -> (sigma, tangent,
state_new)``; units MPa for stress and moduli, strain dimensionless (small strain in the
beam's local frame). ``state_old`` is the committed value at the last converged step; the
returned state is a trial value that the caller commits once the step converges.

Superelastic nitinol follows the 1-D model of Auricchio & Taylor (CMAME 146:281, 1997) and
Auricchio & Sacco (Int J Non-Linear Mech 32:1101, 1997): ε = σ/E(ξ) + ε_L ξ sgn σ,
E(ξ) = E_A + ξ (E_M − E_A), with linear kinetic rules. The rules are integrated exactly
in the stress–fraction plane: a state (|σ|, ξ) must lie between the forward line
ξ_AS(|σ|) = (|σ| − σ_AS_s)/(σ_AS_f − σ_AS_s) and the reverse line
ξ_SA(|σ|) = (|σ| − σ_SA_f)/(σ_SA_s − σ_SA_f) (both clipped to [0, 1]); ξ changes only when
the state is pushed against one of them (ξ = min(max(ξ_old, ξ_AS), ξ_SA)), so the update
is path-consistent, independent of the step size, and elastic inside the loop.
The state ξ is signed: ξ > 0 martensite oriented in tension, ξ < 0 in compression.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LAW_ELASTIC = 0
LAW_NITINOL = 1

# nitinol params layout (MPa, strain)
E_A, E_M, AS_S, AS_F, SA_S, SA_F, EPS_L, C_SIGMA, C_EPS = range(9)


@njit(cache=True)
def elastic_params(E):
    """Linear-elastic fibre law parameters: array [E] (MPa)."""
    if not E > 0.0:
        raise ValueError("elastic_params: E must be positive")
    return np.array([E], dtype=np.float64)


@njit(cache=True)
def elastic_stress(eps, state_old, params):
    """Linear elasticity σ = E ε (MPa); tangent E; the state passes through unchanged."""
    return params[0] * eps, params[0], state_old


@njit(cache=True)
def nitinol_params(E_A=50e3, E_M=50e3, sigma_AS_s=520.0, sigma_AS_f=600.0, sigma_SA_s=300.0,
                   sigma_SA_f=200.0, eps_L=0.05, c_sigma=1.0, c_eps=1.0):
    """Superelastic nitinol parameters (MPa, strain) as the float64 array
    [E_A, E_M, σ_AS_s, σ_AS_f, σ_SA_s, σ_SA_f, ε_L, c_σ, c_ε].

    Defaults: the typical set of the project reference (E_A = E_M = 50 GPa, plateaus 520 → 600
    and 300 → 200 MPa, ε_L = 0.05). Tension–compression asymmetry hook: in compression the
    four transformation stresses are scaled by c_σ and ε_L by c_ε (default 1: symmetric;
    real nitinol has c_σ ≈ 1.2–1.5, c_ε < 1).
    """
    ok = (E_A > 0.0 and E_M > 0.0 and eps_L > 0.0 and c_sigma > 0.0 and c_eps > 0.0
          and 0.0 <= sigma_SA_f < sigma_SA_s and sigma_AS_s < sigma_AS_f
          and sigma_SA_f <= sigma_AS_s and sigma_SA_s <= sigma_AS_f)
    if not ok:
        raise ValueError("nitinol_params: need E, eps_L > 0 and 0 <= SA_f < SA_s, AS_s < AS_f, "
                         "SA_f <= AS_s, SA_s <= AS_f")
    return np.array([E_A, E_M, sigma_AS_s, sigma_AS_f, sigma_SA_s, sigma_SA_f, eps_L,
                     c_sigma, c_eps], dtype=np.float64)


@njit(cache=True)
def _on_line(e, p, q, Ea, dE, eL, lo, hi):
    """Fraction ξ in [lo, hi] on the kinetic line |σ| = p + q ξ with e = |σ|/E(ξ) + ε_L ξ.

    Root of g(ξ) = p + q ξ − (E_A + ΔE ξ)(e − ε_L ξ) = A ξ² + B ξ + C, which changes sign on
    [lo, hi] (checked by the caller), so exactly one root lies there. Returns (ξ, dξ/de).
    """
    A = eL * dE
    B = q + eL * Ea - e * dE
    C = p - e * Ea
    if A == 0.0:
        xi = -C / B
    else:
        d = np.sqrt(max(B * B - 4.0 * A * C, 0.0))
        t = -0.5 * (B + d if B >= 0.0 else B - d)
        xi = t / A
        if not lo <= xi <= hi:
            xi = C / t
    xi = min(max(xi, lo), hi)
    return xi, (Ea + dE * xi) / (2.0 * A * xi + B)


@njit(cache=True)
def nitinol_stress(eps, xi_old, params):
    """Superelastic nitinol fibre, Auricchio & Taylor (1997) / Auricchio & Sacco (1997).

    eps: total uniaxial strain; xi_old: committed signed martensite fraction (−1..1);
    params from nitinol_params. Returns σ (MPa), the consistent tangent dσ/dε at fixed
    xi_old (MPa) and the trial fraction ξ. Closed-form return mapping (a quadratic when
    E_M ≠ E_A): elastic trial at ξ_old, else the forward (A→S) or reverse (S→A) line.
    A strain step that changes sign first reverts all martensite (it must pass |σ| < σ_SA_f).
    """
    sg = 1.0 if eps >= 0.0 else -1.0
    e = abs(eps)
    k = 1.0 if sg > 0.0 else params[C_SIGMA]
    eL = params[EPS_L] * (1.0 if sg > 0.0 else params[C_EPS])
    a_s, a_f = k * params[AS_S], k * params[AS_F]
    r_s, r_f = k * params[SA_S], k * params[SA_F]
    Ea, dE = params[E_A], params[E_M] - params[E_A]
    x = max(0.0, xi_old * sg)  # martensite of the other sign has reverted
    s = (Ea + dE * x) * (e - eL * x)  # elastic trial |σ| at frozen ξ
    ds = Ea + dE * x
    xi = x
    # a committed state lies on a line up to round-off: only a real step beyond it transforms
    # (else Newton's first iterate of an unloading step would take the plateau tangent)
    if s > (a_s + (a_f - a_s) * x) * (1.0 + 1e-9):  # beyond the forward line: A → S
        if x >= 1.0 or a_f - params[E_M] * (e - eL) <= 0.0:  # fully martensitic
            xi, s, ds = 1.0, params[E_M] * (e - eL), params[E_M]
        else:
            xi, dxi = _on_line(e, a_s, a_f - a_s, Ea, dE, eL, x, 1.0)
            s, ds = a_s + (a_f - a_s) * xi, (a_f - a_s) * dxi
    elif s < (r_f + (r_s - r_f) * x) * (1.0 - 1e-9):  # below the reverse line: S → A
        if r_f - Ea * e >= 0.0:  # fully austenitic
            xi, s, ds = 0.0, Ea * e, Ea
        else:
            xi, dxi = _on_line(e, r_f, r_s - r_f, Ea, dE, eL, 0.0, x)
            s, ds = r_f + (r_s - r_f) * xi, (r_s - r_f) * dxi
    return sg * s, ds, sg * xi


@njit(cache=True)
def uniaxial_stress(eps, state_old, law, params):
    """Fibre law over the section points: arrays eps, state_old (same length), law id
    (LAW_ELASTIC = 0 with elastic_params, LAW_NITINOL = 1 with nitinol_params).
    Returns new arrays (σ MPa, dσ/dε MPa, trial state)."""
    n = eps.shape[0]
    sigma, tangent, state_new = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        if law == LAW_NITINOL:
            sigma[i], tangent[i], state_new[i] = nitinol_stress(eps[i], state_old[i], params)
        elif law == LAW_ELASTIC:
            sigma[i], tangent[i], state_new[i] = elastic_stress(eps[i], state_old[i], params)
        else:
            raise ValueError("uniaxial_stress: unknown law id")
    return sigma, tangent, state_new
