"""Raghavan–Vorp AAA wall, uncoupled: Ψ = α (Ī1 − 3) + β (Ī1 − 3)² (isochoric part, MPa)."""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials._tensor import invariant_fictitious, isochoric_projection, kinematics
from biomech.materials.base import BULK, NONNEGATIVE, POSITIVE, MaterialSpec, Parameter

RAGHAVAN_VORP_ID = 5


@njit(cache=True, error_model="numpy")
def raghavan_vorp(C, params, basis, S, CC):
    """Isochoric Ψ = α (Ī1 − 3) + β (Ī1 − 3)²; params = (α, β) in MPa; returns Ψ (MPa).

    Source: Raghavan & Vorp, J Biomech 33:475 (2000).
    """
    alpha = params[0]
    beta = params[1]
    wk = np.empty((4, 6))
    c, ci, cb = wk[0], wk[1], wk[2]
    J = kinematics(C, c, ci, cb)
    x = cb[0] + cb[1] + cb[2] - 3.0
    invariant_fictitious(cb, alpha + 2.0 * beta * x, 0.0, 2.0 * beta, 0.0, 0.0, S, CC)
    isochoric_projection(c, ci, J, S, CC, wk[3])
    return x * (alpha + beta * x)


SPEC = MaterialSpec(
    name="raghavan-vorp",
    model_id=RAGHAVAN_VORP_ID,
    parameters=(
        Parameter("alpha", "stress", bounds=POSITIVE, doc="α; population mean 0.174 MPa"),
        Parameter("beta", "stress", bounds=NONNEGATIVE, doc="β; population mean 1.881 MPa"),
        BULK,
    ),
    coupled=False,
    basis="none",
    citation="Raghavan & Vorp, J Biomech 33:475 (2000)",
    kernel_parameters=("alpha", "beta"),
    to_kernel=lambda v: (v["alpha"], v["beta"]),
    shear_modulus=lambda v: 2.0 * v["alpha"],
    doc="Ψ = α (Ī1 − 3) + β (Ī1 − 3)² + U(J); μ0 = 2α (E = 6α).",
)
