"""Deployment: crimp into a catheter, release against a rigid or deformable tube."""

import numpy as np
import pytest

from biomech.stent import z_ring
from biomech.stent.bench import radial_force_test
from biomech.stent.deploy import Wall, deploy, device_gaps

STEEL = {"model": "linear-elastic", "E": 50e3, "nu": 0.33}


def tube_surface(radius, z0, z1, around=128, along=24):
    """A triangulated tube, normals pointing away from the axis (out of the lumen)."""
    th = np.arange(around) * 2 * np.pi / around
    z = np.linspace(z0, z1, along + 1)
    P = np.array([[radius * np.cos(t), radius * np.sin(t), zz] for zz in z for t in th])
    tris = []
    for j in range(along):
        for i in range(around):
            a, b = j * around + i, j * around + (i + 1) % around
            c, d = a + around, b + around
            tris += [(a, c, b), (b, c, d)]
    T = np.array(tris)
    n = np.cross(P[T[:, 1]] - P[T[:, 0]], P[T[:, 2]] - P[T[:, 0]])
    centre = P[T].mean(axis=1)
    radial = centre * np.array([1.0, 1.0, 0.0])
    flip = np.sum(n * radial, axis=1) < 0
    T[flip] = T[flip][:, [0, 2, 1]]
    return P, T


def _rigid_tube_deploy(net, d_tube, friction=0.0):
    P, T = tube_surface(0.5 * d_tube, -10.0, 30.0)
    wall = Wall(None, P, T)
    return deploy(net, wall, point=np.array([0.0, 0.0, 0.0]), axis=np.array([0.0, 0.0, 1.0]),
                  catheter_diameter_mm=16.0, release_diameter_mm=d_tube + 2.0, friction=friction,
                  steps=6)


def test_elastic_ring_in_a_rigid_tube_full_apposition_and_bench_force():
    net = z_ring(28.0, 8, 10.0, 0.4, 0.3, material=STEEL)
    out = _rigid_tube_deploy(net, 24.0)
    cfg, solver = out["configuration"], out["solver"]
    lam = solver.lumen.contact_forces()
    apexes = np.flatnonzero(np.isclose(np.hypot(net.nodes[:, 0], net.nodes[:, 1]), 14.0))
    assert np.all(lam[apexes] > 0)                              # every apex bears on the wall
    assert lam[apexes].max() < 1.01 * lam[apexes].min()         # uniform contact force
    gaps = device_gaps(solver, cfg)[apexes]
    sag = 12.0 * (1 - np.cos(np.pi / 128))                       # facet chord vs the circle
    assert gaps.min() > -1e-3 and gaps.max() < sag + 1e-3         # on the wall, no penetration
    bench = radial_force_test(net, 24.0, steps=4, release=False)
    assert lam.sum() == pytest.approx(bench.force_N[-1], rel=0.01)


def test_nitinol_ring_in_a_rigid_tube_bears_its_chronic_outward_force():
    """Crimped to 16 mm and released into 24 mm: the wall force is the release branch of
    the bench curve (chronic outward force), not the crimp branch."""
    net = z_ring(28.0, 8, 10.0, 0.4, 0.3)
    out = _rigid_tube_deploy(net, 24.0)
    force = out["solver"].lumen.contact_forces().sum()
    bench = radial_force_test(net, 16.0, steps=8)
    assert force == pytest.approx(bench.at(24.0, "release"), rel=0.03)
    assert force < 0.9 * bench.at(24.0, "crimp")


@pytest.mark.slow
def test_ring_in_a_deformable_pressurised_tube_sits_on_its_release_curve():
    """The shipped aortic segment (Raghavan–Vorp wall, 100 mmHg, ends clamped) takes a 24 mm
    nitinol ring released from 14 mm: the device settles between the pressurised lumen
    and its nominal diameter, action = reaction, and the total wall force equals the ring's
    own release curve (bench, rigid head) at the diameter it settled at."""
    from pathlib import Path

    from biomech.mesh.io import read_mesh
    from biomech.model import Model

    mesh = read_mesh(Path(__file__).resolve().parents[2] / "meshes" / "tube.vtu")
    model = Model(mesh)
    model.add_material("all", "raghavan-vorp", alpha="17.4 N/cm2", beta="188.1 N/cm2",
                       bulk="100 MPa")
    model.fix("zmin")
    model.fix("zmax")
    model.add_pressure("inner", "100 mmHg")
    pressurised = model.solve(steps=2)
    quads = mesh.face_sets["inner"]["quad"]
    T = np.vstack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    P = mesh.points
    n = np.cross(P[T[:, 1]] - P[T[:, 0]], P[T[:, 2]] - P[T[:, 0]])
    flip = np.sum(n * P[T].mean(axis=1) * [1, 1, 0], axis=1) < 0
    T[flip] = T[flip][:, [0, 2, 1]]
    lumen_r = np.hypot(*(P + pressurised.displacement)[np.unique(T)][:, :2].T).mean()
    net = z_ring(24.0, 8, 10.0, 0.4, 0.3)
    out = deploy(net, Wall(pressurised.problem, P, T), point=np.array([0, 0, 10.0]),
                 axis=np.array([0, 0, 1.0]), catheter_diameter_mm=14.0,
                 release_diameter_mm=2 * lumen_r + 2.0, friction=0.2, steps=6,
                 wall_u0=pressurised.displacement.ravel())
    cfg, solver = out["configuration"], out["solver"]
    apexes = np.flatnonzero(np.isclose(np.hypot(net.nodes[:, 0], net.nodes[:, 1]), 12.0))
    d_apex = 2 * (np.hypot(cfg.beam.x[apexes, 0], cfg.beam.x[apexes, 1]) + 0.15)
    assert 2 * lumen_r < d_apex.min() and d_apex.max() < 24.3
    force = solver.lumen.contact_forces().sum()
    bench = radial_force_test(net, 14.0, steps=8)
    assert force == pytest.approx(bench.at(d_apex.mean(), "release"), rel=0.05)
    f, _ = solver.lumen.forces(cfg.beam.x, solver.wall_points(cfg), solver.slave_dofs,
                               solver.master_dofs, solver.n)
    wall_free = solver.master_dofs[solver.master_dofs >= 0]
    beam_dofs = solver.slave_dofs.ravel()
    on_wall = f[wall_free].reshape(-1, 3).sum(axis=0)  # clamped-end vertices carry none here
    assert np.allclose(on_wall, -f[beam_dofs].reshape(-1, 3).sum(axis=0), atol=1e-8 * force)


def test_stent_graft_with_its_fabric_in_a_rigid_tube():
    """A 2-ring, 12 mm steel stent-graft deployed with its fabric (explicit crimp and
    release, then Newton with the fabric stabilised and settled) into a rigid 10 mm tube:
    the pusher lets go, the fabric touches the wall, and the wall carries the rings' own
    bench force at 10 mm (a membrane adds no compression) within 1 %, with the settling's
    error inside its tolerance."""
    from biomech.stent import stent_graft
    from biomech.stent.bench import QUASI_STATIC_RTOL

    net = stent_graft(12, 6, 8, 0.3, 0.3, rings=2, ring_gap=2, graft_margin=1, material=STEEL)
    P, T = tube_surface(5.0, -10.0, 30.0)
    out = deploy(net, Wall(None, P, T), point=np.zeros(3), axis=np.array([0.0, 0.0, 1.0]),
                 catheter_diameter_mm=6.0, release_diameter_mm=12.0, friction=0.2, steps=6,
                 fabric=True)
    solver, cfg = out["solver"], out["configuration"]
    lam = solver.lumen.contact_forces()
    fabric = np.unique(solver.beam.membranes)
    assert out["released"]
    assert np.count_nonzero(lam[fabric]) > 0
    bench = radial_force_test(net, 10.0, steps=4, release=False, fabric=False)
    assert lam.sum() == pytest.approx(bench.force_N[-1], rel=0.01)
    last = out["history"][-1]
    assert last["stabilisation_N"] <= max(QUASI_STATIC_RTOL * lam.sum(), 1e-3)
    assert device_gaps(solver, cfg).min() > -1e-3


@pytest.mark.slow
def test_sealed_stent_graft_passes_the_blood_pressure_to_a_rigid_tube():
    """The stent-graft of the test above, deployed in the rigid 10 mm tube, then sealed
    (the blood pressure moved onto its fabric, 120 mmHg) with an endoleak leaving a quarter
    of it in the sac: the fabric lies on the wall and the wall's total contact force grows
    by the net pressure's radial resultant on the fabric, which for its n-gon cross-section
    (facets at the apothem, nodal normals at ±π/n to them) is (1 − ¼) p n r sin(2π/n) L
    (r: the fabric's mid-surface radius on the wall, 5 − t/2; L: between its end levels'
    mean heights), within 2 %. Sealed frictionless at once: held by friction, this slack
    12-gon fabric sticks and slips and does not converge (the fallback the crash test
    takes, which costs the failed attempt first)."""
    from biomech.stent import stent_graft
    from biomech.stent.deploy import seal_graft

    p = 120 * 133.322e-6  # MPa
    net = stent_graft(12, 6, 8, 0.3, 0.3, rings=2, ring_gap=2, graft_margin=1, material=STEEL)
    P, T = tube_surface(5.0, -10.0, 30.0)
    out = deploy(net, Wall(None, P, T, lumen_pressure=p), point=np.zeros(3),
                 axis=np.array([0.0, 0.0, 1.0]), catheter_diameter_mm=6.0,
                 release_diameter_mm=12.0, friction=0.2, steps=6, fabric=True)
    solver, cfg = out["solver"], out["configuration"]
    before = solver.lumen.contact_forces().sum()
    sealed, info = seal_graft(solver, cfg, lambda c: np.ones(len(c), bool), sac_share=0.25,
                              fabric_friction=False)
    lam = solver.lumen.contact_forces()
    fabric = np.unique(solver.beam.membranes)
    around = 2 * 6
    z = sealed.beam.x[fabric, 2]
    L = z[-around:].mean() - z[:around].mean()
    r = 5.0 - 0.5 * solver.beam.membrane_thickness
    expected = 0.75 * p * around * r * np.sin(2 * np.pi / around) * L
    assert lam.sum() - before == pytest.approx(expected, rel=0.02)
    gaps = device_gaps(solver, sealed)[fabric]
    assert gaps.min() > -1e-3 and np.mean(gaps < 0.5) == 1.0  # on the wall, all of it
    assert solver.wall.fabric_pressure == pytest.approx(0.75 * p)
    assert not info["fabric_friction"]


def _bare_solver(n):
    """A DeploymentSolver with only what its linear algebra uses (n DOFs, none fixed)."""
    from biomech.stent.deploy import DeploymentSolver

    solver = DeploymentSolver.__new__(DeploymentSolver)
    solver.n, solver.fixed = n, np.zeros(0, np.int64)
    return solver


def test_newton_step_is_plain_newton_where_the_tangent_is_positive_definite():
    import scipy.sparse as sp

    K = sp.csr_matrix(np.array([[4.0, 1.0], [1.0, 3.0]]))
    r = np.array([1.0, 2.0])
    du, shift = _bare_solver(2)._step(K, r, r, None, 0.0)
    assert shift == 0.0
    np.testing.assert_allclose(du, -np.linalg.solve(K.toarray(), r), rtol=1e-12)


def test_newton_step_on_an_indefinite_tangent_is_shifted_until_it_descends():
    """K = diag(1, −1), r = (1, 2): Newton's step (−1, 2) climbs the energy (du·r = 3 > 0).
    K + μ|diag K| descends once μ > 1: the first of 1e-6 × 10^k is μ = 10, and the step is
    then −(K + 10 I)⁻¹ r."""
    import scipy.sparse as sp

    K = sp.csr_matrix(np.diag([1.0, -1.0]))
    r = np.array([1.0, 2.0])
    du, shift = _bare_solver(2)._step(K, r, r, None, 0.0)
    assert shift == pytest.approx(10.0)
    assert du @ r < 0.0
    np.testing.assert_allclose(du, [-1.0 / 11.0, -2.0 / 9.0], rtol=1e-12)


@pytest.mark.parametrize("stages", [0, 8])
def test_braid_delivered_along_a_centreline_shortens_by_braid_kinematics(stages):
    """The curved delivery (crimp, reopen short of the lumen, wrap onto the centreline, opened
    by braid kinematics then let go by FIRE — or, ``stages``, released as a catheter along the
    centreline is withdrawn in 8 stages — stabilised Newton) on a 12-wire 8 mm braid into a
    rigid 6.5 mm tube, frictionless:
    the braid is let go, its middle half lies on the wall, and its length is that of braid kinematics at the
    wire-centre diameter d = 6.35 mm — inextensible helices of length ℓ = L0/cos α keep
    L² + (L0 tan α d/D0)² = ℓ² — which predicts 9.81 mm from 8.38 mm as made."""
    from biomech.stent.devices import braided
    from biomech.stent.placement import CentrelinePath

    steel = {"model": "linear-elastic", "E": 200e3, "nu": 0.3}
    net = braided(8.0, 8.0, 12, 45.0, 0.15, elements_per_segment=2, material=steel)
    length_made = np.ptp(net.nodes[:, 2])
    d_tube = 6.5
    P, T = tube_surface(0.5 * d_tube, -20.0, 40.0)
    s = np.linspace(0.0, 60.0, 61)
    path = CentrelinePath.smoothed(s, np.column_stack([0.0 * s, 0.0 * s, s - 20.0]))
    out = deploy(net, Wall(None, P, T), point=np.zeros(3), axis=np.array([0.0, 0.0, 1.0]),
                 catheter_diameter_mm=3.0, release_diameter_mm=7.0, friction=0.0, steps=6,
                 check_crimped=lambda state: True, centreline=path, landing_s_mm=20.0,
                 open_mm=0.9 * d_tube, release_stages=stages)
    solver, cfg = out["solver"], out["configuration"]
    assert out["released"] and out["curved_delivery"]
    d = d_tube - 0.15
    wire = length_made / np.cos(np.radians(45.0))
    expected = np.sqrt(wire ** 2 - (length_made * np.tan(np.radians(45.0)) * d / 8.0) ** 2)
    assert np.ptp(cfg.beam.x[:, 2]) == pytest.approx(expected, rel=0.01)
    gaps, z = device_gaps(solver, cfg), cfg.beam.x[:, 2]
    middle = np.abs(z - 0.5 * (z.min() + z.max())) < 0.25 * np.ptp(z)
    assert gaps.min() > -1e-3  # no penetration beyond the contact tolerance
    assert gaps[middle].max() < 0.02  # on the wall (the wires sag 0.014 mm between crossings)
    assert gaps.max() < 0.25  # the tied ends neck in a little: apposed by the 0.5 mm rule
    assert solver.lumen.contact_forces().sum() > 0.0


class _FakeLumen:
    """What the settling reads and restores of a lumen contact, with a visible state."""

    def __init__(self):
        self.state = 0

    def saved(self):
        return self.state

    def restore(self, saved):
        self.state = saved

    def contact_forces(self):
        return np.zeros(1)


def _settling_solver(fail_at):
    """A DeploymentSolver whose Newton (``_solve_once``) moves its one soft node 1 mm per
    solve, changes the lumen's state, and fails for the spring stiffnesses in ``fail_at``."""
    from biomech.errors import ConvergenceError
    from biomech.stent.deploy import Configuration, DeploymentSolver
    from biomech.structures.beams import BeamState

    solver = DeploymentSolver.__new__(DeploymentSolver)
    solver.soft_nodes, solver.soft_stiffness = np.array([0]), 1.0
    solver._springs = solver._accept = None
    solver.warm_springs, solver._settled_springs = False, None
    solver.lumen, solver.catheter = _FakeLumen(), None
    springs = []

    def solve_once(cfg):
        k = solver._springs[0]
        springs.append(k)
        solver.lumen.state += 1
        if any(np.isclose(k, f) for f in fail_at):
            raise ConvergenceError("stalled")
        x = cfg.beam.x + np.array([[1.0, 0.0, 0.0]])
        return (Configuration(BeamState(x, cfg.beam.R, cfg.beam.history), cfg.wall_u),
                {"iterations": 1, "out_of_balance_N": 0.0})

    solver._solve_once = solve_once
    cfg = Configuration(BeamState(np.zeros((1, 3)), np.eye(3)[None], np.zeros((1, 1))),
                        np.zeros(0))
    return solver, cfg, springs


def test_a_failed_settle_is_undone_and_retried_with_springs_softened_less():
    """Springs 1, 0.3 (fails: undone, the lumen state restored), √0.3 (the geometric mean
    with the last that settled), then ×0.3 per settle to 1e-3, where the spring force left
    (k × 1 mm) meets the 1e-3 N tolerance."""
    from biomech.errors import ConvergenceError

    solver, cfg, springs = _settling_solver(fail_at=[0.3])
    out, info = solver.solve(cfg)
    assert springs[:4] == pytest.approx([1.0, 0.3, np.sqrt(0.3), 0.3 * np.sqrt(0.3)])
    assert springs[-1] == pytest.approx(1e-3) and info["stabilisation_N"] <= 1e-3
    assert out.beam.x[0, 0] == pytest.approx(len(springs) - 1)  # the failed solve undone
    assert solver.lumen.state == len(springs) - 1

    solver, cfg, springs = _settling_solver(fail_at=[1.0])  # nothing settled yet: an error
    with pytest.raises(ConvergenceError):
        solver.solve(cfg)
    retries = [0.3] + [0.3 ** (0.5 ** j) for j in range(1, 8)]
    solver, cfg, springs = _settling_solver(fail_at=retries)  # retries end near the last
    with pytest.raises(ConvergenceError):
        solver.solve(cfg)
    assert springs[-1] > 0.9 * 1.0


def test_warm_springs_start_near_the_last_settled_and_stiffen_if_too_soft():
    """With ``warm_springs`` (the fabric under blood pressure) a solve starts at 1/0.3² × the
    springs the last one settled with (1e-3 here: 1/90), at most ``soft_stiffness``; one
    whose first settle fails is undone and restarted ×1/0.3² stiffer."""
    solver, cfg, springs = _settling_solver(fail_at=[])
    cfg, _ = solver.solve(cfg)
    assert springs[-1] == pytest.approx(1e-3)
    solver.warm_springs = True
    springs.clear()
    solver.solve(cfg)
    assert springs[0] == pytest.approx(1e-3 / 0.09)
    solver2, cfg2, springs2 = _settling_solver(fail_at=[1e-3 / 0.09])
    solver2.warm_springs, solver2._settled_springs = True, 1e-3
    state = solver2.lumen.state
    out, _ = solver2.solve(cfg2)
    assert springs2[:2] == pytest.approx([1e-3 / 0.09, 1e-3 / 0.09**2])
    failed = int(np.isclose(springs2, 1e-3 / 0.09).sum())  # the start, and once later
    assert out.beam.x[0, 0] == pytest.approx(len(springs2) - failed)  # failures undone
    assert solver2.lumen.state == state + len(springs2) - failed


@pytest.mark.parametrize("toe", [0.0, 0.01])
def test_free_fabric_tube_under_blood_pressure_follows_laplace(toe):
    """An open fabric tube (24-gon, R 5 mm, t 0.1 mm, 1000 MPa, ν 0.35) under a follower
    pressure on its inner face, ends free, stays a uniform tube whose hoop stress balances
    the pressure (Laplace): for the n-gon, whose facets lie at the apothem r cos(π/n), the
    hoop tension per current length is p r cos(π/n), so the PK2 hoop stress
    S = p R cos(π/n) λz / t, and S = Y (E − toe/2) beyond the toe. Its length is not
    asserted: with no axial stress the fabric wrinkles there and only the residual stiffness
    (1e-5) holds it."""
    from biomech.stent.deploy import Configuration, DeploymentSolver
    from biomech.structures.beams import BeamModel

    Y, nu, t, R, L, p = 1000.0, 0.35, 0.1, 5.0, 8.0, 0.6
    around, levels = 24, 9
    th, z = np.meshgrid(2 * np.pi * np.arange(around) / around, np.linspace(0, L, levels))
    pts = np.column_stack([R * np.cos(th.ravel()), R * np.sin(th.ravel()), z.ravel()])
    i, k = np.meshgrid(np.arange(levels - 1), np.arange(around), indexing="ij")
    a, b = (i * around + k).ravel(), (i * around + (k + 1) % around).ravel()
    tri = np.concatenate([np.column_stack([a, b, b + around]),
                          np.column_stack([a, b + around, a + around])])  # normals outward
    far = np.array([[100.0, 0.0, 0.0], [101.0, 0.0, 0.0]])  # a dummy beam keeps the beam part
    model = BeamModel(np.vstack([far, pts]), np.array([[0, 1]]), np.array([[0.0, 1.0, 0.0]]),
                      np.array([0]), np.array([0.5]), np.array([0.5]), STEEL,
                      membranes=tri + 2, membrane_thickness=t,
                      membrane_material={"E": Y, "nu": nu, "toe_strain": toe})
    wall = Wall(None, np.zeros((0, 3)), np.zeros((0, 3), np.int64), lumen_pressure=p, sealed=1.0)
    solver = DeploymentSolver(model, wall, None, None, axis_point=np.zeros(3),
                              axis=np.array([0.0, 0.0, 1.0]))
    solver.fixed, solver.hold = np.arange(12), [1]  # the dummy beam; the tube's rigid modes
    state = model.initial_state()
    state.x[2:, :2] *= 1.02  # a taut start
    cfg, info = solver.solve(Configuration(state, np.zeros(0)))
    x = cfg.beam.x[2:]
    r = np.hypot(x[:, 0], x[:, 1])
    assert np.ptp(r) < 1e-9 * R
    E = 0.5 * ((r.mean() / R) ** 2 - 1)
    lam_z = np.ptp(x[:, 2]) / L
    S = p * R * np.cos(np.pi / around) * lam_z / t
    assert Y * (E - 0.5 * toe) == pytest.approx(S, rel=1e-4)
    assert E > 0.02  # a real inflation (2.8 %), not the start
    assert info["residual"] < 1e-6


def test_sealing_moves_the_blood_pressure_from_the_covered_lumen_faces_to_the_fabric():
    """``Wall.covering`` copies the FE problem's pressure faces (the vessel's own stay as
    they are); ``seal(s)`` leaves (1 − s) of the pressure on the faces it covers, all of it
    on the others, and puts s × load factor × the lumen pressure on the fabric."""
    from types import SimpleNamespace

    from biomech.fem.problem import PressureBlock

    X = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 5], [1, 0, 5], [0, 1, 5]])
    block = PressureBlock("triangle", np.array([[0, 1, 2], [3, 4, 5]]), np.full(2, 0.016))
    problem = SimpleNamespace(X=X, pressures=[block], n_dofs=18)
    wall = Wall(problem, X, np.zeros((0, 3), np.int64), load_factor=1.5, lumen_pressure=0.016)
    covered = wall.covering(lambda c: c[:, 2] < 1.0)
    covered.seal(0.25)
    assert covered.problem.pressures[0].pressure == pytest.approx([0.75 * 0.016, 0.016])
    assert covered.fabric_pressure == pytest.approx(0.25 * 1.5 * 0.016)
    assert block.pressure == pytest.approx([0.016, 0.016]) and wall.fabric_pressure == 0.0
    covered.seal(1.0)
    assert covered.problem.pressures[0].pressure == pytest.approx([0.0, 0.016])


def test_sealing_held_by_friction_that_fails_is_undone_and_redone_frictionless(monkeypatch):
    """``seal_graft`` with wall friction: the fabric is first held by it (friction mask 1);
    where that load path does not converge, the contacts and the seal are undone and the
    path is redone from the unsealed state, frictionless, to 1 − the sac share."""
    from types import SimpleNamespace

    from biomech.errors import ConvergenceError
    from biomech.stent import deploy as dp

    X = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    wall = Wall(None, X, np.zeros((0, 3), np.int64), lumen_pressure=0.016)
    lumen = SimpleNamespace(friction=0.2, friction_mask=np.zeros(5), state="deployed")
    solver = SimpleNamespace(wall=wall, lumen=lumen, warm_springs=False,
                             beam=SimpleNamespace(membranes=np.array([[2, 3, 4]])))
    solver.saved_contacts = lambda: lumen.state
    solver.restore_contacts = lambda s: setattr(lumen, "state", s)
    calls = []

    def load_path(solver, cfg, set_load, start, stop, steps, on_step=None):
        calls.append((lumen.friction_mask.copy(), cfg, stop, lumen.state))
        set_load(0.5 * stop)
        lumen.state = "stuck"
        if len(calls) == 1:
            raise ConvergenceError("stick-slip")
        return "sealed", {"iterations": 7}

    monkeypatch.setattr(dp, "load_path", load_path)
    cfg = SimpleNamespace(copy=lambda: "unsealed copy")
    out, info = dp.seal_graft(solver, cfg, lambda c: np.ones(len(c), bool), sac_share=0.2)
    assert out == "sealed" and info == {"iterations": 7, "fabric_friction": False}
    (rough, _, stop0, _), (smooth, start, stop1, contacts) = calls
    assert rough.tolist() == [0, 0, 1, 1, 1] and not smooth.any()  # the fabric's nodes only
    assert start == "unsealed copy" and contacts == "deployed"  # undone
    assert stop0 == stop1 == pytest.approx(0.8)
    assert solver.wall.sealed == pytest.approx(0.4)  # the redone path's, not the failed one's
    with pytest.raises(ValueError, match="sac_share"):
        dp.seal_graft(solver, cfg, lambda c: np.ones(len(c), bool), sac_share=1.0)
