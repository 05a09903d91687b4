"""Mooney–Rivlin solid, uncoupled: Ψ = c10 (Ī1 − 3) + c01 (Ī2 − 3) (isochoric part, MPa)."""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials._tensor import (
    invariant_fictitious,
    invariants,
    isochoric_projection,
    kinematics,
)
from biomech.materials.base import BULK, NONNEGATIVE, MaterialSpec, Parameter

MOONEY_RIVLIN_ID = 3


@njit(cache=True, error_model="numpy")
def mooney_rivlin(C, params, basis, S, CC):
    """Isochoric Ψ = c10 (Ī1 − 3) + c01 (Ī2 − 3); params = (c10, c01) in MPa; returns Ψ (MPa).

    Source: Mooney, J Appl Phys 11:582 (1940); Rivlin, Phil Trans R Soc A 241:379 (1948).
    """
    c10 = params[0]
    c01 = params[1]
    wk = np.empty((4, 6))
    c, ci, cb = wk[0], wk[1], wk[2]
    J = kinematics(C, c, ci, cb)
    i1, i2 = invariants(cb)
    invariant_fictitious(cb, c10, c01, 0.0, 0.0, 0.0, S, CC)
    isochoric_projection(c, ci, J, S, CC, wk[3])
    return c10 * (i1 - 3.0) + c01 * (i2 - 3.0)


SPEC = MaterialSpec(
    name="mooney-rivlin",
    model_id=MOONEY_RIVLIN_ID,
    parameters=(
        Parameter("c10", "stress", bounds=NONNEGATIVE, doc="coefficient of Ī1 − 3"),
        Parameter("c01", "stress", bounds=NONNEGATIVE, doc="coefficient of Ī2 − 3"),
        BULK,
    ),
    coupled=False,
    basis="none",
    citation="Mooney, J Appl Phys 11:582 (1940); Rivlin, Phil Trans R Soc A 241:379 (1948)",
    kernel_parameters=("c10", "c01"),
    to_kernel=lambda v: (v["c10"], v["c01"]),
    shear_modulus=lambda v: 2.0 * (v["c10"] + v["c01"]),
    doc="Ψ = c10 (Ī1 − 3) + c01 (Ī2 − 3) + U(J); μ0 = 2 (c10 + c01).",
)
