"""One device's crash-test in a patient's vessel: checks before solving, deployment at the
landing zone (crimp → place → release → settle at the imaging pressure; a stent-graft's
fabric then takes the blood pressure off the wall it covers: sealed, the sac excluded), the
same state taken to systole, and the clinical figures of the result.

Figures (per device, JSON-able; lengths mm, forces N, pressures kPa, strains %):
apposition (share of the device's strut length within ``APPOSED_MM`` of the lumen), max gap,
seal length (proximal stretch whose every 1 mm band is apposed all round: a stent-graft's
fabric under the blood pressure, else the struts), oversizing
(nominal / landing lumen diameter − 1), radial force (the device's own wall contact force,
before the fabric carries the blood pressure), contact
pressure (mean over the device's envelope, peak over a strut footprint), peak and
alternating strut strain (diastole ↔ systole), wall stress before and after, foreshortening
(from the struts' length crimped in the catheter to their deployed length, as quoted for
braids, which lengthen when crimped), migration margin = μ Σλ / (p_sys · A_proximal).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biomech.errors import CaseError, ConvergenceError
from biomech.stent.placement import CentrelinePath

APPOSED_MM = 0.5        # a strut within this gap of the lumen counts as apposed
SEAL_BAND_MM = 1.0      # seal length is counted in axial bands of this width
LANDING_SEAL_MM = 15.0  # lumen diameter for oversizing: mean over this proximal length
OPEN_IN_LUMEN = 0.9     # a curved delivery reopens the catheter to this × the narrowest lumen
SYSTOLE_STEPS_CURVED = 4  # pressure steps to systole after a curved delivery (a braid)


@dataclass
class CrashTest:
    """A deployed device: figures (``figures``), states for the time series and the final
    wall fields; ``error`` when it was rejected or did not converge."""

    name: str
    figures: dict[str, Any]
    states: list[np.ndarray] = field(default_factory=list)
    beams: np.ndarray | None = None
    membranes: np.ndarray | None = None  # fabric triangles (node ids), stent-grafts only
    gaps: np.ndarray | None = None  # (n,) mm, at diastole (the settled device)
    wall_points: np.ndarray | None = None  # (m, 3) mm, at systole with the device
    wall_fields: dict | None = None  # at systole with the device
    frame_strains: list[np.ndarray] = field(default_factory=list)  # peak strain per beam
    frame_gaps: list[np.ndarray | None] = field(default_factory=list)  # mm, last two frames
    frame_walls: list[np.ndarray] = field(default_factory=list)  # wall displacement (3m,) mm


def _node_lengths(x: np.ndarray, beams: np.ndarray) -> np.ndarray:
    """Strut length (mm) attributed to each node (half of each attached element)."""
    le = np.linalg.norm(x[beams[:, 1]] - x[beams[:, 0]], axis=1)
    w = np.zeros(len(x))
    np.add.at(w, beams.ravel(), np.repeat(0.5 * le, 2))
    return w


def seal_length(zeta: np.ndarray, apposed: np.ndarray, band: float = SEAL_BAND_MM) -> float:
    """Length (mm) from the proximal end (ζ = 0) over which every band of width ``band``
    that holds device nodes has all of them apposed; empty bands between apposed ones count
    (fabric or cell spans bridge them), the stretch stops at the first band with a gap."""
    edges = np.arange(0.0, zeta.max() + band, band)
    idx = np.clip(np.searchsorted(edges, zeta, side="right") - 1, 0, len(edges) - 1)
    last = 0.0
    for k in range(len(edges)):
        here = idx == k
        if not here.any():
            continue
        if not apposed[here].all():
            break
        last = min(edges[k] + band, float(zeta.max()))
    return float(last)


def check_fit(vessel, device, s0: float, catheter_mm: float, *, curved_ok: bool = False
              ) -> tuple[np.ndarray, np.ndarray]:
    """Placement (point, axis) of ``device`` with its proximal end at arc length ``s0``;
    CaseError if it cannot be deployed there (too long, or a straight catheter would touch
    the lumen, unless ``curved_ok``: the delivery may follow the centreline)."""
    length = device.length_mm
    room = vessel.length_mm - vessel.end_margin_mm - s0
    if length > room:
        last = vessel.length_mm - vessel.end_margin_mm - length  # the most distal landing
        fix = "a shorter device" + (f" or land it between {vessel.end_margin_mm:.0f} and "
                                    f"{last:.1f} mm (--landing)"
                                    if last >= vessel.end_margin_mm else "")
        raise CaseError(f"{device.name}: {length:.1f} mm long but only {max(room, 0):.1f} mm of "
                        f"vessel lie beyond the landing point ({s0:.1f} mm from the inlet) before "
                        f"the outlet's {vessel.end_margin_mm:.0f} mm clamped zone: choose {fix}")
    point, axis, bend = vessel.axis_over(s0, length)
    lumen_min = float(vessel.lumen_diameter_between(s0, s0 + length).min())
    if not curved_ok and catheter_touches(bend, catheter_mm, lumen_min):
        raise CaseError(f"{device.name}: the centreline bends {bend:.1f} mm off a straight "
                        f"catheter over the device's {length:.0f} mm; a {catheter_mm:.1f} mm "
                        f"catheter would touch the {lumen_min:.1f} mm lumen: use --catheter "
                        "smaller or a shorter device")
    return point, axis


def crimped_fit(vessel, s0: float, catheter_mm: float, point: np.ndarray, axis: np.ndarray,
                *, curved_ok: bool = False):
    """A check of the crimped device (device-frame BeamState) before it is placed: it may
    reach at most half way into the clamped ends (it shortens again as it opens), and the
    straight catheter (``point``, ``axis``) must clear the lumen over the crimped length as
    well (braids lengthen when crimped). The check returns whether the delivery must follow
    the centreline instead (only when ``curved_ok``; otherwise that is a CaseError)."""
    from biomech.stent.deploy import check_crimped_span

    def check(state) -> bool:
        z = state.x[:, 2]
        half = 0.5 * vessel.end_margin_mm
        check_crimped_span(z, (half - s0, vessel.length_mm - half - s0), catheter_mm)
        lo, hi = s0 + float(z.min()), s0 + float(z.max())
        sel = (vessel.s_mm >= lo) & (vessel.s_mm <= hi)
        if not sel.any():
            return False
        rel = vessel.centre[sel] - point
        off = float(np.linalg.norm(rel - np.outer(rel @ axis, axis), axis=1).max())
        lumen_min = float(vessel.lumen_diameter_between(lo, hi).min())
        if catheter_touches(off, catheter_mm, lumen_min):
            if curved_ok:
                return True
            raise CaseError(f"crimped to {catheter_mm:.1f} mm the device is {hi - lo:.1f} mm "
                            f"long, and over that length the centreline bends {off:.1f} mm off "
                            f"the straight catheter; it would touch the {lumen_min:.1f} mm "
                            "lumen: land it where the vessel is straighter or use --catheter "
                            "smaller")
        return False
    return check


def _to_systole(solver, cfg, factor: float, steps: int):
    """Raise the blood pressure from the imaging one to ``factor`` × it in ``steps`` steps
    (each halved on divergence, at most 3 times); the systolic configuration and the last
    solve's info, its iterations summed."""
    from biomech.stent.deploy import load_path

    def set_load(f: float) -> None:
        solver.wall.load_factor = f

    return load_path(solver, cfg, set_load, solver.wall.load_factor, factor, steps)


def _narrowest_lumen(vessel) -> float:
    """Smallest lumen diameter (mm) of the vessel outside its clamped end zones."""
    s, m = vessel.s_mm, vessel.end_margin_mm
    inside = (s >= m) & (s <= s[-1] - m)
    return float(vessel.lumen_diameter_mm[inside if inside.any() else slice(None)].min())


def catheter_touches(bend_mm: float, catheter_mm: float, lumen_mm: float) -> bool:
    """Whether a straight catheter, with the centreline ``bend_mm`` off its axis, comes closer
    to the lumen than ``clearance_mm``."""
    return bend_mm + 0.5 * catheter_mm > 0.5 * lumen_mm - clearance_mm(lumen_mm)


def clearance_mm(lumen_mm: float) -> float:
    """Gap (mm) kept between the catheter and the lumen all round: 0.5 mm, or a tenth of the
    lumen diameter in vessels under 5 mm."""
    return min(0.5, 0.1 * lumen_mm)


def auto_catheter(vessel, device, s0: float, *, curved_ok: bool = False) -> float:
    """Crimped diameter (mm) for ``device`` at ``s0``: 0.6 × the narrowest lumen over its
    span, less what the centreline's bend off the straight catheter takes (``clearance_mm``
    kept; no bend when ``curved_ok``: the catheter may follow the centreline), rounded down
    to 0.1 mm; at least 4 mm, or 0.3 × the nominal diameter for devices under 13 mm
    (EndoBeams crimps its 4.6 mm braid to 0.3 of its radius)."""
    _, _, bend = vessel.axis_over(s0, device.length_mm)
    bend = 0.0 if curved_ok else bend
    lumen_min = float(vessel.lumen_diameter_between(s0, s0 + device.length_mm).min())
    d = min(0.6 * lumen_min, lumen_min - 2.0 * clearance_mm(lumen_min) - 2.0 * bend)
    floor = min(4.0, np.ceil(3.0 * device.nominal_diameter_mm) / 10.0)
    return float(max(floor, np.floor(10.0 * d) / 10.0))


def crash_test(vessel, device, *, s0: float, catheter_mm: float | None, friction: float,
               steps: int = 6, sac_share: float = 0.0) -> CrashTest:
    """Deploy ``device`` (a catalogue Device) in ``vessel`` at arc length ``s0`` (mm), then
    take it to systole; the figures. ``catheter_mm`` None: ``auto_catheter``.
    ``sac_share``: a stent-graft's excluded sac keeps this share of the lumen pressure (an
    endoleak; 0: sealed). Raises
    CaseError (not deployable) or ConvergenceError. A stent-graft is deployed with its graft
    fabric; if that does not converge, with its rings alone (said in ``fabric_note``)."""
    t0 = time.perf_counter()
    net = device.build()
    lumen_d = float(np.mean(vessel.lumen_diameter_between(s0, s0 + LANDING_SEAL_MM)))
    if device.nominal_diameter_mm <= lumen_d:
        raise CaseError(f"{device.name}: nominal diameter {device.nominal_diameter_mm:g} mm is "
                        f"not larger than the {lumen_d:.1f} mm lumen at the landing zone: it "
                        "would not touch the wall (no apposition, no seal)")
    bare = net.graft is None  # bare devices may be delivered along a curved centreline
    catheter_mm = catheter_mm or auto_catheter(vessel, device, s0, curved_ok=bare)
    point, axis = check_fit(vessel, device, s0, catheter_mm, curved_ok=bare)
    setup = dict(s0=s0, point=point, axis=axis, catheter_mm=catheter_mm, friction=friction,
                 steps=steps, lumen_d=lumen_d, sac_share=sac_share)
    if net.graft is None:
        return _deployed(vessel, device, net, fabric=False, t0=t0, **setup)
    try:  # a stent-graft with its fabric; its rings alone if that does not converge
        return _deployed(vessel, device, net, fabric=True, t0=t0, **setup)
    except ConvergenceError as exc:
        ct = _deployed(vessel, device, net, fabric=False, t0=t0, **setup)
        ct.figures["fabric_note"] = (f"the deployment with the graft fabric did not converge "
                                     f"({exc}); figures of the rings alone")
        return ct


def _deployed(vessel, device, net, *, fabric: bool, t0: float, s0: float, point: np.ndarray,
              axis: np.ndarray, catheter_mm: float, friction: float, steps: int,
              lumen_d: float, sac_share: float = 0.0) -> CrashTest:
    """Deploy ``net`` (with its graft fabric when ``fabric``), take it to systole; the
    crash test."""
    from biomech.aaa.run import MMHG_TO_MPA
    from biomech.stent.deploy import Wall, deploy

    wall = Wall(vessel.problem, vessel.reference, vessel.lumen,
                lumen_pressure=vessel.case.imaging_mmHg * MMHG_TO_MPA)
    bare = net.graft is None
    path = CentrelinePath.smoothed(vessel.s_mm, vessel.centre)
    curve = dict(centreline=path, landing_s_mm=s0,
                 open_mm=OPEN_IN_LUMEN * _narrowest_lumen(vessel)) if bare else {}
    out = deploy(net, wall, point=point, axis=axis, catheter_diameter_mm=catheter_mm,
                 release_diameter_mm=_release_diameter(vessel, device, s0), friction=friction,
                 steps=steps, keep_states=True, wall_u0=vessel.u_imaging,
                 check_crimped=crimped_fit(vessel, s0, catheter_mm, point, axis,
                                           curved_ok=bare),
                 fabric=fabric, **curve)
    solver, dia = out["solver"], out["configuration"]
    force_dia, lam_dia = solver.lumen.contact_forces().sum(), solver.lumen.contact_forces()
    sealed, seal_info = {}, {"iterations": 0, "residual": 0.0, "contact_error_mm": 0.0}
    if fabric:  # the blood pressure moved onto the fabric; the device's own forces kept
        dia, sealed, seal_info = _sealed(solver, dia, path, sac_share)
    gaps = _gaps(solver, dia)
    figures = _figures_at(solver, dia, gaps, point, axis,
                          curve["centreline"] if out["curved_delivery"] else None,
                          fabric_loaded=bool(sealed.get("fabric_pressurised")))
    strain_dia = solver.beam.peak_strains(dia.beam)
    struts = np.unique(np.asarray(solver.beam.beams))
    along = path.arc_of(dia.beam.x) if out["curved_delivery"] else (dia.beam.x - point) @ axis
    case = vessel.case
    sys_cfg, info = _to_systole(solver, dia, case.systolic_mmHg / case.imaging_mmHg,
                                steps=SYSTOLE_STEPS_CURVED if out["curved_delivery"] else 1)
    strain_sys = solver.beam.peak_strains(sys_cfg.beam)
    wall_fields = wall_fields_at(vessel, sys_cfg.wall_u)
    crimped = _crimped_length(out["crimp"], solver.beam.beams, device.length_mm)
    figures.update(
        _sizing(vessel, device, s0, lumen_d),
        radial_force_N=float(force_dia),
        **_pressures(solver, dia, lam_dia, lumen_d, along),
        **_beyond_neck(vessel, s0 + float(along[struts].max()) if not out["curved_delivery"]
                       else float(np.interp(along[struts].max(), path.sigma_input,
                                            path.s_input))),
        peak_strain_pct=100.0 * float(max(strain_dia.max(), strain_sys.max())),
        crimp_strain_pct=100.0 * float(max(out["crimp"].max_strain, default=0.0)),
        alternating_strain_pct=100.0 * 0.5 * float(np.abs(strain_sys - strain_dia).max()),
        **_migration(vessel, s0, friction, lam_dia),
        **_wall_stress(vessel, wall_fields, point, axis, device),
        covered=net.graft is not None, released=bool(out["released"]), fabric_modelled=fabric,
        **sealed,
        curved_delivery=bool(out["curved_delivery"]),
        stabilisation_N=float(max(out["history"][-1].get("stabilisation_N", 0.0),
                                  seal_info.get("stabilisation_N", 0.0),
                                  info.get("stabilisation_N", 0.0))),
        catheter_diameter_mm=float(catheter_mm),
        placement_point_mm=[float(v) for v in point], placement_axis=[float(v) for v in axis],
        crimped_length_mm=crimped,
        foreshortening_pct=100.0 * (1.0 - figures["deployed_length_mm"] / crimped),
        dof=int(solver.n), beam_dof=int(solver.n_b), contact_pairs=int((lam_dia > 0).sum()),
        relaxation_steps=int(sum(h.get("relaxation_steps", 0) for h in out["history"])),
        newton_iterations=int(sum(h.get("iterations", 0) for h in out["history"])
                              + seal_info["iterations"] + info["iterations"]),
        residual_N=float(max(out["history"][-1]["residual"], seal_info["residual"],
                             info["residual"])),
        contact_error_mm=float(max(out["history"][-1]["contact_error_mm"],
                                   seal_info["contact_error_mm"], info["contact_error_mm"])),
        wall_s=time.perf_counter() - t0)
    frames = [out["crimped"]] + [h["state"] for h in out["history"] if "state" in h]
    frames += [out["configuration"]]  # settled (then sealed) at diastole
    frames += [dia] if sealed.get("fabric_pressurised") else []
    frames += [sys_cfg]
    return CrashTest(device.name, figures, [c.beam.x.copy() for c in frames],
                     np.asarray(solver.beam.beams), np.asarray(solver.beam.membranes), gaps,
                     vessel.reference + sys_cfg.wall_u.reshape(-1, 3), wall_fields,
                     frame_strains=[solver.beam.peak_strains(c.beam) for c in frames],
                     frame_gaps=[None] * (len(frames) - 2) + [gaps, _gaps(solver, sys_cfg)],
                     frame_walls=[np.asarray(c.wall_u, float).copy() for c in frames])


def _sealed(solver, cfg, path: CentrelinePath, sac_share: float = 0.0):
    """The deployed stent-graft ``cfg`` with the blood pressure moved onto its fabric
    (:func:`biomech.stent.deploy.seal_graft`; the lumen covered: faces whose centreline arc
    lies within the fabric's; ``sac_share`` of the lumen pressure left on them, an
    endoleak), its figures (the pressure the fabric passes on to the wall by contact) and
    solve info; if that does not converge, ``cfg`` unchanged and a note."""
    from biomech.stent.deploy import seal_graft

    fabric = np.unique(solver.beam.membranes)
    arc = path.arc_of(cfg.beam.x[fabric])
    lo, hi = float(arc.min()), float(arc.max())
    before = float(solver.lumen.contact_forces().sum())
    saved = solver.saved_contacts(), solver.wall, solver.lumen.friction_mask.copy()
    try:
        sealed, info = seal_graft(solver, cfg, lambda c: np.abs(path.arc_of(c) - 0.5 * (lo + hi))
                                  <= 0.5 * (hi - lo), sac_share=sac_share)
    except ConvergenceError as exc:
        solver.restore_contacts(saved[0])
        solver.wall, solver.lumen.friction_mask = saved[1], saved[2]
        solver.warm_springs = False
        return cfg, {"fabric_pressurised": False, "sac_pressure_pct": 100.0,
                     "fabric_note": f"the fabric under blood pressure did not converge ({exc}): "
                                    "seal judged on the struts, the sac left pressurised"}, \
            {"iterations": 0, "residual": 0.0, "contact_error_mm": 0.0}
    return sealed, {"fabric_pressurised": True, "fabric_friction": info["fabric_friction"],
                    "sac_pressure_pct": 100.0 * sac_share,
                    "pressure_through_fabric_N": float(solver.lumen.contact_forces().sum())
                    - before}, info


def _release_diameter(vessel, device, s0: float) -> float:
    """The catheter opens step by step to 1 mm past the device's nominal diameter (mm), so
    that every part of it, in the neck and in a sac, expands gradually onto the wall or to
    its free size; then it is withdrawn."""
    return device.nominal_diameter_mm + 1.0


def _gaps(solver, cfg) -> np.ndarray:
    from biomech.stent.deploy import device_gaps

    return device_gaps(solver, cfg, radius=20.0)


def _crimped_length(crimp, beams, nominal_mm: float) -> float:
    """Length (mm) of the struts in the catheter: the crimp's state at its smallest diameter
    (device frame, z along the axis); ``nominal_mm`` when the states were not kept."""
    if not crimp.states:
        return float(nominal_mm)
    x = crimp.states[int(np.argmin(crimp.diameter_mm))].x
    return float(np.ptp(x[np.unique(np.asarray(beams)), 2]))


def _figures_at(solver, cfg, gaps: np.ndarray, point: np.ndarray, axis: np.ndarray,
                path: CentrelinePath | None = None, fabric_loaded: bool = False
                ) -> dict[str, float]:
    """Apposition, max gap, seal and deployed length of the settled state (``gaps`` mm per
    device node). Apposition and gap are the struts'; a stent-graft's fabric gets its own
    apposition (share of its nodes) and max gap. The seal is the fabric's when it carries
    the blood pressure (``fabric_loaded``: the pressure presses its slack folds onto the
    wall, so a fold still standing off is a channel), the struts' (``strut_seal_length_mm``)
    beside it; otherwise the struts'. Lengths run along the chord ``axis``, or along the
    centreline ``path`` (a curved delivery)."""
    x = cfg.beam.x
    beams = np.asarray(solver.beam.beams)
    strut = np.unique(beams)
    apposed = gaps <= APPOSED_MM
    w = _node_lengths(x, beams)
    zeta = (x - point) @ axis if path is None else path.arc_of(x)
    figures = {"apposition_pct": 100.0 * float(w[apposed].sum() / w.sum()),
               "max_gap_mm": _max_finite(gaps[strut]),
               "seal_length_mm": seal_length(zeta[strut] - zeta[strut].min(), apposed[strut]),
               "deployed_length_mm": float(np.ptp(zeta[strut]))}
    fabric = np.unique(solver.beam.membranes)
    if len(fabric):
        figures.update(fabric_apposition_pct=100.0 * float(apposed[fabric].mean()),
                       fabric_max_gap_mm=_max_finite(gaps[fabric]))
        if fabric_loaded:
            figures["strut_seal_length_mm"] = figures["seal_length_mm"]
            figures["seal_length_mm"] = seal_length(zeta[fabric] - zeta[fabric].min(),
                                                    apposed[fabric])
    return figures


def _max_finite(gaps: np.ndarray) -> float:
    """Largest finite gap (mm); inf when no node found the wall."""
    finite = np.isfinite(gaps)
    return float(gaps[finite].max()) if finite.any() else float("inf")


def _sizing(vessel, device, s0: float, lumen_d: float) -> dict[str, float]:
    outer = vessel.outer_diameter_mm[(vessel.s_mm >= s0) & (vessel.s_mm <= s0 + LANDING_SEAL_MM)]
    outer_d = float(np.nanmean(outer)) if np.isfinite(outer).any() else float("nan")
    return {"nominal_diameter_mm": device.nominal_diameter_mm,
            "length_mm": device.length_mm,
            "landing_lumen_diameter_mm": lumen_d, "landing_outer_diameter_mm": outer_d,
            "oversizing_pct": 100.0 * (device.nominal_diameter_mm / lumen_d - 1.0),
            "oversizing_outer_pct": 100.0 * (device.nominal_diameter_mm / outer_d - 1.0)}


def _beyond_neck(vessel, distal_s: float) -> dict[str, float]:
    """How far (mm along the centreline) the device's distal end ``distal_s`` (mm from the
    inlet) reaches beyond the neck into the aneurysm; empty when it does not."""
    neck_end = vessel.neck_end_mm
    if neck_end is None or distal_s <= neck_end:
        return {}
    return {"neck_end_mm": neck_end, "beyond_neck_mm": distal_s - neck_end}


def _pressures(solver, cfg, lam: np.ndarray, lumen_d: float, along: np.ndarray
               ) -> dict[str, float]:
    """Mean contact pressure over the device's cylindrical envelope (the landing lumen's
    diameter, the nodes' extent in ``along``, their coordinate along the vessel, mm) and peak
    over one node's footprint (node force / (strut width × attributed strut length), plus a
    third of the attached fabric triangles' area for a stent-graft), kPa."""
    model = solver.beam
    beams = np.asarray(model.beams)
    w = _node_lengths(cfg.beam.x, beams)
    width = np.zeros(len(w))
    np.maximum.at(width, beams.ravel(), np.repeat(np.asarray(model.width), 2))
    footprint = width * w
    if len(model.membranes):
        np.add.at(footprint, model.membranes.ravel(), np.repeat(model.area0 / 3.0, 3))
    length = float(np.ptp(along))
    mean = lam.sum() / (np.pi * lumen_d * max(length, 1e-9))
    peak = np.max(lam / np.maximum(footprint, 1e-12))
    return {"mean_contact_pressure_kPa": 1e3 * float(mean),
            "peak_contact_pressure_kPa": 1e3 * float(peak)}


def _migration(vessel, s0: float, friction: float, lam: np.ndarray) -> dict[str, float]:
    """Friction capacity μ Σλ against the displacement force of systolic pressure on the
    proximal lumen cross-section, p_sys · π d²/4 (N)."""
    from biomech.aaa.run import MMHG_TO_MPA

    d = float(vessel.lumen_diameter_between(s0, s0 + 2.0).mean())
    drag = vessel.case.systolic_mmHg * MMHG_TO_MPA * np.pi * d * d / 4.0
    cap = friction * float(lam.sum())
    return {"friction_capacity_N": cap, "displacement_force_N": float(drag),
            "migration_margin": cap / drag}


def wall_fields_at(vessel, wall_u: np.ndarray) -> dict:
    """Wall stress fields (aaa.twin.wall_fields; MPa) of the wall displaced by ``wall_u``
    (3m,) mm from the zero-pressure reference."""
    from biomech.aaa.run import _cut_ends, _distance_to_faces
    from biomech.aaa.twin import wall_fields
    from biomech.results import Result, _with_invariants

    u = np.asarray(wall_u, float)
    fields = _with_invariants(vessel.problem.element_fields(u))
    res = Result(vessel.model, u.reshape(-1, 3).copy(), fields, [], {}, vessel.problem)
    case, nom = vessel.case, vessel.nominal
    return wall_fields(res, neck_diameter_mm=nom.neck_mm, sex=case.sex,
                       family_history=case.family_history,
                       exclude=_distance_to_faces(vessel.model.mesh, res.deformed_points,
                                                  _cut_ends(vessel.model.mesh))
                       < case.end_exclusion_mm)


def _wall_stress(vessel, after: dict, point, axis, device) -> dict[str, float]:
    """Peak first principal wall stress (MPa) over the scored wall and over the cells beside
    the device (axial span, within its nominal radius + 5 mm), before and after."""
    from biomech.aaa.twin import cell_centroids

    before = vessel.nominal.twin.fields
    c = cell_centroids(vessel.imaged_points, vessel.model.mesh) - point
    z = c @ axis
    r = np.linalg.norm(c - np.outer(z, axis), axis=1)
    near = (z >= 0) & (z <= device.length_mm) & (r <= 0.5 * device.nominal_diameter_mm + 5.0)

    def peak(f, sel):
        v = f["stress_p1_MPa"][sel & f["scored"]]
        return float(v.max()) if v.size else float("nan")

    every = np.ones(len(near), bool)
    return {"wall_pws_before_MPa": peak(before, every), "wall_pws_after_MPa": peak(after, every),
            "landing_wall_stress_before_MPa": peak(before, near),
            "landing_wall_stress_after_MPa": peak(after, near)}


__all__ = ["APPOSED_MM", "CrashTest", "check_fit", "crash_test", "seal_length"]
