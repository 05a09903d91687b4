"""Volumetric energy of the uncoupled (nearly incompressible) materials.

U(J) = k/4 (J² − 1 − 2 ln J) (Simo & Miehe, CMAME 98:41, 1992), k the bulk modulus in
MPa; U(1) = U'(1) = 0 and U''(1) = k. The element code evaluates it at the element-mean
dilatation; ``volumetric_response`` is the pointwise form used by ``evaluate``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials._tensor import add_sym_product, kinematics


@njit(cache=True, error_model="numpy")
def volumetric_energy(J: float, k: float) -> float:
    """U(J) = k/4 (J² − 1 − 2 ln J) in MPa (Simo & Miehe 1992)."""
    return 0.25 * k * (J * J - 1.0 - 2.0 * np.log(J))


@njit(cache=True, error_model="numpy")
def volumetric_dU(J: float, k: float) -> float:
    """U'(J) = k/2 (J − 1/J) in MPa: the hydrostatic pressure-like stress (Simo & Miehe 1992)."""
    return 0.5 * k * (J - 1.0 / J)


@njit(cache=True, error_model="numpy")
def volumetric_d2U(J: float, k: float) -> float:
    """U''(J) = k/2 (1 + 1/J²) in MPa (Simo & Miehe 1992)."""
    return 0.5 * k * (1.0 + 1.0 / (J * J))


@njit(cache=True, error_model="numpy")
def volumetric_response(C, k, S, CC):
    """Add the pointwise volumetric 2nd PK stress and tangent to S (6,), CC (6, 6); returns U.

    S_vol = J U' C⁻¹, CC_vol = J (U' + J U'') C⁻¹ ⊗ C⁻¹ − 2 J U' C⁻¹ ⊙ C⁻¹
    (Holzapfel, Nonlinear Solid Mechanics, 2000, ch. 6). Units MPa.
    """
    wk = np.empty((3, 6))
    ci = wk[1]
    J = kinematics(C, wk[0], ci, wk[2])
    p = volumetric_dU(J, k)
    pt = p + J * volumetric_d2U(J, k)
    for m in range(6):
        S[m] += J * p * ci[m]
        for n in range(6):
            CC[m, n] += J * pt * ci[m] * ci[n]
    add_sym_product(ci, ci, -2.0 * J * p, CC)
    return volumetric_energy(J, k)
