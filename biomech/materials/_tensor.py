"""Small numba helpers for symmetric tensors in Voigt form (11, 22, 33, 12, 23, 13).

Conventions: a symmetric second-order tensor A is stored as the 6-vector of its plain
components; a fourth-order tensor with minor symmetries as the 6x6 matrix of its plain
components (no factors of 2). A double contraction over a symmetric index pair is then
``sum_m W[m] * a[m] * b[m]`` with the weights ``W = (1, 1, 1, 2, 2, 2)``.

The kernels run about a million times per assembly, so the helpers write into arrays
given to them instead of allocating; each material kernel allocates one small work array.
The isochoric projection follows Holzapfel, Nonlinear Solid Mechanics (2000), ch. 6 (§6.4).
"""

from __future__ import annotations

import numpy as np
from numba import njit

VI = np.array([0, 1, 2, 0, 1, 0])  # first index of each Voigt slot
VJ = np.array([0, 1, 2, 1, 2, 2])  # second index of each Voigt slot
V3 = np.array([[0, 3, 5], [3, 1, 4], [5, 4, 2]])  # Voigt slot of (i, j)
W = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])  # contraction weights
IDENTITY = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])  # I in Voigt form


@njit(cache=True, error_model="numpy")
def ddot(a, b):
    """Double contraction a : b of two symmetric tensors in Voigt form."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + 2.0 * (a[3] * b[3] + a[4] * b[4] + a[5] * b[5])


@njit(cache=True, error_model="numpy")
def invariants(c):
    """First and second invariants (I1, I2) of a symmetric tensor in Voigt form."""
    i1 = c[0] + c[1] + c[2]
    i2 = c[0] * c[1] + c[1] * c[2] + c[0] * c[2] - c[3] * c[3] - c[4] * c[4] - c[5] * c[5]
    return i1, i2


@njit(cache=True, error_model="numpy")
def kinematics(C, c, ci, cb):
    """From C (3, 3) write Voigt c, its inverse ci and cb = J^(-2/3) c; return J = sqrt(det C)."""
    c[0] = C[0, 0]
    c[1] = C[1, 1]
    c[2] = C[2, 2]
    c[3] = 0.5 * (C[0, 1] + C[1, 0])
    c[4] = 0.5 * (C[1, 2] + C[2, 1])
    c[5] = 0.5 * (C[0, 2] + C[2, 0])
    ci[0] = c[1] * c[2] - c[4] * c[4]
    ci[1] = c[0] * c[2] - c[5] * c[5]
    ci[2] = c[0] * c[1] - c[3] * c[3]
    ci[3] = c[4] * c[5] - c[3] * c[2]
    ci[4] = c[3] * c[5] - c[0] * c[4]
    ci[5] = c[3] * c[4] - c[1] * c[5]
    det = c[0] * ci[0] + c[3] * ci[3] + c[5] * ci[5]
    f = det ** (-1.0 / 3.0)
    for m in range(6):
        ci[m] /= det
        cb[m] = f * c[m]
    return np.sqrt(det)


@njit(cache=True, error_model="numpy")
def add_sym_product(a, b, coef, CC):
    """CC += coef * (a ⊙ b), (a ⊙ b)_IJKL = ½(a_IK b_JL + a_IL b_JK), for a, b in Voigt form."""
    for m in range(6):
        i = VI[m]
        j = VJ[m]
        for n in range(6):
            k = VI[n]
            q = VJ[n]
            CC[m, n] += 0.5 * coef * (a[V3[i, k]] * b[V3[j, q]] + a[V3[i, q]] * b[V3[j, k]])


@njit(cache=True, error_model="numpy")
def invariant_fictitious(cb, d1, d2, d11, d12, d22, Sbar, CCbar):
    """Write S̄ = 2∂Ψ/∂C̄ into Sbar (6,) and C̃ = 4∂²Ψ/∂C̄∂C̄ into CCbar (6, 6) for Ψ(Ī1, Ī2).

    ``d1, d2, d11, d12, d22`` are ∂Ψ/∂Ī1, ∂Ψ/∂Ī2 and the second derivatives. Uses
    ∂Ī1/∂C̄ = I, ∂Ī2/∂C̄ = Ī1 I − C̄, ∂²Ī2/∂C̄∂C̄ = I ⊗ I − 𝕀 (Holzapfel 2000, §6.2).
    """
    i1 = cb[0] + cb[1] + cb[2]
    for m in range(6):
        gm = i1 * IDENTITY[m] - cb[m]  # ∂Ī2/∂C̄
        Sbar[m] = 2.0 * (d1 * IDENTITY[m] + d2 * gm)
        for n in range(6):
            gn = i1 * IDENTITY[n] - cb[n]
            CCbar[m, n] = 4.0 * (
                (d11 + d2) * IDENTITY[m] * IDENTITY[n]
                + d12 * (IDENTITY[m] * gn + gm * IDENTITY[n])
                + d22 * gm * gn
            )
    for m in range(3):  # − 4 Ψ2 𝕀 ; 𝕀 = diag(1, 1, 1, ½, ½, ½) in Voigt form
        CCbar[m, m] -= 4.0 * d2
        CCbar[m + 3, m + 3] -= 2.0 * d2


@njit(cache=True, error_model="numpy")
def isochoric_projection(c, ci, J, S, CC, work):
    """Turn the fictitious S̄ (in S) and C̃ (in CC) into S_iso, CC_iso, in place.

    With S̄ = 2∂Ψ/∂C̄ and C̃ = 4∂²Ψ/∂C̄∂C̄ (w.r.t. C̄ = J^(-2/3) C; Holzapfel 2000, §6.4):
      S_iso  = J^(-2/3) DEV S̄ = J^(-2/3) S̄ − ⅓ (S̄ : C̄) C⁻¹,
      CC_iso = P : (J^(-4/3) C̃) : Pᵀ + ⅔ (S̄ : C̄) P̃ − ⅔ (C⁻¹ ⊗ S_iso + S_iso ⊗ C⁻¹),
    P = 𝕀 − ⅓ C⁻¹ ⊗ C, P̃ = C⁻¹ ⊙ C⁻¹ − ⅓ C⁻¹ ⊗ C⁻¹. ``work`` is (6,) scratch.
    """
    j23 = J ** (-2.0 / 3.0)
    j43 = j23 * j23
    tr = j23 * ddot(S, c)  # S̄ : C̄
    for m in range(6):
        S[m] = j23 * S[m] - tr / 3.0 * ci[m]
    # P : A : Pᵀ = A − ⅓ C⁻¹ ⊗ (C : A) − ⅓ (A : C) ⊗ C⁻¹ + ⅑ (C : A : C) C⁻¹ ⊗ C⁻¹
    ca = work  # C : A with A = J^(-4/3) C̃ (major symmetric)
    for n in range(6):
        s = 0.0
        for m in range(6):
            s += W[m] * c[m] * CC[m, n]
        ca[n] = j43 * s
    k = ddot(ca, c) / 9.0 - 2.0 * tr / 9.0
    for m in range(6):
        for n in range(6):
            CC[m, n] = (
                j43 * CC[m, n]
                - (ci[m] * ca[n] + ca[m] * ci[n]) / 3.0
                + k * ci[m] * ci[n]
                - 2.0 / 3.0 * (ci[m] * S[n] + S[m] * ci[n])
            )
    add_sym_product(ci, ci, 2.0 / 3.0 * tr, CC)
