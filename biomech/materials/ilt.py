"""Intraluminal thrombus (Gasser et al. 2008), uncoupled: Ψ = c (Ī1² − 2Ī2 − 3) = c Σ(λ̄ᵢ⁴ − 1)."""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials._tensor import (
    invariant_fictitious,
    invariants,
    isochoric_projection,
    kinematics,
)
from biomech.materials.base import BULK, POSITIVE, MaterialSpec, Parameter

ILT_ID = 8


@njit(cache=True, error_model="numpy")
def ilt(C, params, basis, S, CC):
    """Isochoric Ψ = c (Ī1² − 2Ī2 − 3); params = (c,) in MPa; returns Ψ (MPa).

    Source: Gasser, Görgülü, Folkesson & Swedenborg, J Vasc Surg 48:179 (2008).
    """
    cc = params[0]
    wk = np.empty((4, 6))
    c, ci, cb = wk[0], wk[1], wk[2]
    J = kinematics(C, c, ci, cb)
    i1, i2 = invariants(cb)
    invariant_fictitious(cb, 2.0 * cc * i1, -2.0 * cc, 2.0 * cc, 0.0, 0.0, S, CC)
    isochoric_projection(c, ci, J, S, CC, wk[3])
    return cc * (i1 * i1 - 2.0 * i2 - 3.0)


SPEC = MaterialSpec(
    name="ilt",
    model_id=ILT_ID,
    parameters=(
        Parameter("c", "stress", bounds=POSITIVE, doc="c (2.62 kPa luminal ILT)"),
        BULK,
    ),
    coupled=False,
    basis="none",
    citation="Gasser, Görgülü, Folkesson & Swedenborg, J Vasc Surg 48:179 (2008)",
    kernel_parameters=("c",),
    to_kernel=lambda v: (v["c"],),
    shear_modulus=lambda v: 8.0 * v["c"],
    doc="Ψ = c (Ī1² − 2Ī2 − 3) + U(J); μ0 = 8c.",
)
