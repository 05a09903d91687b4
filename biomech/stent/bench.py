"""Virtual radial-force test (ISO 25539-2 style): a rigid, frictionless crimping head
closes from the device's outer diameter to a target and reopens, quasi-statically.

The head is a rigid cylinder about the device axis; struts touch it with their outer
surface (node radius + half the radial thickness). The device's six rigid-body modes are
removed exactly (zero mean translation and rotation, Lagrange multipliers), which adds no
force for a centred, self-equilibrated test. Reported force: the total radial force on the
device, the sum of the contact forces over its circumference (N), as radial-force testers
report it. Diameters are of the head's inner surface (mm).

A stent-graft is tested with its fabric (tension-field membrane). Crimped fabric has next
to no stiffness and Newton cycles on its contacts, so the solve is stabilised (a spring of
``FABRIC_STABILISATION`` × the fabric's membrane stiffness per node to the start of each
step) and settled at every step until the springs' radial resultant, the error of the
reported force, is below ``QUASI_STATIC_RTOL`` of it (``QUASI_STATIC_ATOL`` at least).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from biomech.contact import RigidCylinder
from biomech.errors import CaseError
from biomech.structures.beams import BeamState, beam_model
from biomech.structures.static import Equilibrium, SolveOptions, Stabilisation, follow_path

#: Stabilisation spring per fabric/strut node, relative to the fabric's membrane stiffness
#: E t / (1 − ν²) (N/mm): 10 × the compression stiffness a wrinkled membrane keeps (1e-5).
#: Measured on SG28 crimped to 11 mm: at 1e-5 (polyester) the crimp converges but the
#: settling does not; 1e-4 converges for polyester (E 1 GPa) and ePTFE (55 MPa) alike.
FABRIC_STABILISATION = 1e-4
QUASI_STATIC_RTOL = 1e-3  # stabilisation's radial resultant ≤ this × the radial force …
QUASI_STATIC_ATOL = 1e-3  # … or this (N), whichever is larger


@dataclass
class RadialForceCurve:
    """Head diameter (mm), total radial force (N) and phase ("crimp"/"release") per step."""

    diameter_mm: list[float] = field(default_factory=list)
    force_N: list[float] = field(default_factory=list)
    phase: list[str] = field(default_factory=list)
    contact_nodes: list[int] = field(default_factory=list)
    max_strain: list[float] = field(default_factory=list)
    stabilisation_N: list[float] = field(default_factory=list)  # quasi-static error per step
    newton_iterations: int = 0
    states: list[BeamState] = field(default_factory=list)

    def at(self, diameter_mm: float, phase: str) -> float:
        """Force (N) interpolated at a diameter on one phase of the curve."""
        d = np.array([x for x, p in zip(self.diameter_mm, self.phase) if p == phase])
        f = np.array([x for x, p in zip(self.force_N, self.phase) if p == phase])
        order = np.argsort(d)
        return float(np.interp(diameter_mm, d[order], f[order]))

    def write_csv(self, path: str | Path) -> None:
        """``diameter_mm,force_N,phase`` rows, written atomically."""
        from biomech.results import _atomic_text

        text = io.StringIO(newline="")
        w = csv.writer(text)
        w.writerow(["diameter_mm", "force_N", "phase"])
        for d, f, p in zip(self.diameter_mm, self.force_N, self.phase):
            w.writerow([f"{d:.6f}", f"{f:.6f}", p])
        _atomic_text(Path(path), text.getvalue())


def outer_diameter(network) -> float:
    """Diameter (mm) of the cylinder touching the device's outermost strut surface."""
    r = np.hypot(network.nodes[:, 0], network.nodes[:, 1])
    half = np.zeros(len(network.nodes))
    np.maximum.at(half, network.beams.ravel(), np.repeat(0.5 * network.thickness, 2))
    return float(2.0 * np.max(r + half))


def radial_force_test(network, to_diameter_mm: float, *, steps: int = 20,
                      release: bool = True, penalty: float | None = None,
                      keep_states: bool = False, options: SolveOptions | None = None,
                      fabric: bool = True, reopen_mm: float | None = None) -> RadialForceCurve:
    """Crimp ``network`` from its outer diameter to ``to_diameter_mm`` in ``steps`` steps
    (halved on divergence), then reopen (``release``) to its outer diameter or to
    ``reopen_mm``; the force–diameter curve. ``fabric``: a stent-graft's fabric is modelled
    (stabilised, see the module docstring); False tests its rings alone."""
    d0 = outer_diameter(network)
    if not 0.0 < to_diameter_mm < d0 - 0.01:
        raise CaseError(f"--to {to_diameter_mm:g} mm: the crimp target must be between 0 and "
                        f"the device's outer diameter {d0:.2f} mm (less 0.01 mm)")
    model = beam_model(network, fabric=fabric)
    half = model.half_thickness()
    head = RigidCylinder(0.5 * d0, penalty or _penalty(model), half)
    stabilisation = fabric_stabilisation(model, head)
    if options is None and stabilisation is not None:
        options = SolveOptions(max_iterations=60)  # contact states of the fabric settle slowly
    eq = Equilibrium(model, [head], rigid_modes=True, options=options,
                     stabilisation=stabilisation)
    curve = RadialForceCurve()
    box = {"state": model.initial_state()}

    def set_diameter(d: float) -> None:
        head.radius = 0.5 * d

    def solve():
        box["state"], info = eq.solve(box["state"])
        curve.newton_iterations += info.iterations
        return info

    def record(phase: str):
        def on_step(d: float, _info) -> None:
            f = head.contact_forces()
            curve.diameter_mm.append(float(d))
            curve.force_N.append(float(f.sum()))
            curve.phase.append(phase)
            curve.contact_nodes.append(int(np.count_nonzero(f > 0)))
            curve.max_strain.append(float(model.peak_strains(box["state"]).max()))
            curve.stabilisation_N.append(0.0 if _info is None else _info.stabilisation_error_N)
            if keep_states:
                curve.states.append(box["state"].copy())
        return on_step

    snap = lambda: (box["state"].copy(), head.multipliers.copy(), head.radius)

    def restore(s) -> None:
        box["state"], head.multipliers, head.radius = s[0], s[1], s[2]

    record("crimp")(d0, None)
    follow_path(set_diameter, solve, d0, to_diameter_mm, steps, on_step=record("crimp"),
                snapshot=snap, restore=restore)
    if release:
        d1 = d0 if reopen_mm is None else min(max(reopen_mm, to_diameter_mm), d0)
        n = max(1, int(round(steps * (d1 - to_diameter_mm) / (d0 - to_diameter_mm))))
        follow_path(set_diameter, solve, to_diameter_mm, d1, n, on_step=record("release"),
                    snapshot=snap, restore=restore)
    return curve


def fabric_stabilisation(model, head: RigidCylinder) -> Stabilisation | None:
    """The stabilisation of a model with fabric (None without): its error is the radial
    resultant (N) of the springs about the head's axis (the error of the radial force), its
    tolerance ``QUASI_STATIC_RTOL`` × the head's force, at least ``QUASI_STATIC_ATOL``."""
    if not len(model.membranes):
        return None
    m = model.membrane_material
    stiffness = FABRIC_STABILISATION * m["E"] * model.membrane_thickness / (1.0 - m["nu"] ** 2)

    def radial_resultant(x: np.ndarray, f: np.ndarray) -> float:
        r = head.radial_vectors(x)
        return abs(float(np.sum(f * r / np.linalg.norm(r, axis=1, keepdims=True))))

    def tolerance() -> float:
        return max(QUASI_STATIC_RTOL * abs(float(head.contact_forces().sum())), QUASI_STATIC_ATOL)

    return Stabilisation(stiffness, radial_resultant, tolerance)


def _penalty(model) -> float:
    """Contact penalty (N/mm): 100 × the transverse stiffness 12 E I / l³ of a typical element."""
    E = model.params[0]
    I = float(np.median(np.sum(model.spts[:, :, 2] * model.spts[:, :, 1] ** 2, axis=1)))
    return 100.0 * 12.0 * E * I / float(np.median(model.l0)) ** 3
