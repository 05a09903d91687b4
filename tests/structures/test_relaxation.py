"""Explicit relaxation (mass-scaled, kinetically damped central differences): the guided-beam
closed form of a Z-ring, agreement with Newton on the same crimp, fabric that adds no radial
force, tied nodes moving together, the pusher's hold, a fixed lumen surface."""

import numpy as np
import pytest

from biomech.errors import ConvergenceError
from biomech.stent import stent_graft, z_ring
from biomech.stent.bench import outer_diameter, radial_force_test
from biomech.structures.beams import beam_model
from biomech.structures.relaxation import (
    Relaxation,
    RelaxationOptions,
    cylinder_tool,
    surface_tool,
)

E = 50e3
STEEL = {"model": "linear-elastic", "E": E, "nu": 0.33}
ORIGIN, Z = np.zeros(3), np.array([0.0, 0.0, 1.0])


def _crimp(model, diameters, rtol=1e-4, method="kinetic"):
    state, half, forces = model.initial_state(), model.half_thickness(), []
    for d in diameters:
        relax = Relaxation(model, [cylinder_tool(0.5 * d, half, ORIGIN, Z)], hold=(ORIGIN, Z),
                           options=RelaxationOptions(rtol=rtol, method=method))
        state, info = relax.solve(state)
        assert info.residual <= rtol * info.scale + 1e-6
        forces.append(relax.contact_force.sum())
    return state, np.array(forces), relax


@pytest.mark.parametrize("method", ["kinetic", "fire"])
def test_z_ring_crimp_matches_the_guided_beam_formula(method):
    """The closed form of tests/stent/test_bench.py (../shared/reference §4): many crowns, a
    small crimp; within 1 % once the strut force is projected on the hoop direction. Both
    dampings (kinetic, FIRE) reach the same equilibrium."""
    D, crowns, L, w, t, dD = 28.0, 48, 5.0, 0.2, 0.3, 0.1
    net = z_ring(D, crowns, L, w, t, material=STEEL, elements_per_strut=6)
    _, force, _ = _crimp(beam_model(net), [D + t - dD], rtol=1e-5, method=method)
    N, I = 2 * crowns, t * w**3 / 12
    th0, th1 = np.arcsin(np.pi * D / (N * L)), np.arcsin(np.pi * (D - dD) / (N * L))
    ref = 2 * np.pi * 12 * E * I * 2 * L * np.sin(0.5 * (th0 - th1)) / L**3
    assert force[-1] == pytest.approx(ref / np.cos(th0), rel=0.01)


@pytest.mark.parametrize("method", ["kinetic", "fire"])
def test_nitinol_crimp_agrees_with_newton(method):
    """Large crimp of a superelastic ring (plateau reached): the relaxed equilibria carry the
    force Newton finds on the same path, within 0.5 %."""
    net = z_ring(24.0, 6, 10.0, 0.4, 0.3)
    d0 = outer_diameter(net)
    path = np.linspace(d0, 12.0, 5)[1:]
    _, force, _ = _crimp(beam_model(net), path, method=method)
    newton = radial_force_test(net, 12.0, steps=4, release=False)
    assert newton.diameter_mm[1:] == pytest.approx(path)
    assert force == pytest.approx(np.array(newton.force_N[1:]), rel=5e-3)
    assert force[-1] > 1.0


def test_stent_graft_fabric_adds_no_radial_force_and_ties_hold():
    """A tension-field fabric carries no compression: crimped with its fabric the graft needs
    its rings' force (within 1 %). The sutured fabric nodes move with their struts (ties
    stretched by less than 1e-9 mm) and the fabric is pressed into the catheter too."""
    net = stent_graft(12, 6, 8, 0.3, 0.3, rings=2, ring_gap=2, graft_margin=1, material=STEEL)
    path = [10.0, 8.0]
    _, rings, _ = _crimp(beam_model(net), path, rtol=1e-3)
    model = beam_model(net, fabric=True)
    state, graft, relax = _crimp(model, path, rtol=1e-3)
    assert graft == pytest.approx(rings, rel=1e-2)
    a, b = model.ties.T
    stretch = (state.x[a] - model.nodes[a]) - (state.x[b] - model.nodes[b])
    assert np.abs(stretch).max() < 1e-9
    fabric = np.unique(model.membranes)
    assert np.count_nonzero(relax.contact_force[fabric]) > 0


def test_hold_carries_an_axial_push():
    """A constant axial push on the lower apexes of a ring (a tool whose penetration does not
    change). Free, the ring has no equilibrium (it is pushed away for ever): the solve says
    so. Held by the pusher, it settles, and the push is its reaction: the residual left is
    within tolerance once the held modes are taken out."""
    net = z_ring(20.0, 6, 8.0, 0.4, 0.3, material=STEEL)
    model = beam_model(net)
    lower = np.isclose(model.nodes[:, 2], model.nodes[:, 2].min())

    def push(x):
        return np.where(lower, 1e-3, -1.0), np.tile([0.0, 0.0, -1.0], (len(x), 1))

    opt = RelaxationOptions(rtol=1e-4, max_steps=20_000)
    with pytest.raises(ConvergenceError, match="out-of-balance"):
        Relaxation(model, [push], options=opt).solve(model.initial_state())
    relax = Relaxation(model, [push], hold=(ORIGIN, Z), options=opt)
    state, info = relax.solve(model.initial_state())
    assert relax.contact_force.sum() > 0.0
    assert info.residual <= 1e-4 * info.scale + 1e-6
    assert np.abs(state.x - model.nodes).max() > 0.0


def test_ring_against_a_fixed_lumen_surface():
    """A ring released inside a rigid triangulated tube bears on it all round: the force of
    the relaxed contact equals the crimp force in a cylinder of the same radius (0.5 %,
    the facets' chord sag)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "test_deploy", Path(__file__).parents[1] / "stent" / "test_deploy.py")
    tube_surface = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tube_surface)
    tube_surface = tube_surface.tube_surface
    net = z_ring(20.0, 6, 8.0, 0.4, 0.3, material=STEEL)
    model = beam_model(net)
    P, T = tube_surface(9.0, -10.0, 20.0, around=256)
    from biomech.contact.surface import SurfaceContact

    lumen = SurfaceContact(T, model.half_thickness(), 1.0)
    relax = Relaxation(model, [surface_tool(lumen, P)], hold=(ORIGIN, Z),
                       options=RelaxationOptions(rtol=1e-5))
    state, info = relax.solve(model.initial_state())
    _, ref, _ = _crimp(model, [18.0], rtol=1e-5)
    assert relax.contact_force.sum() == pytest.approx(ref[-1], rel=5e-3)
    assert info.penetration_mm < 1e-3


def test_budget_exhausted_raises_with_the_force_left():
    net = z_ring(20.0, 6, 8.0, 0.4, 0.3, material=STEEL)
    model = beam_model(net)
    tool = cylinder_tool(8.0, model.half_thickness(), ORIGIN, Z)
    relax = Relaxation(model, [tool], hold=(ORIGIN, Z), options=RelaxationOptions(max_steps=10))
    with pytest.raises(ConvergenceError, match="out-of-balance force .* after 10 steps"):
        relax.solve(model.initial_state())


def test_unknown_damping_method_is_refused():
    model = beam_model(z_ring(24.0, 6, 10.0, 0.4, 0.3))
    with pytest.raises(ValueError, match="'kinetic' or 'fire'"):
        Relaxation(model, options=RelaxationOptions(method="viscous"))
