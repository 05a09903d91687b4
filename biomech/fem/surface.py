"""Numba kernels for surface loads: follower pressure and elastic ground springs.

Follower pressure p acts on the deformed surface with traction t = -p n (n the outward
normal of the solid), i.e. it pushes into the solid. Units: MPa on mm², forces in N.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _cross(a, b, out):
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]


@njit(cache=True)
def pressure_face(xe, N, dN, w, p, fe, Ke, want_K, symmetric):
    """External force ``fe`` of pressure ``p`` on one face at current coordinates ``xe``.

    ``Ke`` receives the load stiffness -∂fe/∂x (to be added to the tangent of the
    residual R = f_int - f_ext); its symmetric part when ``symmetric``.
    """
    nn = xe.shape[0]
    fe[:] = 0.0
    if want_K:
        Ke[:, :] = 0.0
    xr = np.empty(3)
    xs = np.empty(3)
    n = np.empty(3)
    for q in range(w.shape[0]):
        xr[:] = 0.0
        xs[:] = 0.0
        for a in range(nn):
            for i in range(3):
                xr[i] += dN[q, a, 0] * xe[a, i]
                xs[i] += dN[q, a, 1] * xe[a, i]
        _cross(xr, xs, n)
        for a in range(nn):
            c = -p * N[q, a] * w[q]
            for i in range(3):
                fe[3 * a + i] += c * n[i]
        if not want_K:
            continue
        # n = x_r × x_s, so d n / d x_b = ds [x_r]× − dr [x_s]× = [v]×, v = ds x_r − dr x_s
        # (ds, dr = ∂N_b/∂s, ∂N_b/∂r);  K_ab = p w N_a [v]×,
        # [v]× = [[0, −v2, v1], [v2, 0, −v0], [−v1, v0, 0]]
        for b in range(nn):
            ds = dN[q, b, 1]
            dr = dN[q, b, 0]
            v0 = ds * xr[0] - dr * xs[0]
            v1 = ds * xr[1] - dr * xs[1]
            v2 = ds * xr[2] - dr * xs[2]
            cb = 3 * b
            for a in range(nn):
                c = p * N[q, a] * w[q]
                ra = 3 * a
                Ke[ra, cb + 1] -= c * v2
                Ke[ra, cb + 2] += c * v1
                Ke[ra + 1, cb] += c * v2
                Ke[ra + 1, cb + 2] -= c * v0
                Ke[ra + 2, cb] -= c * v1
                Ke[ra + 2, cb + 1] += c * v0
    if want_K and symmetric:
        nd = 3 * nn
        for r in range(nd):
            for s in range(r + 1, nd):
                m = 0.5 * (Ke[r, s] + Ke[s, r])
                Ke[r, s] = m
                Ke[s, r] = m
    return 0


@njit(cache=True)
def assemble_pressure(X, u, conn, N, dN, w, p, kpos, nptr, data, f, want_K, symmetric):
    """Add the residual contribution -f_ext and load stiffness of a pressure face block."""
    nf, nn = conn.shape
    nd = 3 * nn
    xe = np.empty((nn, 3))
    fe = np.empty(nd)
    Ke = np.empty((nd, nd))
    for e in range(nf):
        for a in range(nn):
            for i in range(3):
                xe[a, i] = X[conn[e, a], i] + u[3 * conn[e, a] + i]
        pressure_face(xe, N, dN, w, p[e], fe, Ke, want_K, symmetric)
        for a in range(nn):
            A = conn[e, a]
            for i in range(3):
                f[3 * A + i] -= fe[3 * a + i]
            if want_K:
                start = nptr[A]
                deg = nptr[A + 1] - start
                for b in range(nn):
                    k = kpos[e, a, b] - start
                    for i in range(3):
                        row = 9 * start + i * 3 * deg + 3 * k
                        for j in range(3):
                            data[row + j] += Ke[3 * a + i, 3 * b + j]


@njit(cache=True)
def face_nodal_areas(X, conn, N, dN, w, out):
    """Accumulate ∫ N_a dA (reference area lumped to nodes, mm²) into ``out``."""
    nf, nn = conn.shape
    xr = np.empty(3)
    xs = np.empty(3)
    n = np.empty(3)
    for e in range(nf):
        for q in range(w.shape[0]):
            xr[:] = 0.0
            xs[:] = 0.0
            for a in range(nn):
                for i in range(3):
                    xr[i] += dN[q, a, 0] * X[conn[e, a], i]
                    xs[i] += dN[q, a, 1] * X[conn[e, a], i]
            _cross(xr, xs, n)
            da = np.sqrt(n[0] ** 2 + n[1] ** 2 + n[2] ** 2) * w[q]
            for a in range(nn):
                out[conn[e, a]] += N[q, a] * da
