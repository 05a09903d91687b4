"""Shared references for the verification tests (tests/fem/test_verification_*.py).

``exact_tube`` solves the plane-strain (λz = 1) inflation of a *compressible* thick tube
with the uncoupled energy used by biomech's nearly incompressible materials,
W = Ψ(Ī1) + κ/4 (J² − 1 − 2 ln J), as a two-point boundary-value problem in the
reference radius R, by shooting on the deformed inner radius a with an 8th-order
Runge–Kutta integrator (tolerance 1e-12). It is independent of the finite-element code
(only scipy), and tends to the incompressible closed form as κ → ∞ (checked in
test_verification_tube.py). With κ/μ = 1000 it differs from the incompressible solution
by ~3e-4 in a, as much as or more than the HEX8/TET10 discretisation errors on moderate
meshes, so mesh-convergence studies must compare against this solution, not against
the incompressible formula.

Equations (principal stretches λr = dr/dR, λθ = r/R, λz = 1; J = λr λθ; λ̄ = J^(-1/3) λ):
    σi = (2/J) Ψ'(Ī1) (λ̄i² − Ī1/3) + κ/2 (J − 1/J),    Pi = J σi / λi,
    dP_rr/dR + (P_rr − P_θθ)/R = 0,   P_rr(A) = −p λθ(A) (follower pressure), P_rr(B) = 0.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

_STEP = 1e-30  # complex-step size


def _first_pk(lr, lt, dW: Callable, bulk: float):
    """Radial and hoop 1st Piola–Kirchhoff stresses (MPa) of the uncoupled energy."""
    J = lr * lt
    f = J ** (-2.0 / 3.0)
    I1b = f * (lr * lr + lt * lt + 1.0)
    w1 = dW(I1b)
    p = 0.5 * bulk * (J - 1.0 / J)
    s_r = 2.0 * w1 / J * (f * lr * lr - I1b / 3.0) + p
    s_t = 2.0 * w1 / J * (f * lt * lt - I1b / 3.0) + p
    return J * s_r / lr, J * s_t / lt


def _shoot(a, A, B, P, dW, bulk, dense=False):
    lt0 = a / A
    lr0 = brentq(lambda x: _first_pk(x, lt0, dW, bulk)[0] + P * lt0, 0.2, 5.0, xtol=1e-15)

    def rhs(R, y):
        r, lr = y
        lt = r / R
        p_rr, p_tt = _first_pk(lr, lt, dW, bulk)
        d_lr = _first_pk(lr + 1j * _STEP, lt, dW, bulk)[0].imag / _STEP
        d_lt = _first_pk(lr, lt + 1j * _STEP, dW, bulk)[0].imag / _STEP
        dlt = (lr - lt) / R
        return [lr, (-(p_rr - p_tt) / R - d_lt * dlt) / d_lr]

    return solve_ivp(
        rhs, (A, B), [a, lr0], method="DOP853", rtol=1e-12, atol=1e-14, dense_output=dense
    )


def compressible_tube(A: float, B: float, P: float, dW: Callable, bulk: float, a_guess: float):
    """Inner radius a (mm) and a callable R -> (r(R), dr/dR) of the exact solution."""

    def outer_traction(a):
        end = _shoot(a, A, B, P, dW, bulk).y[:, -1]
        return _first_pk(end[1], end[0] / B, dW, bulk)[0]

    a = brentq(outer_traction, 0.97 * a_guess, 1.03 * a_guess, xtol=1e-14)
    return a, _shoot(a, A, B, P, dW, bulk, dense=True).sol


@pytest.fixture(scope="session")
def exact_tube():
    """``compressible_tube(A, B, P, dW, bulk, a_guess) -> (a, sol)``; sol(R)[0] = r(R)."""
    return compressible_tube


def face_nodes(mesh, name: str) -> np.ndarray:
    return np.unique(np.concatenate([f.ravel() for f in mesh.face_sets[name].values()]))


@pytest.fixture(scope="session")
def nodes_of():
    """``nodes_of(mesh, face_set_name)`` -> sorted node indices of a face set."""
    return face_nodes
