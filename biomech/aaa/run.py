"""`biomech aaa`: from a segmentation (label map, surface or volume mesh) to the rupture-risk
summary, result files and report, in one call.

Pipeline: read and measure the input → mesh the wall (+ thrombus) → the imaged geometry
is loaded by the imaging-time pressure (diastolic by default) → zero-pressure geometry by
backward displacement (verified: reloading reproduces the imaged nodes) → systolic solve
from it → wall stress, Vande Geest strength, RPI, PWS/PWS99/PWRI (wall cells closer than
``end_exclusion_mm`` to a cut end are left out of the indices: the clamped ends are not
anatomy) → the same twin on the other end support (clamped ↔ springs), to show that the
supports do not decide the result → optional uncertainty samples and three-grid
verification → ``DIR/summary.json``, ``DIR/result.vtu``, ``DIR/report.html`` and renders,
each written atomically.
Units: mm, MPa inside; pressures accepted as strings with units ("140 mmHg").
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biomech.aaa.indices import diameter_rule, rred_mm
from biomech.aaa.patient import require_family_history, require_sex
from biomech.aaa.twin import Mechanics, build_aaa_model, cell_centroids, wall_fields
from biomech.aaa.zero_pressure import with_reference, zero_pressure_geometry
from biomech.errors import CaseError, ConvergenceError
from biomech.units import parse_quantity

__all__ = [
    "AAACase",
    "Nominal",
    "Twin",
    "TwinOutputs",
    "add_end_sensitivity",
    "end_support_sensitivity",
    "parse_pressure_mmHg",
    "prepare_nominal",
    "run_aaa",
    "sample_design",
    "solve_nominal",
    "solve_sample",
    "solve_twin",
    "twin_outputs",
    "uncertainty_block",
    "write_outputs",
]

MMHG_TO_MPA = parse_quantity("1 mmHg", "pressure")  # 133.322 Pa
IMAGING_PRESSURES = ("diastolic", "mean", "systolic")
SURFACE_TOLERANCE_MM = 0.05  # the acceptance figure for the reloaded geometry


def parse_pressure_mmHg(value: Any, key: str) -> float:
    """A blood pressure given with units ("140 mmHg", "18.7 kPa") in mmHg; plausible range."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CaseError(f"{key}: give the unit, e.g. '{value:g} mmHg' (a bare number is ambiguous)")
    mpa = parse_quantity(value, "pressure", key=key)
    mmhg = mpa / MMHG_TO_MPA
    if not 20.0 <= mmhg <= 300.0:
        raise CaseError(f"{key} = {value!r} is {mmhg:.1f} mmHg, outside 20–300 mmHg: wrong units?")
    return mmhg


@dataclass
class AAACase:
    """Patient inputs and modelling choices of one rupture-risk run (pressures in mmHg)."""

    input: str | Path
    systolic_mmHg: float
    diastolic_mmHg: float
    sex: str | None
    family_history: bool | None
    imaging_pressure: str = "diastolic"
    wall_thickness_mm: float = 1.5
    layers: int = 2
    size_mm: float = 2.0
    units: str = "mm"
    labels: dict[str, int] | None = None
    mechanics: Mechanics = field(default_factory=Mechanics)
    end_exclusion_mm: float = 10.0
    zero_pressure_tol_mm: float = 0.01
    samples: int = 0
    seed: int = 0
    workers: int = 1
    verify: bool = False
    verify_tolerance: float = 0.05
    end_sensitivity: bool = True
    growth_mm_per_year: float | None = None
    outer: str | Path | None = None

    def __post_init__(self) -> None:
        self.sex = require_sex(self.sex)
        self.family_history = require_family_history(self.family_history)
        if not self.diastolic_mmHg < self.systolic_mmHg:
            raise CaseError(f"diastolic ({self.diastolic_mmHg:g} mmHg) must be below systolic "
                            f"({self.systolic_mmHg:g} mmHg): were they swapped?")
        if self.imaging_pressure not in IMAGING_PRESSURES:
            raise CaseError(f"imaging pressure must be one of {IMAGING_PRESSURES}, "
                            f"got {self.imaging_pressure!r}")
        if not 0.3 <= self.wall_thickness_mm <= 5.0:
            raise CaseError(f"wall thickness {self.wall_thickness_mm:g} mm is outside 0.3–5 mm: "
                            "wrong units?")
        if self.samples < 0 or self.workers < 1:
            raise CaseError("samples must be >= 0 and workers >= 1")

    @property
    def imaging_mmHg(self) -> float:
        """Pressure at imaging time: diastolic, mean arterial (D + (S − D)/3) or systolic."""
        s, d = self.systolic_mmHg, self.diastolic_mmHg
        return {"diastolic": d, "mean": d + (s - d) / 3.0, "systolic": s}[self.imaging_pressure]

    def inputs(self) -> dict[str, Any]:
        return {
            "input": str(self.input),
            "outer_surface": None if self.outer is None else str(self.outer),
            "systolic_mmHg": self.systolic_mmHg,
            "diastolic_mmHg": self.diastolic_mmHg,
            "imaging_pressure": self.imaging_pressure,
            "imaging_pressure_mmHg": round(self.imaging_mmHg, 3),
            "sex": self.sex,
            "family_history": self.family_history,
            "wall_thickness_mm": self.wall_thickness_mm,
            "wall_layers": self.layers,
            "element_size_mm": self.size_mm,
            "end_exclusion_mm": self.end_exclusion_mm,
            "end_support_sensitivity": self.end_sensitivity,
            **self.mechanics.summary(),
        }


@dataclass
class Twin:
    """A solved twin: mesh, zero-pressure result, systolic Result and wall fields."""

    mesh: Any
    zero_pressure: Any
    result: Any
    fields: dict[str, Any]
    timings: dict[str, float]


def _distance_to_faces(mesh, points: np.ndarray, names: list[str]) -> np.ndarray:
    """Distance (mm) from each cell centroid to the nearest node of the face sets ``names``
    (inf when none exists), at node positions ``points``."""
    from scipy.spatial import cKDTree

    names = [n for n in names if n in mesh.face_sets]
    if not names:
        return np.full(mesh.n_cells, np.inf)
    nodes = np.unique(np.concatenate([np.ravel(c) for n in names
                                      for c in mesh.face_sets[n].values()]))
    return cKDTree(points[nodes]).query(cell_centroids(points, mesh))[0]


def _cut_ends(mesh) -> list[str]:
    return [n for n in mesh.face_sets if n == "inlet" or n.startswith("outlet")]


def solve_twin(mesh, case: AAACase, *, neck_diameter_mm: float, mechanics: Mechanics | None = None,
               systolic_mmHg: float | None = None, strength_factor: float = 1.0,
               stress_scale: float = 1.0, initial_reference: np.ndarray | None = None,
               progress: Callable[[str], None] | None = None) -> Twin:
    """Zero-pressure geometry at the imaging pressure, then the systolic solve and the wall
    fields (stress, strength, RPI) of ``mesh``. Raises ConvergenceError if a solve gives up."""
    mech = mechanics or case.mechanics
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    imaging = build_aaa_model(mesh, case.imaging_mmHg * MMHG_TO_MPA, mech)
    zp = zero_pressure_geometry(
        imaging, tol_mm=case.zero_pressure_tol_mm, initial_reference=initial_reference,
        progress=lambda k, e: say(f"zero-pressure iteration {k}: max node mismatch {e:.4f} mm"))
    t1 = time.perf_counter()
    p_sys = (systolic_mmHg or case.systolic_mmHg) * MMHG_TO_MPA
    model = with_reference(build_aaa_model(mesh, p_sys, mech), zp.reference)
    result = model.solve(steps=4)
    t2 = time.perf_counter()
    fields = wall_fields(result, neck_diameter_mm=neck_diameter_mm, sex=case.sex,
                         family_history=case.family_history, strength_factor=strength_factor,
                         stress_scale=stress_scale, exclude=_distance_to_faces(
                             result.model.mesh, result.deformed_points,
                             _cut_ends(result.model.mesh)) < case.end_exclusion_mm)
    timings = {"zero_pressure_s": t1 - t0, "systolic_s": t2 - t1,
               "fields_s": time.perf_counter() - t2}
    return Twin(result.model.mesh, zp, result, fields, timings)


# --- measurements ------------------------------------------------------------------------


def _measure(inp, mesh=None) -> dict[str, Any]:
    """Clinical measurements of the input; for a volume mesh, from its cell data."""
    from biomech.mesh.pipeline import measure_input

    if inp.kind != "mesh":
        return measure_input(inp)
    m = inp.mesh if mesh is None else mesh
    if "local_diameter_mm" not in m.cell_data:
        raise CaseError(f"{inp.source}: a volume mesh needs cell data 'local_diameter_mm' (and "
                        "'ilt_thickness') for the strength model; build it with `biomech mesh`")
    d = np.concatenate(m.cell_data["local_diameter_mm"])
    inlet = _distance_to_faces(m, m.points, ["inlet"])
    neck = float(np.median(d[inlet < 15.0])) if (inlet < 15.0).any() else float(d.min())
    k = int(np.argmax(d))
    cen = cell_centroids(m.points, m)
    return {"diameter_method": "cell data local_diameter_mm of the volume mesh",
            "max_diameter_mm": float(d[k]), "max_diameter_at": cen[k].tolist(),
            "neck_diameter_mm": neck, "aneurysm_found": bool(d[k] > 1.2 * neck)}


# --- outputs -----------------------------------------------------------------------------


def _per_block(mesh, values: np.ndarray) -> list[np.ndarray]:
    cuts = np.cumsum([len(b.conn) for b in mesh.blocks])[:-1]
    return np.split(values, cuts)


def result_meshio(twin: Twin):
    """The result.vtu content (meshio.Mesh, deformed at systolic) with stress, strength and RPI
    per cell and the zero-pressure shrink per node."""
    f = twin.fields
    extra = {"stress_p1_MPa": f["stress_p1_MPa"], "von_mises_MPa": f["von_mises_MPa"],
             "strength_MPa": f["strength_MPa"], "rpi": f["rpi"],
             "scored": f["scored"].astype(np.int8)}
    fields = [dict(block) for block in twin.result.cell_fields]
    for name, values in extra.items():
        for k, part in enumerate(_per_block(twin.mesh, values)):
            fields[k][name] = part
    mesh = twin.result.to_meshio(fields=fields)
    mesh.point_data["zero_pressure_shrink_mm"] = twin.zero_pressure.displacement
    return mesh


def _atomic_json(path: Path, data: dict) -> None:
    from biomech.results import _atomic_text

    _atomic_text(path, json.dumps(_jsonable(data), indent=2) + "\n")


def _jsonable(x):
    from biomech.mesh.pipeline import _jsonable as convert

    return convert(x)


def wall_surface(twin: Twin):
    """The deformed (systolic) wall as a triangulated pyvista surface with point data
    ``stress_MPa`` (first principal, clipped to the range of the scored wall, i.e. outside
    the end zones), ``rpi``, ``strength_MPa`` for the report (cell values averaged to points)."""
    return wall_surface_at(twin.result, twin.result.deformed_points, twin.fields)


def wall_surface_at(result, points: np.ndarray, f: dict):
    """``wall_surface`` of ``result``'s mesh at node positions ``points`` (mm) with the wall
    fields ``f`` of ``aaa.twin.wall_fields``."""
    import pyvista as pv

    grid = pv.from_meshio(result.to_meshio(fields=[{} for _ in result.model.mesh.blocks]))
    grid.points = points
    scored = f["stress_p1_MPa"][f["scored"]]  # clamped end zones would stretch the colours
    grid.cell_data["stress_MPa"] = np.clip(f["stress_p1_MPa"], scored.min(), scored.max())
    grid.cell_data["rpi"] = np.nan_to_num(f["rpi"])
    grid.cell_data["strength_MPa"] = np.nan_to_num(f["strength_MPa"])
    wall = grid.extract_cells(np.flatnonzero(f["wall"]))
    surf = wall.extract_surface(algorithm="dataset_surface").triangulate().cell_data_to_point_data()
    return surf


def centerline_profile(meas: dict, twin: Twin) -> dict | None:
    """Diameter and the largest wall stress / RPI near each centreline point (mm, MPa)."""
    from scipy.spatial import cKDTree

    prof = meas.get("diameter_profile") or {}
    s = prof.get("arc_mm")
    if s is None or prof.get("points") is None:
        return None
    pts = np.asarray(prof["points"], dtype=float)
    imaged = twin.zero_pressure.reference + twin.zero_pressure.displacement
    nearest = cKDTree(pts).query(cell_centroids(imaged, twin.mesh))[1]
    scored = twin.fields["scored"]
    stress = np.full(len(pts), np.nan)
    rpi = np.full(len(pts), np.nan)
    for k in np.unique(nearest[scored]):
        sel = scored & (nearest == k)
        stress[k] = twin.fields["stress_p1_MPa"][sel].max()
        rpi[k] = twin.fields["rpi"][sel].max()
    return {"s_mm": np.asarray(s, dtype=float), "diameter_mm": np.asarray(prof["diameter_mm"], float),
            "max_stress_MPa": stress, "rpi": rpi}


# --- uncertainty samples (worker processes) ------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_sample_worker(mesh, case: AAACase, neck_mm: float, reference: np.ndarray) -> None:
    """Per worker process: the mesh, case and nominal zero-pressure geometry, once."""
    from biomech.threads import single_threaded

    single_threaded()
    _WORKER.update(mesh=mesh, case=case, neck=neck_mm, reference=reference)


def solve_sample(mesh, case: AAACase, neck_mm: float, reference: np.ndarray,
                 sample: dict[str, float]) -> dict[str, float]:
    """One uncertainty sample of ``case`` on ``mesh`` (material, pressure, strength and
    thickness scatter applied), zero-pressure + systolic from the nominal ``reference``;
    PWRI, PWS, PWS99. Raises ConvergenceError if a solve gives up."""
    from biomech.aaa.probabilistic import thickness_stress_scale

    mech = case.mechanics
    if mech.wall_material == "raghavan-vorp":
        mech = dataclasses.replace(mech, wall_params={
            **mech.wall_params, "alpha": sample["alpha_MPa"], "beta": sample["beta_MPa"]})
    twin = solve_twin(
        mesh, case, neck_diameter_mm=neck_mm, mechanics=mech,
        systolic_mmHg=sample["systolic_mmHg"], strength_factor=sample["strength_factor"],
        stress_scale=thickness_stress_scale(case.wall_thickness_mm, sample["wall_thickness_mm"]),
        initial_reference=reference)
    ind = twin.fields["indices"]
    return {"pwri": ind["pwri"], "pws_MPa": ind["pws_MPa"], "pws99_MPa": ind["pws99_MPa"],
            "zero_pressure_iterations": twin.zero_pressure.iterations}


def _solve_sample(sample: dict[str, float]) -> dict[str, float]:
    """One uncertainty sample with the worker's mesh, case and nominal reference."""
    return solve_sample(_WORKER["mesh"], _WORKER["case"], _WORKER["neck"], _WORKER["reference"],
                        sample)


def sample_design(case: AAACase) -> tuple[list, dict[str, np.ndarray]]:
    """(distributions, Latin-hypercube samples) of ``case``: ``case.samples`` samples of
    thickness, material (Raghavan–Vorp only), strength and pressure from ``case.seed``."""
    from biomech.aaa import probabilistic as pr

    wall = case.mechanics.wall()
    kw = {"alpha_MPa": wall["alpha"], "beta_MPa": wall["beta"]} \
        if case.mechanics.wall_material == "raghavan-vorp" else {}
    dists = pr.default_distributions(case.systolic_mmHg, case.wall_thickness_mm, **kw)
    if case.mechanics.wall_material != "raghavan-vorp":
        dists = [d for d in dists if d.name not in ("alpha_MPa", "beta_MPa")]
    return dists, pr.latin_hypercube(case.samples, dists, case.seed)


def uncertainty_block(case: AAACase, dists, samples, results, *, wall_s: float,
                      workers: int) -> dict:
    """The "rupture_probability" block of summary.json from the samples' results (in order)."""
    from biomech.aaa import probabilistic as pr

    block = pr.summarize(samples, results, dists, seed=case.seed)
    block["wall_s"] = round(wall_s, 2)
    block["workers"] = workers
    block["thickness_model"] = "stress scaled by t_nominal / t_sample (thin-wall Laplace law)"
    return block


def uncertainty(mesh, case: AAACase, neck_mm: float, twin: Twin, *, progress: bool) -> dict:
    """Latin-hypercube samples of thickness, material, strength and pressure, each solved
    (zero-pressure + systolic) from the nominal reference; P(PWRI > 1) and sensitivity."""
    from biomech.aaa import probabilistic as pr

    dists, samples = sample_design(case)
    t = time.perf_counter()
    results = pr.run_samples(_solve_sample, samples, workers=case.workers,
                             initializer=_init_sample_worker,
                             initargs=(mesh, case, neck_mm, twin.zero_pressure.reference),
                             progress=progress)
    return uncertainty_block(case, dists, samples, results, wall_s=time.perf_counter() - t,
                             workers=case.workers)


# --- sensitivity to the support of the cut ends -------------------------------------------

END_SENSITIVITY_TOLERANCE = 0.05  # relative change of an index above which the report warns
SENSITIVITY_KEYS = ("pws_MPa", "pws99_MPa", "pwri")


def end_support_sensitivity(mesh, case: AAACase, neck_mm: float, twin: Twin) -> dict:
    """The nominal twin solved again with the other support of the cut ends (clamped ↔
    springs): zero-pressure (started from the nominal reference) + systolic. PWS, PWS99 and
    PWRI under each support and their relative change (fraction). Raises ConvergenceError."""
    nominal = case.mechanics
    other = dataclasses.replace(nominal, ends="springs" if nominal.ends == "fixed" else "fixed")
    t = time.perf_counter()
    alt = solve_twin(mesh, case, neck_diameter_mm=neck_mm, mechanics=other,
                     initial_reference=twin.zero_pressure.reference)
    a, b = twin.fields["indices"], alt.fields["indices"]
    change = {f"{k.removesuffix('_MPa')}_change": (b[k] - a[k]) / a[k] for k in SENSITIVITY_KEYS}
    # the first index (PWS, PWS99, PWRI) within round-off of the largest change: PWS and
    # PWRI change by the same fraction whenever their peaks sit at the same place
    biggest = max(abs(c) for c in change.values())
    worst = next(k for k in change if abs(change[k]) >= biggest * (1.0 - 1e-9))

    def support(mech: Mechanics) -> str:
        return ("clamped" if mech.ends == "fixed" else
                f"springs {mech.spring_stiffness:g} N/mm³ (per unit end-face area)")

    return {
        "nominal_support": support(nominal),
        "alternative_support": support(other),
        "nominal": {k: a[k] for k in SENSITIVITY_KEYS},
        "alternative": {k: b[k] for k in SENSITIVITY_KEYS},
        "relative_change": change,
        "largest_change": worst.removesuffix("_change"),
        "tolerance": END_SENSITIVITY_TOLERANCE,
        "within_tolerance": bool(abs(change[worst]) <= END_SENSITIVITY_TOLERANCE),
        "wall_s": round(time.perf_counter() - t, 2),
    }


def add_end_sensitivity(nom: Nominal, case: AAACase, *,
                        say: Callable[[str], None] | None = None) -> None:
    """``end_support_sensitivity`` of the solved ``nom`` into its summary (and a warning when
    an index moves by more than the tolerance); a failed alternative solve is a warning."""
    say = say or (lambda msg: None)
    say("end-support sensitivity: the twin again with the other support of the cut ends")
    try:
        block = end_support_sensitivity(nom.mesh, case, nom.neck_mm, nom.twin)
    except ConvergenceError as exc:
        nom.summary["end_support_sensitivity"] = {"status": "failed", "error": str(exc)}
        nom.warnings.append(f"end-support sensitivity not computed: the alternative solve "
                            f"gave up ({exc})")
        return
    nom.summary["end_support_sensitivity"] = block
    nom.timings["end_sensitivity_s"] = block["wall_s"]
    key = block["largest_change"]
    change = block["relative_change"][f"{key}_change"]
    say(f"end support: {key} changes by {100 * change:+.1f} % with "
        f"{block['alternative_support'].split(' ')[0]} ends")
    if not block["within_tolerance"]:
        nom.warnings.append(
            f"the indices depend on the support of the cut ends: {key} changes by "
            f"{100 * change:+.1f} % between {block['nominal_support'].split(' ')[0]} and "
            f"{block['alternative_support'].split(' ')[0]} ends (tolerance "
            f"{100 * END_SENSITIVITY_TOLERANCE:.0f} %); segment more vessel beyond the sac "
            "or widen --end-exclusion")


# --- calculation verification --------------------------------------------------------------

VERIFY_RATIO = 1.5  # element size ratio between the three grids (Celik: r > 1.3)


def verification(inp, case: AAACase, neck_mm: float, fine: Twin, fine_cells: int,
                 say: Callable[[str], None]) -> dict:
    """Three grids (size h, 1.5 h, 2.25 h): observed order and GCI of PWS, PWS99, PWRI."""
    from biomech.aaa.gci import gci_verdict, grid_convergence
    from biomech.mesh.pipeline import build_vessel_mesh

    twins, cells, sizes = [fine], [fine_cells], [case.size_mm]
    for k in (1, 2):
        h = case.size_mm * VERIFY_RATIO**k
        say(f"verification grid {k + 1}/3: element size {h:.2f} mm")
        mesh, _ = build_vessel_mesh(inp, wall_thickness=case.wall_thickness_mm,
                                    layers=case.layers, size=h)
        twins.append(solve_twin(mesh, case, neck_diameter_mm=neck_mm))
        cells.append(int(twins[-1].fields["wall"].sum()))
        sizes.append(h)
    out: dict[str, Any] = {"element_sizes_mm": sizes, "wall_cells": cells,
                           "tolerance": case.verify_tolerance, "quantities": {}}
    ok = True
    for key in ("pws_MPa", "pws99_MPa", "pwri"):
        phi = [t.fields["indices"][key] for t in twins]
        res = grid_convergence(phi, n_cells=cells, dim=2)  # wedge layers fixed: 2-D refinement
        verdict = gci_verdict(res, case.verify_tolerance)
        out["quantities"][key] = {"values": phi, **dataclasses.asdict(res), **verdict}
        ok &= bool(verdict["passed"])
    out["pass"] = ok
    return out


# --- the whole run -------------------------------------------------------------------------


def _say(quiet: bool) -> Callable[[str], None]:
    import sys

    def say(msg: str) -> None:
        if not quiet:
            print(f"biomech aaa: {msg}", file=sys.stderr, flush=True)
    return say


def _warnings(meas: dict, twin: Twin, mesh_report: dict) -> list[str]:
    out = []
    if meas.get("aneurysm_found") is False:
        out.append("no aneurysm found: the max diameter is below 1.2 x the neck diameter; "
                   "the indices describe a non-aneurysmal vessel")
    zp = twin.zero_pressure
    if zp.error_mm > SURFACE_TOLERANCE_MM:
        out.append(f"zero-pressure geometry not verified: reloading misses the imaged surface "
                   f"by {zp.error_mm:.3f} mm > {SURFACE_TOLERANCE_MM} mm")
    ind = twin.fields["indices"]
    if ind["strength_extrapolated_fraction"] > 0:
        out.append(f"strength model extrapolated (ILT or normalised diameter clamped to the "
                   f"Vande Geest data range) in {100 * ind['strength_extrapolated_fraction']:.0f} % "
                   "of the wall")
    if ind["strength_floored_fraction"] > 0:
        out.append(f"strength floored at 10 N/cm² in {100 * ind['strength_floored_fraction']:.1f} % "
                   "of the wall")
    q = mesh_report.get("min_scaled_jacobian")
    if isinstance(q, (int, float)) and q < 0.2:
        out.append(f"poor mesh quality: min scaled Jacobian {q:.2f}")
    return out


@dataclass
class Nominal:
    """The nominal twin of a case, as far as it got: the input read, its measurements, the
    mesh, then (``solve_nominal``) the solved twin and the summary's indices."""

    inp: Any
    meas: dict[str, Any]
    mesh: Any
    mesh_report: dict[str, Any]
    neck_mm: float
    summary: dict[str, Any]
    timings: dict[str, float]
    twin: Twin | None = None
    warnings: list[str] = field(default_factory=list)


def prepare_nominal(case: AAACase, *, say: Callable[[str], None] | None = None) -> Nominal:
    """Read and measure ``case.input`` and mesh it: the first stage of ``run_aaa``."""
    from biomech.mesh.pipeline import build_vessel_mesh, load_input

    say = say or (lambda msg: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    inp = load_input(case.input, units=case.units, labels=case.labels, outer=case.outer)
    meas = _measure(inp)
    timings["measure_s"] = time.perf_counter() - t0
    say(f"max diameter {meas['max_diameter_mm']:.1f} mm, neck {meas['neck_diameter_mm']:.1f} mm")
    t = time.perf_counter()
    mesh, mesh_report = build_vessel_mesh(inp, wall_thickness=case.wall_thickness_mm,
                                          layers=case.layers, size=case.size_mm)
    timings["mesh_s"] = time.perf_counter() - t
    say(f"mesh: {mesh.n_points} nodes, {mesh.n_cells} cells")
    summary: dict[str, Any] = {"status": "running", "inputs": case.inputs(),
                               "measurements": {k: v for k, v in meas.items()
                                                if k != "diameter_profile"}}
    return Nominal(inp, meas, mesh, mesh_report, float(meas["neck_diameter_mm"]), summary, timings)


def solve_nominal(nom: Nominal, case: AAACase, *,
                  say: Callable[[str], None] | None = None, aortic: bool = True) -> None:
    """The nominal twin (zero-pressure + systolic) of ``nom``, its indices, diameter rule and
    warnings into ``nom.summary``/``nom.warnings``: the second stage of ``run_aaa``. On a solve
    that gives up, ``nom.summary`` says so (``status: "failed"``) and ConvergenceError
    propagates. ``aortic=False`` (a stent's vessel of any size): no AAA diameter rule."""
    say = say or (lambda msg: None)
    try:
        twin = solve_twin(nom.mesh, case, neck_diameter_mm=nom.neck_mm, progress=say)
    except ConvergenceError as exc:
        nom.summary.update(status="failed", error=str(exc))
        raise
    nom.twin = twin
    nom.timings.update(twin.timings)
    ind = twin.fields["indices"]
    say(f"PWS {ind['pws_MPa']:.3f} MPa, PWS99 {ind['pws99_MPa']:.3f} MPa, PWRI {ind['pwri']:.3f}")
    meas, mesh_report = nom.meas, nom.mesh_report
    rule = (diameter_rule(meas["max_diameter_mm"], case.sex, case.growth_mm_per_year)
            if aortic else None)
    nom.summary.update(
        ind,
        max_diameter_mm=float(meas["max_diameter_mm"]),
        max_diameter_at=meas.get("max_diameter_at"),
        neck_diameter_mm=nom.neck_mm,
        diameter_rule=rule,
        rred=rred_mm(ind["pwri"], sex=case.sex),
        zero_pressure=twin.zero_pressure.summary(),
        systolic_solve={k: twin.result.summary.get(k) for k in
                        ("newton_iterations", "load_steps", "cutbacks", "linear_solver")},
        mesh={k: mesh_report.get(k) for k in ("n_points", "n_cells", "min_scaled_jacobian",
                                              "max_aspect_ratio") if k in mesh_report},
        sources=SOURCES,
    )
    nom.warnings[:] = _warnings(meas, twin, mesh_report)


def add_samples_block(summary: dict, warns: list[str], case: AAACase, block: dict) -> None:
    """The uncertainty block into ``summary`` (and into ``warns`` if samples failed)."""
    summary["rupture_probability"] = block
    if block.get("n_failed"):
        warns.append(f"{block['n_failed']} of {case.samples} uncertainty samples failed "
                     "to converge and are excluded from the probability")


@dataclass
class TwinOutputs:
    """What the result file and the report need of a solved twin, without solver state (so it
    pickles): result.vtu's meshio.Mesh, the report's wall surface and centreline profile."""

    result_mesh: Any
    surface: Any = None
    profile: dict | None = None


def twin_outputs(nom: Nominal, *, report: bool = True) -> TwinOutputs:
    """The picklable result-file and report content of the solved ``nom``."""
    if report:
        return TwinOutputs(result_meshio(nom.twin), wall_surface(nom.twin),
                           centerline_profile(nom.meas, nom.twin))
    return TwinOutputs(result_meshio(nom.twin))


def write_outputs(out: Path, summary: dict[str, Any], outputs: TwinOutputs, warns: list[str],
                  timings: dict[str, float], *, report: bool = True,
                  t_start: float | None = None) -> dict[str, Any]:
    """result.vtu, report.html (+ renders) and last summary.json (``status: "ok"``), each
    atomically; ``timings`` gets ``report_s`` and (from ``t_start``) ``total_s``. Returns the
    JSON-able summary."""
    from biomech.results import _atomic_meshio

    summary["warnings"] = warns
    _atomic_meshio(outputs.result_mesh, out / "result.vtu")
    if report:
        from biomech.report import write_aaa_report

        t = time.perf_counter()
        write_aaa_report(out, _jsonable(summary), outputs.surface, profile=outputs.profile,
                         warnings=warns)
        timings["report_s"] = time.perf_counter() - t
    if t_start is not None:
        timings["total_s"] = time.perf_counter() - t_start
    summary["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    summary["status"] = "ok"
    _atomic_json(out / "summary.json", summary)
    return _jsonable(summary)


def run_aaa(case: AAACase, out_dir: str | Path, *, quiet: bool = False,
            report: bool = True) -> dict[str, Any]:
    """Run the rupture-risk twin of ``case``; write DIR/summary.json, result.vtu, report.html
    (+ renders); return the summary. On a solve that gives up, summary.json says so
    (``status: "failed"``) and ConvergenceError propagates; no result.vtu is written.

    The stages, callable on their own (``biomech batch`` runs them as separate tasks):
    ``prepare_nominal`` → ``solve_nominal`` → ``add_end_sensitivity`` → samples (``sample_design``, ``solve_sample``
    each, ``uncertainty_block``, ``add_samples_block``) → ``twin_outputs`` → ``write_outputs``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = _say(quiet)
    t0 = time.perf_counter()
    nom = prepare_nominal(case, say=say)
    try:
        solve_nominal(nom, case, say=say)
    except ConvergenceError:
        _atomic_json(out / "summary.json", nom.summary)
        raise
    twin, timings = nom.twin, nom.timings
    if case.end_sensitivity:
        add_end_sensitivity(nom, case, say=say)
    if case.samples:
        say(f"{case.samples} uncertainty samples on {case.workers} worker(s)")
        t = time.perf_counter()
        block = uncertainty(nom.mesh, case, nom.neck_mm, twin, progress=not quiet)
        timings["samples_s"] = time.perf_counter() - t
        add_samples_block(nom.summary, nom.warnings, case, block)
    if case.verify:
        t = time.perf_counter()
        nom.summary["verification"] = verification(nom.inp, case, nom.neck_mm, twin,
                                                   int(twin.fields["wall"].sum()), say)
        timings["verify_s"] = time.perf_counter() - t
        if not nom.summary["verification"]["pass"]:
            nom.warnings.append("calculation verification failed: GCI above tolerance or "
                                "non-monotonic convergence (see verification)")
    return write_outputs(out, nom.summary, twin_outputs(nom, report=report), nom.warnings,
                         timings, report=report, t_start=t0)


SOURCES = {
    "wall": "Raghavan & Vorp, J Biomech 33:475 (2000): alpha 17.4, beta 188.1 N/cm² "
            "(population mean)",
    "ilt": "Gasser et al., J Vasc Surg 48:179 (2008): c 2.62/2.13/1.98 kPa luminal/medial/abluminal",
    "strength": "Vande Geest et al., J Vasc Surg 44:1213 (2006), inputs clamped, floor 10 N/cm²",
    "zero_pressure": "Bols et al., ESAIM M2AN 47:1059 (2013), backward displacement",
    "diameter_rule": "repair at > 55 mm (men), > 50 mm (women) or growth > 10 mm/year; "
                     "an AAA is an infrarenal aorta of 30 mm or more (ESVS 2019 guidelines, "
                     "Wanhainen et al., Eur J Vasc Endovasc Surg 57:8)",
    "gci": "Roache's GCI as in Celik et al., J Fluids Eng 130:078001 (2008)",
    "probabilistic": "Polzer & Gasser, J R Soc Interface (2015): sampled strength, thickness, "
                     "material, pressure",
}
