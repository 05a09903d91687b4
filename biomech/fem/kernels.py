"""Numba kernels for solid elements: total-Lagrangian internal force and tangent.

Uncoupled (nearly incompressible) materials use an element-mean dilatation: the
volumetric energy is V0·U(θ) with θ = (1/V0)∫J dV0 constant per element, which is the
three-field u–p–J formulation with piecewise-constant p and J statically condensed
(Q1P0 on hexahedra/wedges, P2/P0 on quadratic tetrahedra; Simo, Taylor & Pister 1985).
Coupled materials integrate their full energy at the quadrature points.
Units: mm, N, MPa.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from biomech.materials.kernel import material_response
from biomech.materials.volumetric import volumetric_d2U, volumetric_dU

# Voigt pairs (11, 22, 33, 12, 23, 13)
_VI = np.array([0, 1, 2, 0, 1, 0])
_VJ = np.array([0, 1, 2, 1, 2, 2])

INVERTED = 1


@njit(cache=True, inline="always")
def _det3(A):
    return (
        A[0, 0] * (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1])
        - A[0, 1] * (A[1, 0] * A[2, 2] - A[1, 2] * A[2, 0])
        + A[0, 2] * (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0])
    )


@njit(cache=True)
def _inv3(A, out):
    d = _det3(A)
    out[0, 0] = (A[1, 1] * A[2, 2] - A[1, 2] * A[2, 1]) / d
    out[0, 1] = (A[0, 2] * A[2, 1] - A[0, 1] * A[2, 2]) / d
    out[0, 2] = (A[0, 1] * A[1, 2] - A[0, 2] * A[1, 1]) / d
    out[1, 0] = (A[1, 2] * A[2, 0] - A[1, 0] * A[2, 2]) / d
    out[1, 1] = (A[0, 0] * A[2, 2] - A[0, 2] * A[2, 0]) / d
    out[1, 2] = (A[0, 2] * A[1, 0] - A[0, 0] * A[1, 2]) / d
    out[2, 0] = (A[1, 0] * A[2, 1] - A[1, 1] * A[2, 0]) / d
    out[2, 1] = (A[0, 1] * A[2, 0] - A[0, 0] * A[2, 1]) / d
    out[2, 2] = (A[0, 0] * A[1, 1] - A[0, 1] * A[1, 0]) / d
    return d


@njit(cache=True, fastmath=True, error_model="numpy")
def reference_gradients(Xe, dN_dxi, dNdX, J0, J0inv):
    """Shape-function gradients dN/dX (nn, 3) at one quadrature point; returns det J0."""
    nn = Xe.shape[0]
    J0[:, :] = 0.0
    for a in range(nn):
        for i in range(3):
            for k in range(3):
                J0[i, k] += Xe[a, i] * dN_dxi[a, k]
    det = _inv3(J0, J0inv)
    for a in range(nn):
        for I in range(3):
            s = 0.0
            for k in range(3):
                s += dN_dxi[a, k] * J0inv[k, I]
            dNdX[a, I] = s
    return det


@njit(cache=True, fastmath=True)
def right_cauchy_green(F, C):
    """C = Fᵀ F."""
    for I in range(3):
        for K in range(3):
            s = 0.0
            for i in range(3):
                s += F[i, I] * F[i, K]
            C[I, K] = s


@njit(cache=True, fastmath=True)
def deformation_gradient(ue, dNdX, F):
    nn = ue.shape[0]
    for i in range(3):
        for I in range(3):
            F[i, I] = 1.0 if i == I else 0.0
    for a in range(nn):
        for i in range(3):
            for I in range(3):
                F[i, I] += ue[a, i] * dNdX[a, I]


# Voigt slot of the tensor index pair (I, J)
_V3 = np.array([[0, 3, 5], [3, 1, 4], [5, 4, 2]])


@njit(cache=True)
def make_workspace(nn, nq):
    """Scratch arrays of ``solid_element_ws`` for an element of nn nodes and nq points."""
    return (
        np.empty((nq, nn, 3)), np.empty((3, 3)), np.empty((3, 3)), np.empty((nq, 3, 3)),
        np.empty(6), np.empty((6, 6)), np.empty((nq, 9, 9)), np.empty((3, 3, 3, 3)),
        np.empty((nq, nn, 3)), np.empty(nq), np.empty((nn, 3)), np.empty((3, 3)),
        np.empty((3, 3)), np.empty((nn, 3, 3, 3 * nq)), np.empty((nn, 3 * nq)), np.empty((3, 3)),
    )


@njit(cache=True)
def solid_element(Xe, ue, dN_dxi, w, model_id, params, basis, bulk, fe, Ke, want_K):
    """Internal force ``fe`` (3nn,) and tangent ``Ke`` (3nn, 3nn) of one element.

    Returns 0, or INVERTED when det F <= 0 or det J0 <= 0 at a quadrature point.
    """
    ws = make_workspace(Xe.shape[0], w.shape[0])
    return solid_element_ws(Xe, ue, dN_dxi, w, model_id, params, basis, bulk, fe, Ke, want_K, ws)


@njit(cache=True, fastmath=True)
def first_elasticity(F, S, CC, dV0, G, A):
    """A[3i+J, 3k+L] = dV0 ∂P_iJ/∂F_kL = dV0 (F_iI CC_IJKL F_kK + δ_ik S_JL) for P = F S."""
    for i in range(3):
        for J in range(3):
            for K in range(3):
                for L in range(3):
                    s = 0.0
                    for I in range(3):
                        s += F[i, I] * CC[_V3[I, J], _V3[K, L]]
                    G[i, J, K, L] = s * dV0
    for i in range(3):
        for J in range(3):
            r = 3 * i + J
            for k in range(3):
                for L in range(3):
                    s = 0.0
                    for K in range(3):
                        s += G[i, J, K, L] * F[k, K]
                    A[r, 3 * k + L] = s
            for L in range(3):
                A[r, 3 * i + L] += dV0 * S[_V3[J, L]]


@njit(cache=True, fastmath=True, error_model="numpy")
def solid_element_ws(Xe, ue, dN_dxi, w, model_id, params, basis, bulk, fe, Ke, want_K, ws):
    """``solid_element`` with caller-provided scratch arrays ``ws`` (see make_workspace).

    Tangent: Ke[3a+i, 3b+k] = Σ_q Σ_JL ∂N_a/∂X_J A_q[3i+J, 3k+L] ∂N_b/∂X_L (+ the mean
    dilatation's k h⊗h), with A_q the first elasticity tensor times the point's volume
    (the pressure part of the mixed element folded in). The sum over points runs as one
    dot product of length 3nq per entry, and each entry is written once with its mirror
    (the tangent of a hyperelastic solid is symmetric).
    """
    nn = Xe.shape[0]
    nq = w.shape[0]
    fe[:] = 0.0
    dNq, F, C, Finvq, S, CC, Aq, G, gx, dv, h, J0, J0inv, T, D, P = ws
    mixed = bulk > 0.0
    V0 = 0.0
    for q in range(nq):
        dNdX = dNq[q]
        detJ0 = reference_gradients(Xe, dN_dxi[q], dNdX, J0, J0inv)
        if detJ0 <= 0.0:
            return INVERTED
        deformation_gradient(ue, dNdX, F)
        J = _det3(F)
        if J <= 0.0:
            return INVERTED
        dV0 = w[q] * detJ0
        right_cauchy_green(F, C)
        material_response(model_id, C, params, basis, S, CC)
        # P = F S dV0  -> fe[a,i] += P_iJ dN_a/dX_J
        for i in range(3):
            for K in range(3):
                P[i, K] = dV0 * (F[i, 0] * S[_V3[0, K]] + F[i, 1] * S[_V3[1, K]]
                                 + F[i, 2] * S[_V3[2, K]])
        for a in range(nn):
            for i in range(3):
                fe[3 * a + i] += P[i, 0] * dNdX[a, 0] + P[i, 1] * dNdX[a, 1] + P[i, 2] * dNdX[a, 2]
        if mixed:
            Finv = Finvq[q]
            _inv3(F, Finv)
            for a in range(nn):
                for i in range(3):
                    s = 0.0
                    for I in range(3):
                        s += Finv[I, i] * dNdX[a, I]
                    gx[q, a, i] = s
            dv[q] = J * dV0
            V0 += dV0
        if want_K:
            first_elasticity(F, S, CC, dV0, G, Aq[q])
    p = 0.0
    kk = 0.0
    h[:, :] = 0.0
    if mixed:
        v = 0.0
        for q in range(nq):
            v += dv[q]
        theta = v / V0
        p = volumetric_dU(theta, bulk)
        for q in range(nq):
            for a in range(nn):
                for i in range(3):
                    h[a, i] += gx[q, a, i] * dv[q]
        for a in range(nn):
            for i in range(3):
                fe[3 * a + i] += p * h[a, i]
        kk = volumetric_d2U(theta, bulk) / V0
    if want_K:
        _tangent(Aq, dNq, Finvq, dv, p, kk, h, mixed, T, D, Ke)
    return 0


@njit(cache=True, fastmath=True)
def _tangent(Aq, dNq, Finvq, dv, p, kk, h, mixed, T, D, Ke):
    """Ke from the per-point A_q (see solid_element_ws); writes every entry of Ke."""
    nq, nn = dNq.shape[0], dNq.shape[1]
    for q in range(nq):
        A = Aq[q]
        if mixed:
            # pressure part p dv (g_a,i g_b,k − g_a,k g_b,i), g = F⁻ᵀ ∇N, as A entries
            pd = p * dv[q]
            Finv = Finvq[q]
            for i in range(3):
                for J in range(3):
                    fji = pd * Finv[J, i]
                    for k in range(3):
                        fjk = pd * Finv[J, k]
                        for L in range(3):
                            A[3 * i + J, 3 * k + L] += fji * Finv[L, k] - fjk * Finv[L, i]
        dN = dNq[q]
        o = 3 * q
        for a in range(nn):
            D[a, o] = dN[a, 0]
            D[a, o + 1] = dN[a, 1]
            D[a, o + 2] = dN[a, 2]
            for i in range(3):
                for k in range(3):
                    for L in range(3):
                        T[a, i, k, o + L] = (
                            dN[a, 0] * A[3 * i, 3 * k + L]
                            + dN[a, 1] * A[3 * i + 1, 3 * k + L]
                            + dN[a, 2] * A[3 * i + 2, 3 * k + L]
                        )
    m3 = 3 * nq
    for a in range(nn):
        for b in range(a, nn):
            for i in range(3):
                hai = kk * h[a, i]
                for k in range(3):
                    s = hai * h[b, k]
                    for m in range(m3):
                        s += T[a, i, k, m] * D[b, m]
                    Ke[3 * a + i, 3 * b + k] = s
                    Ke[3 * b + k, 3 * a + i] = s


@njit(cache=True, parallel=True)
def assemble_solid(
    X, u, conn, dN_dxi, w, model_id, params, basis, bulk,
    chunk, color_ptr, color_chunks, kpos, nptr, data, f, want_K, status,
):
    """Scatter all elements of one block into the global force ``f`` and CSR ``data``.

    Elements are processed in chunks of ``chunk`` consecutive elements; chunks of one
    colour share no node (``color_chunks`` lists chunk indices by colour, see
    ``assembly.chunked_coloring``), so each colour is a race-free parallel loop over chunks.
    ``kpos[e, a, b]`` is the node-level CSR index of the (a, b) node pair; ``status[e]``
    receives each element's return code.
    """
    nn = conn.shape[1]
    nd = 3 * nn
    nq = w.shape[0]
    ne = conn.shape[0]
    for c in range(color_ptr.shape[0] - 1):
        for idx in prange(color_ptr[c], color_ptr[c + 1]):
            first = color_chunks[idx] * chunk
            Xe = np.empty((nn, 3))
            ue = np.empty((nn, 3))
            fe = np.empty(nd)
            Ke = np.empty((nd, nd))
            ws = make_workspace(nn, nq)
            for e in range(first, min(first + chunk, ne)):
                for a in range(nn):
                    for i in range(3):
                        Xe[a, i] = X[conn[e, a], i]
                        ue[a, i] = u[3 * conn[e, a] + i]
                st = solid_element_ws(
                    Xe, ue, dN_dxi, w, model_id[e], params[e], basis[e], bulk[e], fe, Ke,
                    want_K, ws,
                )
                status[e] = st
                if st != 0:
                    continue
                scatter(conn[e], kpos[e], nptr, fe, Ke, data, f, want_K)


@njit(cache=True)
def scatter(nodes, kpos_e, nptr, fe, Ke, data, f, want_K):
    """Add one element's force and tangent at its nodes (layout: see assembly.py).

    Node A's block row starts at 9 nptr[A]; its DOF i is the row segment of 3 deg entries
    from there, deg = nptr[A+1] - nptr[A], and the pair (A, B) fills 3 of them.
    """
    nn = nodes.shape[0]
    for a in range(nn):
        A = nodes[a]
        for i in range(3):
            f[3 * A + i] += fe[3 * a + i]
        if not want_K:
            continue
        start = nptr[A]
        deg = nptr[A + 1] - start
        for i in range(3):
            row = 9 * start + 3 * (i * deg - start)
            r = 3 * a + i
            for b in range(nn):
                pos = row + 3 * kpos_e[a, b]
                c = 3 * b
                v0 = Ke[r, c]
                v1 = Ke[r, c + 1]
                v2 = Ke[r, c + 2]
                data[pos] += v0
                data[pos + 1] += v1
                data[pos + 2] += v2


@njit(cache=True, parallel=True)
def element_stress(X, u, conn, dN_dxi, w, model_id, params, basis, bulk, sigma, green, jac):
    """Quadrature-averaged Cauchy stress (Voigt, MPa), Green–Lagrange strain and J per element."""
    ne, nn = conn.shape
    nq = w.shape[0]
    for e in prange(ne):
        Xe = np.empty((nn, 3))
        ue = np.empty((nn, 3))
        for a in range(nn):
            for i in range(3):
                Xe[a, i] = X[conn[e, a], i]
                ue[a, i] = u[3 * conn[e, a] + i]
        dNdX = np.empty((nn, 3))
        F = np.empty((3, 3))
        C = np.empty((3, 3))
        S = np.empty(6)
        CC = np.empty((6, 6))
        Sm = np.empty((3, 3))
        J0 = np.empty((3, 3))
        J0inv = np.empty((3, 3))
        sig = np.zeros(6)
        E = np.zeros(6)
        V0 = 0.0
        v = 0.0
        for q in range(nq):
            detJ0 = reference_gradients(Xe, dN_dxi[q], dNdX, J0, J0inv)
            deformation_gradient(ue, dNdX, F)
            J = _det3(F)
            dV0 = w[q] * abs(detJ0)
            right_cauchy_green(F, C)
            material_response(model_id[e], C, params[e], basis[e], S, CC)
            for t in range(6):
                Sm[_VI[t], _VJ[t]] = S[t]
                Sm[_VJ[t], _VI[t]] = S[t]
            for t in range(6):
                i = _VI[t]
                k = _VJ[t]
                s = 0.0
                for I in range(3):
                    for K in range(3):
                        s += F[i, I] * Sm[I, K] * F[k, K]
                sig[t] += s / J * dV0
                E[t] += 0.5 * (C[i, k] - (1.0 if i == k else 0.0)) * dV0
            V0 += dV0
            v += J * dV0
        theta = v / V0
        p = volumetric_dU(theta, bulk[e]) if bulk[e] > 0.0 else 0.0
        for t in range(6):
            sigma[e, t] = sig[t] / V0 + (p if t < 3 else 0.0)
            green[e, t] = E[t] / V0
        jac[e] = theta
