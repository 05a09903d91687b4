"""Gasser–Ogden–Holzapfel arterial layer with fibre dispersion, uncoupled.

Ψ = μ/2 (Ī1 − 3) + Σ_{i=4,6} k1/(2 k2) [exp(k2 Ēᵢ²) − 1],
Ēᵢ = κ (Ī1 − 3) + (1 − 3κ)(Īᵢ − 1), Īᵢ = aᵢ · C̄ aᵢ,
with two fibre families a₄,₆ = cos γ e_circ ± sin γ e_axial (basis rows 0 and 1).

Fibre switch: a family contributes only while Īᵢ > 1 (the classic tension switch on the
isochoric fibre stretch, as in GOH 2006). With κ = 0 the response is continuous across
Īᵢ = 1. With κ > 0, Ēᵢ = κ(Ī1 − 3) ≠ 0 there, so energy and stress jump when a family
crosses Īᵢ = 1 (a known drawback; the alternative switch Ēᵢ > 0 avoids it but is not
used here). Units: μ, k1 in MPa; k2, κ dimensionless; γ in rad.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from biomech.materials._tensor import IDENTITY, ddot, isochoric_projection, kinematics
from biomech.materials.base import BULK, NONNEGATIVE, POSITIVE, Bounds, MaterialSpec, Parameter

HGO_ID = 6


@njit(cache=True, error_model="numpy")
def hgo(C, params, basis, S, CC):
    """Isochoric GOH 2006 energy; params = (μ, k1, k2, κ, γ); basis rows = (circ, axial, radial).

    Writes S_iso, CC_iso; returns Ψ in MPa. Source: Gasser, Ogden & Holzapfel,
    J R Soc Interface 3:15 (2006); fibres active only for Īᵢ > 1.
    """
    mu = params[0]
    k1 = params[1]
    k2 = params[2]
    kappa = params[3]
    cg = np.cos(params[4])
    sg = np.sin(params[4])
    wk = np.empty((5, 6))
    c, ci, cb, h = wk[0], wk[1], wk[2], wk[3]
    J = kinematics(C, c, ci, cb)
    x1 = cb[0] + cb[1] + cb[2] - 3.0
    psi = 0.5 * mu * x1
    for m in range(6):  # matrix: S̄ = μ I, C̃ = 0
        S[m] = mu * IDENTITY[m]
        for n in range(6):
            CC[m, n] = 0.0
    for sign in (1.0, -1.0):
        a0 = cg * basis[0, 0] + sign * sg * basis[1, 0]
        a1 = cg * basis[0, 1] + sign * sg * basis[1, 1]
        a2 = cg * basis[0, 2] + sign * sg * basis[1, 2]
        h[0] = a0 * a0
        h[1] = a1 * a1
        h[2] = a2 * a2
        h[3] = a0 * a1
        h[4] = a1 * a2
        h[5] = a0 * a2
        i4 = ddot(cb, h)  # Īᵢ = a · C̄ a
        if i4 <= 1.0:  # classic switch: fibres under compression carry nothing
            continue
        for m in range(6):  # H = ∂Ē/∂C̄ = κ I + (1 − 3κ) a ⊗ a
            h[m] = kappa * IDENTITY[m] + (1.0 - 3.0 * kappa) * h[m]
        e = kappa * x1 + (1.0 - 3.0 * kappa) * (i4 - 1.0)
        ex = np.exp(k2 * e * e)
        psi += 0.5 * k1 / k2 * (ex - 1.0)
        d1 = 2.0 * k1 * e * ex  # 2 ∂Ψ/∂Ē
        d2 = 4.0 * k1 * (1.0 + 2.0 * k2 * e * e) * ex  # 4 ∂²Ψ/∂Ē²
        for m in range(6):
            S[m] += d1 * h[m]
            for n in range(6):
                CC[m, n] += d2 * h[m] * h[n]
    isochoric_projection(c, ci, J, S, CC, wk[4])
    return psi


SPEC = MaterialSpec(
    name="hgo",
    model_id=HGO_ID,
    parameters=(
        Parameter("mu", "stress", bounds=POSITIVE, doc="matrix shear modulus μ"),
        Parameter("k1", "stress", bounds=NONNEGATIVE, doc="fibre stiffness k1"),
        Parameter("k2", "dimensionless", bounds=POSITIVE, doc="fibre exponential coefficient k2"),
        Parameter("kappa", "dimensionless", 0.0, Bounds(0.0, 1.0 / 3.0), "fibre dispersion κ"),
        Parameter("angle", "angle", bounds=Bounds(0.0, math.pi / 2), doc="fibre angle γ (rad)"),
        BULK,
    ),
    coupled=False,
    basis="vessel",
    citation="Gasser, Ogden & Holzapfel, J R Soc Interface 3:15 (2006)",
    kernel_parameters=("mu", "k1", "k2", "kappa", "angle"),
    to_kernel=lambda v: (v["mu"], v["k1"], v["k2"], v["kappa"], v["angle"]),
    shear_modulus=lambda v: v["mu"],
    doc="μ0 = μ (matrix only: the fibres carry no stress at F = I and none in compression).",
)
