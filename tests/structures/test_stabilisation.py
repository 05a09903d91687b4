"""Pseudo-viscous stabilisation with settling: the settled state is the unstabilised
equilibrium (checked against the elastica), however stiff the springs."""

import numpy as np
import pytest

from biomech.analytic import cantilever_tip_load
from biomech.errors import ConvergenceError
from biomech.structures.beams import BeamModel
from biomech.structures.static import Equilibrium, Stabilisation, follow_path

E, L = 200e3, 100.0


def _cantilever(n_el=20, w=2.0, t=1.0):
    nodes = np.column_stack([np.linspace(0, L, n_el + 1), np.zeros(n_el + 1), np.zeros(n_el + 1)])
    beams = np.column_stack([np.arange(n_el), np.arange(1, n_el + 1)])
    m = BeamModel(nodes, beams, np.tile([0, 0, 1.0], (n_el, 1)), np.zeros(n_el, int),
                  np.full(n_el, w), np.full(n_el, t), {"model": "linear-elastic", "E": E, "nu": 0.3})
    return m, t * w**3 / 12


def _spring_norm(x, f):
    return float(np.abs(f).sum())


def _tip(stab, alpha=10.0, steps=5):
    m, I = _cantilever()
    f = np.zeros(m.n_dof)
    f[-5] = alpha * E * I / L**2
    eq = Equilibrium(m, fixed=np.arange(6), stabilisation=stab)
    box = {"s": m.initial_state(), "lam": 0.0, "settles": []}

    def solve():
        box["s"], info = eq.solve(box["s"], f * box["lam"])
        box["settles"].append(info.settles)

    follow_path(lambda v: box.__setitem__("lam", v), solve, 0.0, 1.0, steps)
    return box["s"].x[-1], box["settles"], f[-5]


def test_settled_stabilised_cantilever_matches_the_elastica():
    """Springs as stiff as the whole cantilever's tip stiffness (3 E I / L³ ≈ 0.4 N/mm)
    hold a single solve far from equilibrium; settling removes them (1e-6 of the load)."""
    load = 10.0 * E * (2.0**3 / 12) / L**2
    stab = Stabilisation(3 * E * (2.0**3 / 12) / L**3, _spring_norm, lambda: 1e-6 * load,
                         max_settles=80)
    tip, settles, _ = _tip(stab)
    x_ref, y_ref, _ = cantilever_tip_load(10.0)
    assert tip[0] / L == pytest.approx(x_ref, abs=5e-3)
    assert tip[1] / L == pytest.approx(y_ref, abs=5e-3)
    assert max(settles) > 2  # the settling did the work
    assert stab.stiffness == 3 * E * (2.0**3 / 12) / L**3  # softened only while settling


def test_one_unsettled_solve_is_not_the_equilibrium():
    """The check above can fail: with no softening and one settle allowed the solve stops
    short of the elastica by far more than its tolerance, and says so."""
    load = 10.0 * E * (2.0**3 / 12) / L**2
    stab = Stabilisation(3 * E * (2.0**3 / 12) / L**3, _spring_norm, lambda: 1e-6 * load,
                         max_settles=1, relax=1.0)
    with pytest.raises(ConvergenceError, match="not quasi-static"):
        _tip(stab, steps=1)
