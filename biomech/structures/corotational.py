"""3-D co-rotational beam element: kinematics, section integration, force and tangent kernels.

Formulation: Battini & Pacoste, Comput Methods Appl Mech Eng 191:1755 (2002) — each
2-node element carries a rigid frame that follows it (axis through the nodes, twist from
the mean of the nodal triads); relative to that frame the element is a small-strain
Euler–Bernoulli beam with local variables ``p_l = [ū, θ̄₁, θ̄₂]`` (elongation, nodal
rotation vectors). Global variables per node: position and a rotation matrix updated
multiplicatively by spatial spins (``R ← exp(Δw) R``), so large rotations are exact.

Local response: a fibre section — the normal stress of a 1-D law (elastic or superelastic
nitinol, :mod:`biomech.structures.uniaxial`) integrated over section points at Gauss
points along the element; torsion elastic (G J). The internal force is ``f = Bᵀ f_l``;
the tangent is ``Bᵀ K_l B`` plus the geometric part ``∂(Bᵀ)/∂p · f_l`` in closed form
(Battini & Pacoste's terms for this file's B: the derivative of T_s⁻¹(θ̄), the rotation of
the frame and the variation of its G matrix), the exact derivative of f; verified against
central differences of f and of B, and against the forward differences of B it replaced
(``tests/structures/test_corotational_geometric.py``). Units: mm, N, MPa, N·mm.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from biomech.structures.laws import law_stress

GAUSS_ALONG = 3  # Gauss points along each element (2 integrate a linear-elastic beam exactly)
_CHUNKS = 64  # element chunks of the force-only kernel (each gets its own work arrays)


# --- small dense algebra (loops: numba's @ calls BLAS, whose overhead dominates 3×3 work) --


@njit(cache=True)
def _mm(A, B):
    """A @ B for small matrices."""
    n, k = A.shape
    m = B.shape[1]
    C = np.zeros((n, m))
    for i in range(n):
        for p in range(k):
            a = A[i, p]
            if a != 0.0:
                for j in range(m):
                    C[i, j] += a * B[p, j]
    return C


@njit(cache=True)
def _congruence(A, C):
    """Aᵀ C A for small matrices (A: n × m, C: n × n)."""
    n, m = A.shape
    CA = np.zeros((n, m))
    for i in range(n):
        for p in range(n):
            c = C[i, p]
            for j in range(m):
                CA[i, j] += c * A[p, j]
    out = np.zeros((m, m))
    for p in range(n):
        for i in range(m):
            a = A[p, i]
            for j in range(m):
                out[i, j] += a * CA[p, j]
    return out


@njit(cache=True)
def _mv(A, v):
    """A @ v for a small matrix."""
    out = np.zeros(A.shape[0])
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            out[i] += A[i, j] * v[j]
    return out


@njit(cache=True)
def _mtv(A, v):
    """Aᵀ @ v for a small matrix."""
    out = np.zeros(A.shape[1])
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            out[j] += A[i, j] * v[i]
    return out


# --- rotations ------------------------------------------------------------------------------


@njit(cache=True)
def skew(v):
    """Skew-symmetric matrix of v (skew(v) @ a = v × a)."""
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


@njit(cache=True)
def rotation_matrix(theta):
    """Rodrigues: the rotation matrix of a rotation vector (rad)."""
    a = np.sqrt(theta[0] ** 2 + theta[1] ** 2 + theta[2] ** 2)
    S = skew(theta)
    if a < 1e-8:
        return np.eye(3) + S + 0.5 * _mm(S, S)
    return np.eye(3) + (np.sin(a) / a) * S + ((1.0 - np.cos(a)) / (a * a)) * _mm(S, S)


@njit(cache=True, parallel=True)
def spin_all(R, w):
    """exp(w_i) R_i for every node (R: (n, 3, 3), w: (n, 3) spatial spins, rad)."""
    out = np.empty_like(R)
    for i in prange(R.shape[0]):
        t0, t1, t2 = w[i, 0], w[i, 1], w[i, 2]
        a2 = t0 * t0 + t1 * t1 + t2 * t2
        if a2 < 1e-16:  # series of sin(a)/a and (1 − cos a)/a²
            s, c = 1.0 - a2 / 6.0, 0.5 - a2 / 24.0
        else:
            a = np.sqrt(a2)
            s, c = np.sin(a) / a, (1.0 - np.cos(a)) / a2
        # Rodrigues: I + s S + c S², S = skew(w); S² = w wᵀ − |w|² I
        e00, e11, e22 = 1.0 + c * (t0 * t0 - a2), 1.0 + c * (t1 * t1 - a2), 1.0 + c * (t2 * t2 - a2)
        e01, e10 = c * t0 * t1 - s * t2, c * t0 * t1 + s * t2
        e02, e20 = c * t0 * t2 + s * t1, c * t0 * t2 - s * t1
        e12, e21 = c * t1 * t2 - s * t0, c * t1 * t2 + s * t0
        for j in range(3):
            r0, r1, r2 = R[i, 0, j], R[i, 1, j], R[i, 2, j]
            out[i, 0, j] = e00 * r0 + e01 * r1 + e02 * r2
            out[i, 1, j] = e10 * r0 + e11 * r1 + e12 * r2
            out[i, 2, j] = e20 * r0 + e21 * r1 + e22 * r2
    return out


@njit(cache=True)
def rotation_vector(R):
    """Logarithm of a rotation matrix (rotation vector, rad, |θ| ≤ π), via the quaternion."""
    tr = R[0, 0] + R[1, 1] + R[2, 2]
    q = np.empty(4)  # w, x, y, z (Spurrier: pick the largest component first)
    m = max(tr, R[0, 0], R[1, 1], R[2, 2])
    if m == tr:
        q[0] = 0.5 * np.sqrt(1.0 + tr)
        q[1] = (R[2, 1] - R[1, 2]) / (4.0 * q[0])
        q[2] = (R[0, 2] - R[2, 0]) / (4.0 * q[0])
        q[3] = (R[1, 0] - R[0, 1]) / (4.0 * q[0])
    else:
        i = 0 if m == R[0, 0] else (1 if m == R[1, 1] else 2)
        j, k = (i + 1) % 3, (i + 2) % 3
        qi = 0.5 * np.sqrt(1.0 + 2.0 * R[i, i] - tr)
        q[1 + i] = qi
        q[0] = (R[k, j] - R[j, k]) / (4.0 * qi)
        q[1 + j] = (R[j, i] + R[i, j]) / (4.0 * qi)
        q[1 + k] = (R[k, i] + R[i, k]) / (4.0 * qi)
    if q[0] < 0.0:
        q = -q
    s = np.sqrt(q[1] ** 2 + q[2] ** 2 + q[3] ** 2)
    if s < 1e-12:
        return 2.0 * q[1:]
    return (2.0 * np.arctan2(s, q[0]) / s) * q[1:]


@njit(cache=True)
def ts_inverse(theta):
    """Inverse of the tangent operator T_s(θ) (δθ = T_s⁻¹ δw for a left spin δw)."""
    a = np.sqrt(theta[0] ** 2 + theta[1] ** 2 + theta[2] ** 2)
    if a < 1e-6:
        return np.eye(3) - 0.5 * skew(theta) + _mm(skew(theta), skew(theta)) / 12.0
    e = theta / a
    h = 0.5 * a / np.tan(0.5 * a)
    return h * np.eye(3) + (1.0 - h) * np.outer(e, e) - 0.5 * skew(theta)


@njit(cache=True)
def _ts_inverse_t_derivative(theta, v):
    """∂(T_s(θ)⁻ᵀ v)/∂θ (3×3) at fixed v (Battini & Pacoste's K̄_h without its factor T_s⁻¹;
    g, g'/a are their η, μ). T_s⁻ᵀ v = h v + g (θ·v) θ + ½ θ × v, h = (a/2) cot(a/2),
    g = (1 − h)/a², a = |θ|: (h'/a) v θᵀ + (g'/a) (θ·v) θ θᵀ + g (θ vᵀ + (θ·v) I) − ½ skew(v)."""
    a2 = theta[0] * theta[0] + theta[1] * theta[1] + theta[2] * theta[2]
    if a2 < 1e-4:  # series (a < 0.01): h'/a and g'/a cancel in closed form
        h1 = -1.0 / 6.0 - a2 / 180.0 - a2 * a2 / 5040.0 - a2 * a2 * a2 / 151200.0
        g = 1.0 / 12.0 + a2 / 720.0 + a2 * a2 / 30240.0 + a2 * a2 * a2 / 1209600.0
        g1 = 1.0 / 360.0 + a2 / 7560.0 + a2 * a2 / 201600.0
    else:
        a = np.sqrt(a2)
        half = 0.5 * a
        h = half / np.tan(half)
        h1 = (0.5 / np.tan(half) - 0.25 * a / np.sin(half) ** 2) / a
        g = (1.0 - h) / a2
        g1 = -(h1 + 2.0 * g) / a2
    tv = theta[0] * v[0] + theta[1] * v[1] + theta[2] * v[2]
    K = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            K[i, j] = h1 * v[i] * theta[j] + g1 * tv * theta[i] * theta[j] + g * theta[i] * v[j]
        K[i, i] += g * tv
    K[0, 1] += 0.5 * v[2]  # − ½ skew(v)
    K[0, 2] -= 0.5 * v[1]
    K[1, 0] -= 0.5 * v[2]
    K[1, 2] += 0.5 * v[0]
    K[2, 0] += 0.5 * v[1]
    K[2, 1] -= 0.5 * v[0]
    return K


# --- element kinematics ---------------------------------------------------------------------


@njit(cache=True)
def _frame(x1, x2, R1, R2, R0):
    """Co-rotated frame R_r, current length and the local y-vectors of the nodal triads."""
    d = x2 - x1
    ln = np.sqrt(d @ d)
    r1 = d / ln
    y0 = np.ascontiguousarray(R0[:, 1])
    q1 = _mv(R1, y0)
    q2 = _mv(R2, y0)
    q = 0.5 * (q1 + q2)
    r3 = np.cross(r1, q)
    r3 = r3 / np.sqrt(r3 @ r3)
    r2 = np.cross(r3, r1)
    Rr = np.empty((3, 3))
    Rr[:, 0] = r1
    Rr[:, 1] = r2
    Rr[:, 2] = r3
    return Rr, ln, _mtv(Rr, q1), _mtv(Rr, q2), _mtv(Rr, q)


@njit(cache=True)
def local_deformation(x1, x2, R1, R2, R0, l0):
    """Local variables p_l = [ū, θ̄₁ (3), θ̄₂ (3)] (mm, rad) of one element."""
    Rr, ln, _, _, _ = _frame(x1, x2, R1, R2, R0)
    p = np.empty(7)
    p[0] = ln - l0
    p[1:4] = rotation_vector(_mm(_mm(Rr.T, R1), R0))
    p[4:7] = rotation_vector(_mm(_mm(Rr.T, R2), R0))
    return p


@njit(cache=True)
def _frame_spin(Rr, ln, q1, q2, q):
    """Spin of the co-rotated frame (3 × 12, local components) per global δp_g = [δu₁, δw₁,
    δu₂, δw₂]: Battini & Pacoste's G (r₁ along the chord, r₃ ⟂ q) carried by R_rᵀ."""
    eta = q[0] / q[1]
    G = np.zeros((3, 12))  # from local components of δp_g
    G[0, 2], G[0, 3], G[0, 4] = eta / ln, 0.5 * q1[1] / q[1], -0.5 * q1[0] / q[1]
    G[0, 8], G[0, 9], G[0, 10] = -eta / ln, 0.5 * q2[1] / q[1], -0.5 * q2[0] / q[1]
    G[1, 2], G[1, 8] = 1.0 / ln, -1.0 / ln
    G[2, 1], G[2, 7] = -1.0 / ln, 1.0 / ln
    Om = np.empty((3, 12))
    for b in range(4):
        for i in range(3):
            for j in range(3):
                Om[i, 3 * b + j] = (G[i, 3 * b] * Rr[j, 0] + G[i, 3 * b + 1] * Rr[j, 1]
                                    + G[i, 3 * b + 2] * Rr[j, 2])
    return Om


@njit(cache=True)
def _projector(Rr, Om):
    """P̃ (7 × 12) per global δp_g: row 0 ∂ū = [−r₁, 0, r₁, 0], rows 1–6 P Eᵀ, the local spins
    of the nodal triads relative to the frame (δp_l = T P̃ δp_g, T of ``_ts_blocks``)."""
    P = np.zeros((7, 12))
    for c in range(3):
        P[0, c] = -Rr[c, 0]
        P[0, 6 + c] = Rr[c, 0]
    for i in range(3):
        for k in range(12):
            P[1 + i, k] = -Om[i, k]
            P[4 + i, k] = -Om[i, k]
        for j in range(3):
            P[1 + i, 3 + j] += Rr[j, i]
            P[4 + i, 9 + j] += Rr[j, i]
    return P


@njit(cache=True)
def _put_ts_inverse(T, r, theta):
    """T[r:r+3, r:r+3] ← ``ts_inverse(theta)``, without allocating."""
    t0, t1, t2 = theta[0], theta[1], theta[2]
    a2 = t0 * t0 + t1 * t1 + t2 * t2
    if np.sqrt(a2) < 1e-6:  # I − ½ skew θ + skew² θ / 12, skew² θ = θ θᵀ − a² I
        d, c = 1.0 - a2 / 12.0, 1.0 / 12.0
    else:
        a = np.sqrt(a2)
        d = 0.5 * a / np.tan(0.5 * a)
        c = (1.0 - d) / a2
    for i in range(3):
        for j in range(3):
            T[r + i, r + j] = c * theta[i] * theta[j]
        T[r + i, r + i] += d
    T[r, r + 1] += 0.5 * t2
    T[r, r + 2] -= 0.5 * t1
    T[r + 1, r] -= 0.5 * t2
    T[r + 1, r + 2] += 0.5 * t0
    T[r + 2, r] += 0.5 * t1
    T[r + 2, r + 1] -= 0.5 * t0


@njit(cache=True)
def _ts_blocks(th1, th2):
    """T = diag(1, T_s⁻¹(θ̄₁), T_s⁻¹(θ̄₂)) (7 × 7), so that B = T P̃."""
    T = np.zeros((7, 7))
    T[0, 0] = 1.0
    _put_ts_inverse(T, 1, th1)
    _put_ts_inverse(T, 4, th2)
    return T


@njit(cache=True)
def _kinematics(x1, x2, R1, R2, R0):
    """Frame R_r, length, local y-vectors q₁, q₂, q (``_frame``), local rotation vectors
    θ̄₁, θ̄₂, frame spin Ω (``_frame_spin``) and P̃ (``_projector``) of one element."""
    Rr, ln, q1, q2, q = _frame(x1, x2, R1, R2, R0)
    th1 = rotation_vector(_mm(_mm(Rr.T, R1), R0))
    th2 = rotation_vector(_mm(_mm(Rr.T, R2), R0))
    Om = _frame_spin(Rr, ln, q1, q2, q)
    return Rr, ln, q1, q2, q, th1, th2, Om, _projector(Rr, Om)


@njit(cache=True)
def b_matrix(x1, x2, R1, R2, R0, l0):
    """B (7 × 12): δp_l = B δp_g, δp_g = [δu₁, δw₁, δu₂, δw₂] in global components (spins)."""
    _, _, _, _, _, th1, th2, _, P = _kinematics(x1, x2, R1, R2, R0)
    return _mm(_ts_blocks(th1, th2), P)


# --- local response (fibre section) ---------------------------------------------------------


@njit(cache=True)
def _gauss_01(n):
    """Gauss–Legendre points and weights on [0, 1] (n = 2 or 3)."""
    if n == 2:
        a = 0.5 / np.sqrt(3.0)
        return np.array([0.5 - a, 0.5 + a]), np.array([0.5, 0.5])
    a = 0.5 * np.sqrt(0.6)
    return np.array([0.5 - a, 0.5, 0.5 + a]), np.array([5.0, 8.0, 5.0]) / 18.0


@njit(cache=True)
def local_response(p, l0, spts, GJ, law, params, state_old, state_new, tangent=True):
    """Local force f_l (7) and tangent K_l (7×7; zero unless ``tangent``) of the fibre section.

    ``spts`` (nsp, 3): section points (y, z, area weight mm²), y = thickness direction;
    ``state_old/new`` (GAUSS_ALONG, nsp): the law's history variable (committed / trial).
    Strain ε = ū/l₀ − y κ_z + z κ_y with Hermite curvatures of the end rotations.
    """
    f = np.zeros(7)
    K = np.zeros((7, 7))
    xs, ws = _gauss_01(GAUSS_ALONG)
    a = np.zeros(7)  # ∂ε/∂p_l at one fibre
    for g in range(GAUSS_ALONG):
        s = xs[g]
        n1 = (-4.0 + 6.0 * s) / l0  # Hermite second derivatives (rotation shape functions)
        n2 = (-2.0 + 6.0 * s) / l0
        kz = p[3] * n1 + p[6] * n2
        ky = p[2] * n1 + p[5] * n2
        for k in range(spts.shape[0]):
            y, z, wA = spts[k, 0], spts[k, 1], spts[k, 2]
            eps = p[0] / l0 - y * kz + z * ky
            sig, tan, st = law_stress(law, eps, state_old[g, k], params)
            state_new[g, k] = st
            a[:] = 0.0
            a[0] = 1.0 / l0
            a[3], a[6] = -y * n1, -y * n2
            a[2], a[5] = z * n1, z * n2
            w = wA * ws[g] * l0
            for i in range(7):
                f[i] += w * sig * a[i]
            if tangent:
                for i in range(7):
                    for j in range(7):
                        K[i, j] += w * tan * a[i] * a[j]
    torque = GJ * (p[4] - p[1]) / l0
    f[1] -= torque
    f[4] += torque
    kt = GJ / l0
    K[1, 1] += kt
    K[4, 4] += kt
    K[1, 4] -= kt
    K[4, 1] -= kt
    return f, K


# --- element force and tangent --------------------------------------------------------------


@njit(cache=True)
def _perturbed(x1, x2, R1, R2, k, h):
    """Node data with global DOF k (0..11: u₁, w₁, u₂, w₂) perturbed by h (spin for w);
    for difference checks of the kernels."""
    y1, y2, S1, S2 = x1.copy(), x2.copy(), R1, R2
    blk, c = k // 3, k % 3
    e = np.zeros(3)
    e[c] = h
    if blk == 0:
        y1[c] += h
    elif blk == 1:
        S1 = _mm(rotation_matrix(e), R1)
    elif blk == 2:
        y2[c] += h
    else:
        S2 = _mm(rotation_matrix(e), R2)
    return y1, y2, S1, S2


@njit(cache=True)
def _add_frame_stiffness(K, Rr, ln, q1, q2, q, Om, P, fm, fg):
    """K += the frame part of ∂(Bᵀ)/∂p_g · f_l at fixed fm = Tᵀ f_l = [N, m₁, m₂]. Blockwise
    f = Bᵀ f_l = R_r F_b with F = [−N e₁ − c_u₁, m₁ − c_w₁, N e₁ − c_u₂, m₂ − c_w₂], c = Gᵀ s,
    s = m₁ + m₂: (a) the frame's spin turns every block, δf_b = δω × f_b, δω = R_r Ω δp_g;
    (b) G varies with ln and the local y-vectors q₁, q₂ (through q₁ₓ, q₁ᵧ, q₂ₓ, q₂ᵧ)."""
    W = _mm(Rr, Om)
    for blk in range(4):
        f0, f1, f2 = fg[3 * blk], fg[3 * blk + 1], fg[3 * blk + 2]
        for k in range(12):
            w0, w1, w2 = W[0, k], W[1, k], W[2, k]
            K[3 * blk, k] += w1 * f2 - w2 * f1
            K[3 * blk + 1, k] += w2 * f0 - w0 * f2
            K[3 * blk + 2, k] += w0 * f1 - w1 * f0
    # J: δ(ln, q₁ₓ, q₁ᵧ, q₂ₓ, q₂ᵧ) per δp_g; δln = P̃₀ δp_g, δqᵢ = −qᵢ × (P Eᵀ)ᵢ δp_g (local)
    J = np.empty((5, 12))
    for k in range(12):
        J[0, k] = P[0, k]
        J[1, k] = q1[2] * P[2, k] - q1[1] * P[3, k]
        J[2, k] = q1[0] * P[3, k] - q1[2] * P[1, k]
        J[3, k] = q2[2] * P[5, k] - q2[1] * P[6, k]
        J[4, k] = q2[0] * P[6, k] - q2[2] * P[4, k]
    s0, s1, s2 = fm[1] + fm[4], fm[2] + fm[5], fm[3] + fm[6]
    eta, qy = q[0] / q[1], q[1]
    # D = ∂c/∂(ln, q₁ₓ, q₁ᵧ, q₂ₓ, q₂ᵧ), c local per block: c_u₁ = (0, −s₂, η s₀ + s₁)/ln = −c_u₂,
    # c_wᵢ = s₀ (qᵢᵧ, −qᵢₓ, 0)/(2 qᵧ), η = qₓ/qᵧ, q = (q₁ + q₂)/2
    D = np.zeros((12, 5))
    D[1, 0] = s2 / (ln * ln)
    D[2, 0] = -(eta * s0 + s1) / (ln * ln)
    D[2, 1] = D[2, 3] = 0.5 * s0 / (ln * qy)
    D[2, 2] = D[2, 4] = -0.5 * eta * s0 / (ln * qy)
    for j in range(5):
        D[7, j], D[8, j] = -D[1, j], -D[2, j]
    k_ = 0.5 * s0 / qy
    D[3, 2], D[3, 4] = k_ * (1.0 - 0.5 * q1[1] / qy), -0.5 * k_ * q1[1] / qy
    D[4, 1], D[4, 2], D[4, 4] = -k_, 0.5 * k_ * q1[0] / qy, 0.5 * k_ * q1[0] / qy
    D[9, 4], D[9, 2] = k_ * (1.0 - 0.5 * q2[1] / qy), -0.5 * k_ * q2[1] / qy
    D[10, 3], D[10, 4], D[10, 2] = -k_, 0.5 * k_ * q2[0] / qy, 0.5 * k_ * q2[0] / qy
    dc = _mm(D, J)
    for blk in range(4):
        for i in range(3):
            a0, a1, a2 = Rr[i, 0], Rr[i, 1], Rr[i, 2]
            for k in range(12):
                K[3 * blk + i, k] -= (a0 * dc[3 * blk, k] + a1 * dc[3 * blk + 1, k]
                                      + a2 * dc[3 * blk + 2, k])


@njit(cache=True)
def _global_force_tangent(Rr, ln, q1, q2, q, th1, th2, Om, P, fl, Kl):
    """f = Bᵀ f_l (12) and its exact derivative (12×12) from the kinematics (``_kinematics``)
    and the local force and tangent: with B = T P̃, K = P̃ᵀ (Tᵀ K_l T + diag(0, Kθ₁ T_s⁻¹(θ̄₁),
    Kθ₂ T_s⁻¹(θ̄₂))) P̃ + the frame terms (``_add_frame_stiffness``), Kθᵢ = ∂(T_s⁻ᵀ f_l,ᵢ)/∂θ̄ᵢ."""
    T = _ts_blocks(th1, th2)
    core = _congruence(T, Kl)
    for n in range(2):  # mᵢ = T_s⁻ᵀ(θ̄ᵢ) f_l,ᵢ varies with δθ̄ᵢ = T_s⁻¹(θ̄ᵢ) (P Eᵀ)ᵢ δp_g
        r = 1 + 3 * n
        Kh = _ts_inverse_t_derivative(th1 if n == 0 else th2, fl[r:r + 3])
        core[r:r + 3, r:r + 3] += _mm(Kh, T[r:r + 3, r:r + 3])
    fm = _mtv(T, fl)
    fg = _mtv(P, fm)
    Kg = _congruence(P, core)
    _add_frame_stiffness(Kg, Rr, ln, q1, q2, q, Om, P, fm, fg)
    return fg, Kg


@njit(cache=True)
def element_force_tangent(x1, x2, R1, R2, R0, l0, spts, GJ, law, params, state_old, state_new):
    """Internal force (12) and tangent (12×12) of one element in global components."""
    Rr, ln, q1, q2, q, th1, th2, Om, P = _kinematics(x1, x2, R1, R2, R0)
    p = np.empty(7)
    p[0] = ln - l0
    p[1:4] = th1
    p[4:7] = th2
    fl, Kl = local_response(p, l0, spts, GJ, law, params, state_old, state_new)
    return _global_force_tangent(Rr, ln, q1, q2, q, th1, th2, Om, P, fl, Kl)


@njit(cache=True, parallel=True)
def assemble_elements(x, R, beams, R0, l0, spts, GJ, law, params, state_old, state_new):
    """Element forces (m, 12) and tangents (m, 12, 12) for all beams (x: current positions,
    R: nodal rotation matrices (n, 3, 3), R0: initial element frames (m, 3, 3))."""
    m = beams.shape[0]
    F = np.empty((m, 12))
    K = np.empty((m, 12, 12))
    for e in prange(m):
        a, b = beams[e, 0], beams[e, 1]
        f, k = element_force_tangent(x[a], x[b], R[a], R[b], R0[e], l0[e], spts[e], GJ[e],
                                     law, params, state_old[e], state_new[e])
        F[e] = f
        K[e] = k
    return F, K


# --- element forces alone (explicit dynamics): one fused, allocation-free pass ---------------
# The same f = Bᵀ f_l as ``element_force_tangent`` without forming B or K: the frame is built
# once per element, Bᵀ f_l is applied in closed form, and the 3×3 work arrays are allocated
# once per thread, not per element (allocation dominated the composed kernels: 5–8 µs/beam).


@njit(cache=True)
def _log_rotation(M):
    """rotation_vector(M) as a tuple (rad), without allocating (Spurrier's quaternion)."""
    tr = M[0, 0] + M[1, 1] + M[2, 2]
    m = max(tr, M[0, 0], M[1, 1], M[2, 2])
    if m == tr:
        w = 0.5 * np.sqrt(1.0 + tr)
        x, y, z = ((M[2, 1] - M[1, 2]) / (4.0 * w), (M[0, 2] - M[2, 0]) / (4.0 * w),
                   (M[1, 0] - M[0, 1]) / (4.0 * w))
    elif m == M[0, 0]:
        x = 0.5 * np.sqrt(1.0 + 2.0 * M[0, 0] - tr)
        w, y, z = ((M[2, 1] - M[1, 2]) / (4.0 * x), (M[1, 0] + M[0, 1]) / (4.0 * x),
                   (M[2, 0] + M[0, 2]) / (4.0 * x))
    elif m == M[1, 1]:
        y = 0.5 * np.sqrt(1.0 + 2.0 * M[1, 1] - tr)
        w, z, x = ((M[0, 2] - M[2, 0]) / (4.0 * y), (M[2, 1] + M[1, 2]) / (4.0 * y),
                   (M[0, 1] + M[1, 0]) / (4.0 * y))
    else:
        z = 0.5 * np.sqrt(1.0 + 2.0 * M[2, 2] - tr)
        w, x, y = ((M[1, 0] - M[0, 1]) / (4.0 * z), (M[0, 2] + M[2, 0]) / (4.0 * z),
                   (M[1, 2] + M[2, 1]) / (4.0 * z))
    if w < 0.0:
        w, x, y, z = -w, -x, -y, -z
    s = np.sqrt(x * x + y * y + z * z)
    if s < 1e-12:
        return 2.0 * x, 2.0 * y, 2.0 * z
    c = 2.0 * np.arctan2(s, w) / s
    return c * x, c * y, c * z


@njit(cache=True)
def _ts_inverse_t(t0, t1, t2, m0, m1, m2):
    """T_s(θ)⁻ᵀ m (the transpose of ``ts_inverse`` applied to m), as a tuple."""
    a = np.sqrt(t0 * t0 + t1 * t1 + t2 * t2)
    c0, c1, c2 = t1 * m2 - t2 * m1, t2 * m0 - t0 * m2, t0 * m1 - t1 * m0  # θ × m
    if a < 1e-6:
        d0, d1, d2 = t1 * c2 - t2 * c1, t2 * c0 - t0 * c2, t0 * c1 - t1 * c0  # θ × (θ × m)
        return (m0 + 0.5 * c0 + d0 / 12.0, m1 + 0.5 * c1 + d1 / 12.0,
                m2 + 0.5 * c2 + d2 / 12.0)
    h = 0.5 * a / np.tan(0.5 * a)
    em = (t0 * m0 + t1 * m1 + t2 * m2) / (a * a)  # (e·m)/a, e = θ/a
    return (h * m0 + (1.0 - h) * em * t0 + 0.5 * c0, h * m1 + (1.0 - h) * em * t1 + 0.5 * c1,
            h * m2 + (1.0 - h) * em * t2 + 0.5 * c2)


@njit(cache=True)
def _relative_rotation(Rr, Rn, R0, T, M):
    """log(Rrᵀ Rn R0) as a tuple; T, M: 3×3 work arrays."""
    for i in range(3):
        for j in range(3):
            T[i, j] = Rn[i, 0] * R0[0, j] + Rn[i, 1] * R0[1, j] + Rn[i, 2] * R0[2, j]
    for i in range(3):
        for j in range(3):
            M[i, j] = Rr[0, i] * T[0, j] + Rr[1, i] * T[1, j] + Rr[2, i] * T[2, j]
    return _log_rotation(M)


@njit(cache=True)
def _section_force(p, l0, spts, GJ, law, params, state_old, state_new):
    """The local force f_l (7-tuple) of ``local_response``, without its tangent."""
    xs, ws = _gauss_01(GAUSS_ALONG)
    f0 = f2 = f3 = f5 = f6 = 0.0
    for g in range(GAUSS_ALONG):
        n1 = (-4.0 + 6.0 * xs[g]) / l0
        n2 = (-2.0 + 6.0 * xs[g]) / l0
        kz = p[3] * n1 + p[6] * n2
        ky = p[2] * n1 + p[5] * n2
        wg = ws[g] * l0
        for k in range(spts.shape[0]):
            y, z = spts[k, 0], spts[k, 1]
            sig, _, st = law_stress(law, p[0] / l0 - y * kz + z * ky, state_old[g, k], params)
            state_new[g, k] = st
            ws_ = spts[k, 2] * wg * sig
            f0 += ws_ / l0
            f2 += ws_ * z * n1
            f5 += ws_ * z * n2
            f3 -= ws_ * y * n1
            f6 -= ws_ * y * n2
    torque = GJ * (p[4] - p[1]) / l0
    return f0, -torque, f2, f3, torque, f5, f6


@njit(cache=True)
def _element_force_into(x1, x2, R1, R2, R0, l0, spts, GJ, law, params, state_old, state_new,
                        out, Rr, T, M, p):
    """out (12) ← Bᵀ f_l of one element; Rr, T, M (3×3) and p (7) are work arrays."""
    dx, dy, dz = x2[0] - x1[0], x2[1] - x1[1], x2[2] - x1[2]
    ln = np.sqrt(dx * dx + dy * dy + dz * dz)
    r10, r11, r12 = dx / ln, dy / ln, dz / ln
    q10 = R1[0, 0] * R0[0, 1] + R1[0, 1] * R0[1, 1] + R1[0, 2] * R0[2, 1]
    q11 = R1[1, 0] * R0[0, 1] + R1[1, 1] * R0[1, 1] + R1[1, 2] * R0[2, 1]
    q12 = R1[2, 0] * R0[0, 1] + R1[2, 1] * R0[1, 1] + R1[2, 2] * R0[2, 1]
    q20 = R2[0, 0] * R0[0, 1] + R2[0, 1] * R0[1, 1] + R2[0, 2] * R0[2, 1]
    q21 = R2[1, 0] * R0[0, 1] + R2[1, 1] * R0[1, 1] + R2[1, 2] * R0[2, 1]
    q22 = R2[2, 0] * R0[0, 1] + R2[2, 1] * R0[1, 1] + R2[2, 2] * R0[2, 1]
    qa, qb, qc = 0.5 * (q10 + q20), 0.5 * (q11 + q21), 0.5 * (q12 + q22)
    r30, r31, r32 = r11 * qc - r12 * qb, r12 * qa - r10 * qc, r10 * qb - r11 * qa
    n3 = np.sqrt(r30 * r30 + r31 * r31 + r32 * r32)
    r30, r31, r32 = r30 / n3, r31 / n3, r32 / n3
    r20, r21, r22 = r31 * r12 - r32 * r11, r32 * r10 - r30 * r12, r30 * r11 - r31 * r10
    Rr[0, 0], Rr[1, 0], Rr[2, 0] = r10, r11, r12
    Rr[0, 1], Rr[1, 1], Rr[2, 1] = r20, r21, r22
    Rr[0, 2], Rr[1, 2], Rr[2, 2] = r30, r31, r32
    # local components (frame axes 1, 2) of the nodal y-vectors and their mean
    q1x, q1y = r10 * q10 + r11 * q11 + r12 * q12, r20 * q10 + r21 * q11 + r22 * q12
    q2x, q2y = r10 * q20 + r11 * q21 + r12 * q22, r20 * q20 + r21 * q21 + r22 * q22
    qx, qy = 0.5 * (q1x + q2x), 0.5 * (q1y + q2y)
    p[0] = ln - l0
    p[1], p[2], p[3] = _relative_rotation(Rr, R1, R0, T, M)
    p[4], p[5], p[6] = _relative_rotation(Rr, R2, R0, T, M)
    f0, f1, f2, f3, f4, f5, f6 = _section_force(p, l0, spts, GJ, law, params, state_old,
                                                state_new)
    v1 = _ts_inverse_t(p[1], p[2], p[3], f1, f2, f3)
    v2 = _ts_inverse_t(p[4], p[5], p[6], f4, f5, f6)
    s0, s1, s2 = v1[0] + v2[0], v1[1] + v2[1], v1[2] + v2[2]
    eta = qx / qy
    # local spin of the frame contracted with the nodal moments (Gᵀ (v₁ + v₂), per node block)
    c0 = (0.0, -s2 / ln, (eta * s0 + s1) / ln)
    c1 = (0.5 * q1y / qy * s0, -0.5 * q1x / qy * s0, 0.0)
    c2 = (0.0, s2 / ln, -(eta * s0 + s1) / ln)
    c3 = (0.5 * q2y / qy * s0, -0.5 * q2x / qy * s0, 0.0)
    for j in range(3):
        a0 = Rr[j, 0] * c0[0] + Rr[j, 1] * c0[1] + Rr[j, 2] * c0[2]
        a1 = Rr[j, 0] * c1[0] + Rr[j, 1] * c1[1] + Rr[j, 2] * c1[2]
        a2 = Rr[j, 0] * c2[0] + Rr[j, 1] * c2[1] + Rr[j, 2] * c2[2]
        a3 = Rr[j, 0] * c3[0] + Rr[j, 1] * c3[1] + Rr[j, 2] * c3[2]
        out[j] = -Rr[j, 0] * f0 - a0
        out[3 + j] = Rr[j, 0] * v1[0] + Rr[j, 1] * v1[1] + Rr[j, 2] * v1[2] - a1
        out[6 + j] = Rr[j, 0] * f0 - a2
        out[9 + j] = Rr[j, 0] * v2[0] + Rr[j, 1] * v2[1] + Rr[j, 2] * v2[2] - a3


@njit(cache=True, parallel=True)
def element_forces(x, R, beams, R0, l0, spts, GJ, law, params, state_old, state_new):
    """Element forces (m, 12) alone, without the tangent (explicit dynamics): Bᵀ f_l as in
    ``element_force_tangent``, elements split into one contiguous chunk per thread."""
    m = beams.shape[0]
    F = np.empty((m, 12))
    chunks = max(1, min(m, _CHUNKS))
    for c in prange(chunks):
        Rr, T, M, p = np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3)), np.empty(7)
        for e in range(c * m // chunks, (c + 1) * m // chunks):
            a, b = beams[e, 0], beams[e, 1]
            _element_force_into(x[a], x[b], R[a], R[b], R0[e], l0[e], spts[e], GJ[e], law,
                                params, state_old[e], state_new[e], F[e], Rr, T, M, p)
    return F


@njit(cache=True, parallel=True)
def peak_strains(x, R, beams, R0, l0, half_t, half_w, circle):
    """Largest normal strain magnitude on each element's surface (m,), from plane sections:
    |ε₀| + |κ_z| t/2 + |κ_y| w/2 at both element ends (|κ| d/2 for circles). Kinematic,
    hence exact for any section law."""
    m = beams.shape[0]
    out = np.empty(m)
    for e in prange(m):
        a, b = beams[e, 0], beams[e, 1]
        p = local_deformation(x[a], x[b], R[a], R[b], R0[e], l0[e])
        best = 0.0
        for s in (0.0, 1.0):
            n1 = (-4.0 + 6.0 * s) / l0[e]
            n2 = (-2.0 + 6.0 * s) / l0[e]
            kz = p[3] * n1 + p[6] * n2
            ky = p[2] * n1 + p[5] * n2
            if circle[e]:
                v = abs(p[0] / l0[e]) + np.sqrt(kz * kz + ky * ky) * half_t[e]
            else:
                v = abs(p[0] / l0[e]) + abs(kz) * half_t[e] + abs(ky) * half_w[e]
            best = max(best, v)
        out[e] = best
    return out
