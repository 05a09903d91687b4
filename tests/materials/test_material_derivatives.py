"""Derivative consistency of every material against finite differences, zero stress at
F = I and objectivity.

Conventions checked: S = 2 ∂W/∂C, CC = 4 ∂²W/∂C∂C = 2 ∂S/∂C, so for a symmetric
increment ΔC the stress changes by ΔS = ½ CC : ΔC (Voigt 11, 22, 33, 12, 23, 13).
"""

from __future__ import annotations

import numpy as np
import pytest

from biomech.materials import evaluate
from biomech.materials.kernel import material_response

VI = [0, 1, 2, 0, 1, 0]
VJ = [0, 1, 2, 1, 2, 2]


def kernel(resolved, C, basis):
    """Kernel (isochoric part for uncoupled models): S (6,), CC (6, 6), W."""
    S, CC = np.zeros(6), np.zeros((6, 6))
    C = np.ascontiguousarray(C)
    W = material_response(resolved.spec.model_id, C, resolved.params, basis, S, CC)
    return S, CC, W


def total(resolved, C, basis):
    """evaluate() at the stretch U = C^½ (the response depends on C only)."""
    w, v = np.linalg.eigh(C)
    out = evaluate(resolved, v @ np.diag(np.sqrt(w)) @ v.T, basis)
    S = out["S"][VI, VJ]
    return S, out["CC"], out["W"]


def unit(m: int) -> np.ndarray:
    """Symmetric ΔC with a 1 at Voigt slot m (both off-diagonal entries for shear)."""
    d = np.zeros((3, 3))
    d[VI[m], VJ[m]] = d[VJ[m], VI[m]] = 1.0
    return d


def fd_tangent(fun, C, h=1e-6):
    """Columns m of CC from ΔS = ½ CC : ΔC by central differences."""
    CC = np.empty((6, 6))
    for m in range(6):
        dS = (fun(C + h * unit(m))[0] - fun(C - h * unit(m))[0]) / (2 * h)
        CC[:, m] = dS * (2.0 if m < 3 else 1.0)
    return CC


def fd_stress(fun, C, h=1e-5):
    """S = 2 ∂W/∂C by central differences of the energy."""
    S = np.empty(6)
    for m in range(6):
        dW = (fun(C + h * unit(m))[2] - fun(C - h * unit(m))[2]) / (2 * h)
        S[m] = dW * (2.0 if m < 3 else 1.0)
    return S


def fibre_invariants(resolved, C, basis):
    """Ī4, Ī6 of the HGO fibre families."""
    g = resolved.values["angle"]
    Cb = C * np.linalg.det(C) ** (-1 / 3)
    return [a @ Cb @ a for a in (np.cos(g) * basis[0] + s * np.sin(g) * basis[1] for s in (1, -1))]


def deformations(resolved, basis):
    """Random well-conditioned C (J within ±20 %); for HGO away from the fibre switch,
    plus one state with both fibre families stretched."""
    rng = np.random.default_rng(2024)
    out = []
    while len(out) < 3:
        F = np.eye(3) + 0.15 * rng.uniform(-1, 1, (3, 3))
        C = F.T @ F
        if resolved.spec.name == "hgo":
            if min(abs(i - 1) for i in fibre_invariants(resolved, C, basis)) < 0.02:
                continue
        out.append(C)
    if resolved.spec.name == "hgo":
        F = basis.T @ np.diag([1.06, 1.05, 0.92]) @ basis + 0.02 * rng.uniform(-1, 1, (3, 3))
        C = F.T @ F
        assert min(fibre_invariants(resolved, C, basis)) > 1.03
        out.append(C)
    return out


def rel_err(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_tangent_matches_fd_of_stress(case):
    resolved, basis = case
    for C in deformations(resolved, basis):
        S, CC, _ = kernel(resolved, C, basis)
        assert np.allclose(CC, CC.T, rtol=0, atol=1e-12 * np.abs(CC).max())
        assert rel_err(fd_tangent(lambda c: kernel(resolved, c, basis), C), CC) < 1e-6


def test_total_tangent_with_volumetric_part_matches_fd(case):
    resolved, basis = case
    for C in deformations(resolved, basis):
        _, CC, _ = total(resolved, C, basis)
        assert rel_err(fd_tangent(lambda c: total(resolved, c, basis), C), CC) < 1e-6


def test_stress_matches_fd_of_energy(case):
    resolved, basis = case
    for fun in (kernel, total):
        for C in deformations(resolved, basis):
            S, _, _ = fun(resolved, C, basis)
            assert rel_err(fd_stress(lambda c: fun(resolved, c, basis), C), S) < 1e-6


def test_zero_stress_and_energy_at_identity(case):
    resolved, basis = case
    out = evaluate(resolved, np.eye(3), basis)
    assert np.abs(out["S"]).max() < 1e-14
    assert np.abs(out["sigma"]).max() < 1e-14
    assert abs(out["W"]) < 1e-14


def test_objectivity(case):
    """σ(QF) = Q σ(F) Qᵀ; the basis lives in the reference configuration and is not rotated."""
    resolved, basis = case
    rng = np.random.default_rng(5)
    for k in range(3):
        F = np.eye(3) + 0.2 * rng.uniform(-1, 1, (3, 3))
        Q = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        Q *= np.sign(np.linalg.det(Q))
        a = evaluate(resolved, F, basis)
        b = evaluate(resolved, Q @ F, basis)
        scale = np.abs(a["sigma"]).max()
        assert np.abs(b["sigma"] - Q @ a["sigma"] @ Q.T).max() < 1e-12 * scale
        assert np.abs(b["S"] - a["S"]).max() < 1e-12 * scale
        assert b["W"] == pytest.approx(a["W"], rel=1e-12)
