"""Roache's GCI by Celik et al. 2008: their worked example, exact power laws, flags."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biomech.aaa import gci_verdict, grid_convergence
from biomech.errors import CaseError

CELIK_N = (18000, 8000, 4500)  # 2-D grids: r21 = 1.5, r32 = 1.333
CELIK_PHI = (6.063, 5.972, 5.863)


def test_celik_worked_example():
    r = grid_convergence(CELIK_PHI, n_cells=CELIK_N, dim=2)
    assert (round(r.r21, 3), round(r.r32, 3)) == (1.5, 1.333)
    assert round(r.p, 2) == 1.53
    assert round(r.phi_ext, 4) == 6.1685  # Celik Table 1; the reference quotes 6.168
    assert round(100 * r.e_a, 1) == 1.5
    assert round(100 * r.e_ext, 1) == 1.7
    assert round(100 * r.gci_fine, 1) == 2.2
    assert r.converged_monotonically and r.convergence == "monotonic"
    assert r.asymptotic_ratio == pytest.approx(CELIK_PHI[0] / CELIK_PHI[1])  # identically φ1/φ2
    same = grid_convergence(CELIK_PHI, np.asarray(CELIK_N, float) ** -0.5)
    assert same.p == pytest.approx(r.p, rel=1e-13)


@pytest.mark.parametrize(
    "h",
    [(1.0, 2.0, 4.0), (1.0, 1.5, 2.4), (0.1, 0.13, 0.3), (1.0, 3.0, 3.3)],
    ids=["uniform", "non-uniform", "r32>r21^2", "r32<r21"],
)
def test_exact_second_order_sequence(h):
    phi0, c = 3.0, 0.7
    phi = [phi0 + c * x**2 for x in h]
    r = grid_convergence(phi, h)
    assert r.p == pytest.approx(2.0, abs=1e-9)
    assert r.phi_ext == pytest.approx(phi0, rel=1e-12)
    assert r.e_ext == pytest.approx(abs(phi0 - phi[0]) / phi0, rel=1e-9)
    assert r.gci_fine == pytest.approx(1.25 * abs(phi[0] - phi0) / phi[0], rel=1e-9)
    assert r.convergence == "monotonic"


def test_oscillatory_sequence_is_flagged():
    r = grid_convergence([1.0, 1.1, 0.95], (1.0, 2.0, 4.0))
    assert r.convergence == "oscillatory" and not r.converged_monotonically
    assert r.p == pytest.approx(math.log2(1.5))  # |ε32/ε21| = 1.5, uniform r = 2
    verdict = gci_verdict(r, 0.5)
    assert not verdict["passed"] and "oscillatory" in verdict["reasons"][0]


@pytest.mark.parametrize("h", [(1.0, 2.0, 4.0), (0.1, 0.13, 0.3)])
def test_divergent_sequence_is_flagged(h):
    # φ = 3 + 0.7/h grows on refinement; for the second grid set |ε32/ε21| = 1.89 > 1,
    # which a uniform-ratio test would take for convergence
    r = grid_convergence([3.0 + 0.7 / x for x in h], h)
    assert r.convergence == "divergent" and not r.converged_monotonically
    assert r.p == pytest.approx(-1.0, abs=1e-9)
    assert math.isinf(r.gci_fine) and math.isnan(r.phi_ext)
    assert not gci_verdict(r, 0.5)["passed"]


def test_verdict_tolerance_and_notes():
    r = grid_convergence(CELIK_PHI, n_cells=CELIK_N, dim=2)
    assert gci_verdict(r, 0.05)["verdict"] == "pass"
    fail = gci_verdict(r, 0.01)
    assert fail["verdict"] == "fail" and "GCI_fine" in fail["reasons"][0]
    assert any("formal order" in n for n in gci_verdict(r, 0.05, formal_order=3.0)["notes"])
    assert not gci_verdict(r, 0.05, formal_order=1.6)["notes"]
    with pytest.raises(CaseError, match="fraction"):
        gci_verdict(r, 5.0)


def test_bad_studies_are_case_errors():
    with pytest.raises(CaseError, match="exactly one"):
        grid_convergence(CELIK_PHI, (1, 2, 3), n_cells=CELIK_N)
    with pytest.raises(CaseError, match="fine → coarse"):
        grid_convergence(CELIK_PHI, (3.0, 2.0, 1.0))
    with pytest.raises(CaseError, match="does not change"):
        grid_convergence((1.0, 1.0, 1.2), (1.0, 2.0, 4.0))
    with pytest.raises(CaseError, match="three finite"):
        grid_convergence((1.0, 2.0), (1.0, 2.0))


def test_random_power_laws_recover_order_and_limit():
    # any ratios 1.1–3 (fixed point or root-finding path), convergent and divergent orders
    rng = np.random.default_rng(7)
    for _ in range(300):
        h1, r21, r32 = rng.uniform(0.1, 1.0), rng.uniform(1.1, 3.0), rng.uniform(1.1, 3.0)
        p = rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 4.0)
        c = rng.choice([-1.0, 1.0]) * rng.uniform(0.01, 2.0)
        h = (h1, h1 * r21, h1 * r21 * r32)
        r = grid_convergence([5.0 + c * x**p for x in h], h)
        assert r.p == pytest.approx(p, abs=1e-7)
        assert r.convergence == ("monotonic" if p > 0 else "divergent")
        if p > 0:
            assert r.phi_ext == pytest.approx(5.0, abs=1e-9)
