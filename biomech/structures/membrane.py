"""Tension-field membrane triangles: graft fabric that carries no compression (mm, N, MPa).

Constant-strain triangles, total Lagrangian: Green strain E of the in-plane deformation,
Saint Venant–Kirchhoff plane stress (Young's modulus Y, Poisson ν), relaxed for wrinkling
by tension-field theory with the mixed criterion (Roddeman et al., J Appl Mech 54:884, 1987;
the strain form of Kang & Im, J Appl Mech 64:263, 1997). With principal strains E₁ ≥ E₂
(directions n₁, n₂):

- taut (E₁ ≥ 0 and E₂ ≥ −ν E₁): S = D : E, the plane-stress law;
- wrinkled (E₁ > 0, E₂ < −ν E₁): uniaxial tension along n₁, S = Y E₁ n₁ ⊗ n₁;
- slack (E₁ ≤ 0): S = 0.

All three are one energy, W = Y/2 ⟨E₁⟩² + Y/(2(1−ν²)) ⟨E₂ + ν E₁⟩² (⟨·⟩ = max(·, 0)).
Its second derivative jumps where the states meet, and Newton then cycles between them on
a fabric that sits at those borders (a stress-free graft does, everywhere), so each bracket
gets a toe: the tension stiffness rises linearly from 0 to Y over a strain ``toe`` = 2δ
(woven fabric straightens its crimped yarns before it stretches them: a physical toe region
of about 1 %) and the stress is shifted by Y δ beyond it. The tangent is exact (the turning
of n₁ with E enters through a divided difference of the toe law). A fabric with no stiffness
at all in compression leaves a crimped tube singular, so a small fraction ``residual`` of
the plane-stress law is kept in every state: S = (1 − r) S_relaxed + r D : E (r = 1e-5 by
default: a 1000 MPa polyester resists 10 % compression with 1 kPa, far below any strut
force). DOFs: three translations per node; the kernels take the 6-DOF beam layout.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Compression kept of the plane-stress law (see the module docstring).
RESIDUAL_STIFFNESS = 1e-5
#: Default toe strain of a woven graft fabric (an assumption, see the module docstring).
TOE_STRAIN = 0.01


def reference_gradients(points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape-function gradients (t, 3, 2) in each triangle's own 2-D reference frame (1/mm)
    and reference areas (t,) in mm²."""
    p = np.asarray(points, float)[np.asarray(triangles, np.int64)]
    a, b = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    n = np.cross(a, b)
    area2 = np.linalg.norm(n, axis=1)
    if np.any(area2 <= 0):
        raise ValueError(f"membrane: {int(np.sum(area2 <= 0))} degenerate triangles")
    e1 = a / np.linalg.norm(a, axis=1)[:, None]
    e2 = np.cross(n / area2[:, None], e1)
    # 2-D coordinates of nodes 1 and 2 relative to node 0: J = [[a·e1, b·e1], [a·e2, b·e2]]
    J = np.stack([np.stack([np.sum(a * e1, 1), np.sum(b * e1, 1)], 1),
                  np.stack([np.sum(a * e2, 1), np.sum(b * e2, 1)], 1)], 1)
    Jinv = np.linalg.inv(J)  # rows: d(xi, eta)/d(X1, X2)
    dN = np.zeros((len(p), 3, 2))
    dN[:, 1] = Jinv[:, 0, :]
    dN[:, 2] = Jinv[:, 1, :]
    dN[:, 0] = -dN[:, 1] - dN[:, 2]
    return np.ascontiguousarray(dN), 0.5 * area2


@njit(cache=True)
def toe(x, half_toe):
    """Tension response g(x) of a strain x and its slope: 0 in compression, x²/(4δ) over the
    toe 0 < x < 2δ (δ = ``half_toe``), x − δ beyond; δ = 0 gives max(x, 0)."""
    if x <= 0.0:
        return 0.0, 0.0
    if x < 2.0 * half_toe:
        return x * x / (4.0 * half_toe), x / (2.0 * half_toe)
    return x - half_toe, 1.0


@njit(cache=True)
def relaxed_stress(E, Y, nu, residual, half_toe):
    """Relaxed PK2 stress (Voigt 11, 22, 12) and tangent dS/dE (3 × 3, engineering shear
    in the strain) of the Green strain E (Voigt 11, 22, 12 tensor components); MPa.

    W = Y G(E₁) + Y (1+ν)/(1−ν) G(m), m = (E₂ + ν E₁)/(1 + ν), G' = g (``toe``): the
    tension-field energy Y/2 ⟨E₁⟩² + Y/(2(1−ν²)) ⟨E₂ + ν E₁⟩² when δ = 0 (taut: plane
    stress; wrinkled: uniaxial along n₁; slack: 0), the toe smoothing both brackets alike
    (so W stays an isotropic, twice differentiable function of E).
    """
    f = Y / (1.0 - nu * nu)
    D = np.array([[f, f * nu, 0.0], [f * nu, f, 0.0], [0.0, 0.0, 0.5 * f * (1.0 - nu)]])
    S_full = D @ np.array([E[0], E[1], 2.0 * E[2]])
    mean = 0.5 * (E[0] + E[1])
    h = np.sqrt((0.5 * (E[0] - E[1])) ** 2 + E[2] ** 2)
    E1, E2 = mean + h, mean - h
    m = (E2 + nu * E1) / (1.0 + nu)
    g1, dg1 = toe(E1, half_toe)
    g2, dg2 = toe(m, half_toe)
    th = 0.5 * np.arctan2(2.0 * E[2], E[0] - E[1])
    c, s = np.cos(th), np.sin(th)
    N1 = np.array([c * c, s * s, c * s])
    N2 = np.array([s * s, c * c, -c * s])
    M = np.array([-2.0 * c * s, 2.0 * c * s, c * c - s * s])
    P = N2 + nu * N1  # dm/dE (1 + ν)
    if E1 - m > 1e-12:
        spin = (g1 - g2) / (E1 - m)
    else:
        spin = toe(0.5 * (E1 + m), half_toe)[1]
    w = 1.0 - residual
    S = residual * S_full + w * (Y * g1 * N1 + f * (1.0 + nu) * g2 * P)
    C = residual * D
    k = 0.5 * Y / (1.0 + nu) * spin
    for i in range(3):
        for j in range(3):
            C[i, j] += w * (Y * dg1 * N1[i] * N1[j] + f * dg2 * P[i] * P[j] + k * M[i] * M[j])
    return S, C


@njit(cache=True)
def deformation(x, dN):
    """In-plane deformation gradient F (3 × 2) and Green strain E (Voigt 11, 22, 12 tensor
    components) of one triangle at positions x (3 × 3, mm)."""
    F = np.zeros((3, 2))
    for a in range(3):
        for i in range(3):
            for J in range(2):
                F[i, J] += x[a, i] * dN[a, J]
    C11 = F[0, 0] ** 2 + F[1, 0] ** 2 + F[2, 0] ** 2
    C22 = F[0, 1] ** 2 + F[1, 1] ** 2 + F[2, 1] ** 2
    C12 = F[0, 0] * F[0, 1] + F[1, 0] * F[1, 1] + F[2, 0] * F[2, 1]
    return F, np.array([0.5 * (C11 - 1.0), 0.5 * (C22 - 1.0), 0.5 * C12])


@njit(cache=True)
def element_force_tangent(x, dN, area, thickness, Y, nu, residual, half_toe):
    """Internal force (9) and tangent (9 × 9) of one triangle at positions x (3 × 3, mm)."""
    F, E = deformation(x, dN)
    S, D = relaxed_stress(E, Y, nu, residual, half_toe)
    B = np.zeros((3, 9))
    for a in range(3):
        for i in range(3):
            B[0, 3 * a + i] = F[i, 0] * dN[a, 0]
            B[1, 3 * a + i] = F[i, 1] * dN[a, 1]
            B[2, 3 * a + i] = F[i, 0] * dN[a, 1] + F[i, 1] * dN[a, 0]
    vol = area * thickness
    f = vol * (B.T @ S)
    K = vol * (B.T @ D @ B)
    for a in range(3):
        for b in range(3):
            g = vol * (dN[a, 0] * (S[0] * dN[b, 0] + S[2] * dN[b, 1])
                       + dN[a, 1] * (S[2] * dN[b, 0] + S[1] * dN[b, 1]))
            for i in range(3):
                K[3 * a + i, 3 * b + i] += g
    return f, K


@njit(cache=True, parallel=True)
def assemble_membranes(x, triangles, dN, area, thickness, Y, nu, residual, half_toe):
    """Forces (t, 9) and tangents (t, 9, 9) of every triangle at positions x (n, 3)."""
    t = len(triangles)
    F = np.empty((t, 9))
    K = np.empty((t, 9, 9))
    for e in prange(t):
        xe = np.empty((3, 3))
        for a in range(3):
            xe[a] = x[triangles[e, a]]
        F[e], K[e] = element_force_tangent(xe, dN[e], area[e], thickness, Y, nu, residual,
                                           half_toe)
    return F, K


@njit(cache=True, parallel=True)
def membrane_forces(x, triangles, dN, area, thickness, Y, nu, residual, half_toe):
    """Forces (t, 9) of every triangle at positions x (n, 3), without the tangent."""
    t = len(triangles)
    F = np.zeros((t, 9))
    for e in prange(t):
        xe = np.empty((3, 3))
        for a in range(3):
            xe[a] = x[triangles[e, a]]
        Fe, E = deformation(xe, dN[e])
        S, _ = relaxed_stress(E, Y, nu, residual, half_toe)
        vol = area[e] * thickness
        for a in range(3):
            for i in range(3):
                F[e, 3 * a + i] = vol * (Fe[i, 0] * dN[e, a, 0] * S[0] + Fe[i, 1] * dN[e, a, 1] * S[1]
                                         + (Fe[i, 0] * dN[e, a, 1] + Fe[i, 1] * dN[e, a, 0]) * S[2])
    return F


@njit(cache=True, parallel=True)
def pressure_loads(x, triangles, p):
    """Follower pressure ``p`` (MPa) on flat triangles at positions x (n, 3, mm): nodal forces
    (t, 9; N) of the traction p n, n the unit normal by the right-hand rule of the node order,
    and their derivatives ∂f/∂x (t, 9, 9; N/mm). Each node carries a third of p A n, i.e.
    p c / 6 with c = (x₁ − x₀) × (x₂ − x₀), and ∂c/∂x₀ = [x₂ − x₁]×, ∂c/∂x₁ = [x₀ − x₂]×,
    ∂c/∂x₂ = [x₁ − x₀]× ([v]× w = v × w)."""
    t = len(triangles)
    F = np.empty((t, 9))
    K = np.zeros((t, 9, 9))
    for e in prange(t):
        i0, i1, i2 = triangles[e, 0], triangles[e, 1], triangles[e, 2]
        a = x[i1] - x[i0]
        b = x[i2] - x[i0]
        c = np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                      a[0] * b[1] - a[1] * b[0]])
        opposite = np.empty((3, 3))  # row m: the edge vector v of ∂c/∂x_m = [v]×
        opposite[0] = x[i2] - x[i1]
        opposite[1] = x[i0] - x[i2]
        opposite[2] = x[i1] - x[i0]
        for node in range(3):
            for i in range(3):
                F[e, 3 * node + i] = p * c[i] / 6.0
        for m in range(3):
            v = opposite[m] * (p / 6.0)
            for node in range(3):
                r, col = 3 * node, 3 * m
                K[e, r, col + 1] = -v[2]
                K[e, r, col + 2] = v[1]
                K[e, r + 1, col] = v[2]
                K[e, r + 1, col + 2] = -v[0]
                K[e, r + 2, col] = -v[1]
                K[e, r + 2, col + 1] = v[0]
    return F, K


@njit(cache=True)
def principal_stresses(x, triangles, dN, Y, nu, residual, half_toe):
    """Principal PK2 stresses (t, 2) of the relaxed law, largest first (MPa)."""
    out = np.empty((len(triangles), 2))
    for e in range(len(triangles)):
        xe = np.empty((3, 3))
        for a in range(3):
            xe[a] = x[triangles[e, a]]
        _, E = deformation(xe, dN[e])
        S, _ = relaxed_stress(E, Y, nu, residual, half_toe)
        m = 0.5 * (S[0] + S[1])
        h = np.sqrt((0.5 * (S[0] - S[1])) ** 2 + S[2] ** 2)
        out[e, 0], out[e, 1] = m + h, m - h
    return out


__all__ = [
    "RESIDUAL_STIFFNESS",
    "TOE_STRAIN",
    "assemble_membranes",
    "deformation",
    "element_force_tangent",
    "pressure_loads",
    "principal_stresses",
    "reference_gradients",
    "relaxed_stress",
    "toe",
]
