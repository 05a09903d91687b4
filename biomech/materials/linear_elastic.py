"""Saint Venant–Kirchhoff solid, coupled: S = λ tr(E) I + 2μ E, E = ½(C − I).

It is the geometrically nonlinear extension of isotropic linear elasticity and coincides
with it in the small-strain limit; at large strains it is objective but not a good solid
(it softens and can collapse in compression). Units: E, λ, μ in MPa.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials._tensor import IDENTITY, VI, VJ, ddot
from biomech.materials.base import POISSON, POSITIVE, MaterialSpec, Parameter

LINEAR_ELASTIC_ID = 9


@njit(cache=True, error_model="numpy")
def linear_elastic(C, params, basis, S, CC):
    """Saint Venant–Kirchhoff W = λ/2 (tr E)² + μ E:E; params = (λ, μ) in MPa; returns W (MPa).

    S = λ tr(E) I + 2μ E, CC = λ I ⊗ I + 2μ 𝕀; equals small-strain linear elasticity for
    small strains (e.g. Holzapfel, Nonlinear Solid Mechanics, 2000, ch. 6).
    """
    lam = params[0]
    mu = params[1]
    e = np.empty(6)  # E = ½(C − I)
    for m in range(6):
        e[m] = 0.25 * (C[VI[m], VJ[m]] + C[VJ[m], VI[m]]) - 0.5 * IDENTITY[m]
    tr = e[0] + e[1] + e[2]
    for m in range(6):
        S[m] = 2.0 * mu * e[m]
        for n in range(6):
            CC[m, n] = 0.0
    for m in range(3):
        S[m] += lam * tr
        CC[m, m] = 2.0 * mu
        CC[m + 3, m + 3] = mu
        for n in range(3):
            CC[m, n] += lam
    return 0.5 * lam * tr * tr + mu * ddot(e, e)


def _lame(v):
    E, nu = v["E"], v["nu"]
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


SPEC = MaterialSpec(
    name="linear-elastic",
    model_id=LINEAR_ELASTIC_ID,
    parameters=(
        Parameter("E", "stress", bounds=POSITIVE, doc="Young's modulus"),
        Parameter("nu", "dimensionless", bounds=POISSON, doc="Poisson's ratio"),
    ),
    coupled=True,
    basis="none",
    citation="Saint Venant–Kirchhoff; e.g. Holzapfel, Nonlinear Solid Mechanics (2000), ch. 6",
    kernel_parameters=("lambda", "mu"),
    to_kernel=_lame,
    shear_modulus=lambda v: v["E"] / (2.0 * (1.0 + v["nu"])),
    doc="S = λ tr(E) I + 2μ E (Saint Venant–Kirchhoff = linear elasticity at small strain).",
)
