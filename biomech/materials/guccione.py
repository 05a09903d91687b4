"""Guccione passive myocardium, uncoupled: Ψ = C/2 (e^Q − 1) on the isochoric strain.

Q = bf Ē_ff² + bt (Ē_ss² + Ē_nn² + 2 Ē_sn²) + bfs (2 Ē_fs² + 2 Ē_fn²), with
Ē = ½(C̄ − I) in the local fibre/sheet/normal basis (basis rows f, s, n).
Units: C in MPa; bf, bt, bfs dimensionless.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials._tensor import IDENTITY, VI, VJ, ddot, isochoric_projection, kinematics
from biomech.materials.base import BULK, NONNEGATIVE, POSITIVE, MaterialSpec, Parameter

GUCCIONE_ID = 7


@njit(cache=True, error_model="numpy")
def guccione(C, params, basis, S, CC):
    """Isochoric Guccione energy; params = (C, bf, bt, bfs); basis rows = (f, s, n).

    Writes S_iso, CC_iso; returns Ψ in MPa. Source: Guccione, McCulloch & Waldman,
    J Biomech Eng 113:42 (1991), as in Land et al., Proc R Soc A 471:20150641 (2015).
    """
    cm = params[0]
    wk = np.empty((12, 6))
    c, ci, cb, b, t, eb = wk[0], wk[1], wk[2], wk[3], wk[4], wk[5]
    N = wk[6:]  # N[m] = sym(r_a ⊗ r_b) of local mode m = (a, b), in global Voigt form
    J = kinematics(C, c, ci, cb)
    # local modes m = ff, ss, nn, fs, sn, fn: b[m] = Voigt weight × exponent, so Q = Σ b_m E_m²
    b[0] = params[1]
    b[1] = params[2]
    b[2] = params[2]
    b[3] = 2.0 * params[3]
    b[4] = 2.0 * params[2]
    b[5] = 2.0 * params[3]
    for k in range(6):  # Ē = ½(C̄ − I)
        eb[k] = 0.5 * (cb[k] - IDENTITY[k])
    for m in range(6):
        ra = basis[VI[m]]
        rb = basis[VJ[m]]
        for k in range(6):
            i = VI[k]
            j = VJ[k]
            N[m, k] = 0.5 * (ra[i] * rb[j] + rb[i] * ra[j])
    q = 0.0
    for k in range(6):
        t[k] = 0.0
    for m in range(6):
        em = ddot(eb, N[m])  # E_m = r_a · Ē r_b
        q += b[m] * em * em
        for k in range(6):
            t[k] += b[m] * em * N[m, k]  # T = ∂Q/∂C̄ = Σ b_m E_m N_m
    eq = np.exp(q)
    f = cm * eq
    # S̄ = C e^Q T,  C̃ = 2C e^Q (T ⊗ T + ½ Σ b_m N_m ⊗ N_m)
    for k in range(6):
        S[k] = f * t[k]
        for n in range(6):
            s = 0.0
            for m in range(6):
                s += b[m] * N[m, k] * N[m, n]
            CC[k, n] = 2.0 * f * (t[k] * t[n] + 0.5 * s)
    isochoric_projection(c, ci, J, S, CC, eb)
    return 0.5 * cm * (eq - 1.0)


SPEC = MaterialSpec(
    name="guccione",
    model_id=GUCCIONE_ID,
    parameters=(
        Parameter("C", "stress", bounds=POSITIVE, doc="stiffness scale C"),
        Parameter("bf", "dimensionless", bounds=NONNEGATIVE, doc="fibre exponent b_f"),
        Parameter("bt", "dimensionless", bounds=NONNEGATIVE, doc="transverse exponent b_t"),
        Parameter("bfs", "dimensionless", bounds=NONNEGATIVE, doc="fibre-sheet shear exponent"),
        BULK,
    ),
    coupled=False,
    basis="fibre-sheet",
    citation="Guccione, McCulloch & Waldman, J Biomech Eng 113:42 (1991); "
    "Land et al., Proc R Soc A 471:20150641 (2015)",
    kernel_parameters=("C", "bf", "bt", "bfs"),
    to_kernel=lambda v: (v["C"], v["bf"], v["bt"], v["bfs"]),
    shear_modulus=lambda v: v["C"] * (2.0 * v["bf"] + 7.0 * v["bt"] + 6.0 * v["bfs"]) / 30.0,
    doc="μ0 = C (2 bf + 7 bt + 6 bfs)/30: the mean of the shear moduli of the five isochoric "
    "small-strain modes (C bfs/2 twice, C bt/2 twice, C (2bf + bt)/6); = C b/2 when all b equal.",
)
