"""Neo-Hookean solids: uncoupled (isochoric part only) and coupled compressible.

"neo-hookean":              Ψ = μ/2 (Ī1 − 3)  (isochoric part; the element adds U(J))
"neo-hookean-compressible": W = μ/2 (I1 − 3) − μ ln J + λ/2 (ln J)², λ = bulk − 2μ/3
Units: μ, bulk, λ in MPa.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials._tensor import (
    IDENTITY,
    add_sym_product,
    kinematics,
)
from biomech.materials.base import BULK, POSITIVE, MaterialSpec, Parameter

NEO_HOOKEAN_ID = 1
NEO_HOOKEAN_COMPRESSIBLE_ID = 2


@njit(cache=True, error_model="numpy")
def neo_hookean(C, params, basis, S, CC):
    """Isochoric neo-Hookean Ψ = μ/2 (Ī1 − 3); params = (μ,) in MPa; writes S_iso, CC_iso.

    Closed form (the generic isochoric projection of ``_tensor`` gives the same, 3x slower):
      S_iso  = μ J^(-2/3) (I − I1/3 C⁻¹),
      CC_iso = ⅔ μ J^(-2/3) [I1 C⁻¹ ⊙ C⁻¹ + I1/3 C⁻¹ ⊗ C⁻¹ − I ⊗ C⁻¹ − C⁻¹ ⊗ I].
    Returns Ψ in MPa (Treloar 1943; uncoupled split Simo, Taylor & Pister 1985;
    Holzapfel, Nonlinear Solid Mechanics 2000, §6.5).
    """
    mu = params[0]
    wk = np.empty((3, 6))
    c, ci, cb = wk[0], wk[1], wk[2]
    J = kinematics(C, c, ci, cb)
    i1 = c[0] + c[1] + c[2]
    j23 = J ** (-2.0 / 3.0)
    f = 2.0 / 3.0 * mu * j23
    t = i1 / 3.0
    for m in range(6):
        S[m] = mu * j23 * (IDENTITY[m] - t * ci[m])
        for n in range(6):
            CC[m, n] = f * (t * ci[m] * ci[n] - IDENTITY[m] * ci[n] - ci[m] * IDENTITY[n])
    add_sym_product(ci, ci, f * i1, CC)
    return 0.5 * mu * (j23 * i1 - 3.0)


@njit(cache=True, error_model="numpy")
def neo_hookean_compressible(C, params, basis, S, CC):
    """Coupled W = μ/2 (I1 − 3) − μ ln J + λ/2 (ln J)²; params = (μ, λ) in MPa.

    S = μ (I − C⁻¹) + λ ln J C⁻¹, CC = λ C⁻¹ ⊗ C⁻¹ + 2 (μ − λ ln J) C⁻¹ ⊙ C⁻¹.
    Returns W in MPa (Bonet & Wood, Nonlinear Continuum Mechanics for FEA, 1997, ch. 5).
    """
    mu = params[0]
    lam = params[1]
    wk = np.empty((4, 6))
    c, ci, cb = wk[0], wk[1], wk[2]
    J = kinematics(C, c, ci, cb)
    lnJ = np.log(J)
    for m in range(6):
        S[m] = mu * IDENTITY[m] - (mu - lam * lnJ) * ci[m]
        for n in range(6):
            CC[m, n] = lam * ci[m] * ci[n]
    add_sym_product(ci, ci, 2.0 * (mu - lam * lnJ), CC)
    return 0.5 * mu * (c[0] + c[1] + c[2] - 3.0) - mu * lnJ + 0.5 * lam * lnJ * lnJ


_MU = Parameter("mu", "stress", bounds=POSITIVE, doc="shear modulus μ")

SPEC = MaterialSpec(
    name="neo-hookean",
    model_id=NEO_HOOKEAN_ID,
    parameters=(_MU, BULK),
    coupled=False,
    basis="none",
    citation="Treloar, Trans Faraday Soc 39:241 (1943); uncoupled form: Simo, Taylor & Pister, "
    "CMAME 51:177 (1985)",
    kernel_parameters=("mu",),
    to_kernel=lambda v: (v["mu"],),
    shear_modulus=lambda v: v["mu"],
    doc="Ψ = μ/2 (Ī1 − 3) + U(J); μ0 = μ.",
)

SPEC_COMPRESSIBLE = MaterialSpec(
    name="neo-hookean-compressible",
    model_id=NEO_HOOKEAN_COMPRESSIBLE_ID,
    parameters=(_MU, BULK),
    coupled=True,
    basis="none",
    citation="Bonet & Wood, Nonlinear Continuum Mechanics for Finite Element Analysis "
    "(1997), ch. 5",
    kernel_parameters=("mu", "lambda"),
    to_kernel=lambda v: (v["mu"], v["bulk"] - 2.0 * v["mu"] / 3.0),
    shear_modulus=lambda v: v["mu"],
    doc="W = μ/2 (I1 − 3) − μ ln J + λ/2 (ln J)², λ = bulk − 2μ/3; μ0 = μ.",
)
