"""Yeoh solid, uncoupled: Ψ = c10 x + c20 x² + c30 x³, x = Ī1 − 3 (isochoric part, MPa)."""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials._tensor import invariant_fictitious, isochoric_projection, kinematics
from biomech.materials.base import BULK, NONNEGATIVE, POSITIVE, REAL, MaterialSpec, Parameter

YEOH_ID = 4


@njit(cache=True, error_model="numpy")
def yeoh(C, params, basis, S, CC):
    """Isochoric Ψ = c10 x + c20 x² + c30 x³, x = Ī1 − 3; params = (c10, c20, c30) in MPa.

    Returns Ψ in MPa. Source: Yeoh, Rubber Chem Technol 66:754 (1993).
    """
    c10 = params[0]
    c20 = params[1]
    c30 = params[2]
    wk = np.empty((4, 6))
    c, ci, cb = wk[0], wk[1], wk[2]
    J = kinematics(C, c, ci, cb)
    x = cb[0] + cb[1] + cb[2] - 3.0
    d1 = c10 + 2.0 * c20 * x + 3.0 * c30 * x * x
    d11 = 2.0 * c20 + 6.0 * c30 * x
    invariant_fictitious(cb, d1, 0.0, d11, 0.0, 0.0, S, CC)
    isochoric_projection(c, ci, J, S, CC, wk[3])
    return x * (c10 + x * (c20 + x * c30))


SPEC = MaterialSpec(
    name="yeoh",
    model_id=YEOH_ID,
    parameters=(
        Parameter("c10", "stress", bounds=POSITIVE, doc="coefficient of (Ī1 − 3)"),
        Parameter("c20", "stress", bounds=REAL, doc="coefficient of (Ī1 − 3)²"),
        Parameter("c30", "stress", bounds=NONNEGATIVE, doc="coefficient of (Ī1 − 3)³"),
        BULK,
    ),
    coupled=False,
    basis="none",
    citation="Yeoh, Rubber Chem Technol 66:754 (1993)",
    kernel_parameters=("c10", "c20", "c30"),
    to_kernel=lambda v: (v["c10"], v["c20"], v["c30"]),
    shear_modulus=lambda v: 2.0 * v["c10"],
    doc="Ψ = c10 (Ī1 − 3) + c20 (Ī1 − 3)² + c30 (Ī1 − 3)³ + U(J); μ0 = 2 c10.",
)
