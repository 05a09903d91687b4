"""`biomech stent deploy`: crash-test every catalogue device in one patient's vessel twin
and write ``summary.json``, ``report.html``, per-device VTU/PVD series and renders.

Output folder layout: ``summary.json`` (written last, atomically), ``report.html``,
``<device>/deployment.pvd`` + ``<device>/device_NNN.vtu`` (crimped, each release step,
settled at diastole, systole: each state's strut strain, the last two's gaps),
``<device>/wall.pvd`` + ``<device>/wall_NNN.vtu`` (the wall at the same steps: stress),
``<device>/wall.vtu`` (the wall at systole with the device), ``<device>.png`` (the settled
device coloured by its gap to the lumen).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from biomech.errors import CaseError, ConvergenceError


ASSUMPTIONS = [
    "blood pressure stays on the lumen beside a bare stent; once a stent-graft is deployed "
    "its fabric takes it over and the wall the graft spans (seal zones and sac) is relieved "
    "of it: a sealed graft without endoleak, unless a residual sac pressure is given "
    "(inputs.sac_pressure_pct of the lumen pressure, left on the covered wall while the "
    "fabric carries the rest); the radial force and migration margin are the device's own, "
    "before that",
    "graft fabric is a tension-field membrane (no compression: it wrinkles), frictionless on "
    "the wall while it deploys (its friction counts in the migration margin), then under the "
    "blood pressure and held by friction, so the seal is judged on the fabric (the struts' "
    "beside it); "
    "where its deployment does not converge, the rings alone are solved, the seal judged on "
    "the struts, and the device says so",
    "the imaged geometry is at the imaging (diastolic) pressure; the zero-pressure geometry "
    "comes from the [aaa] twin",
    "device placed straight along the centreline chord of its span, crimped in a rigid "
    "frictionless catheter, released by opening the catheter past its nominal diameter and "
    "withdrawing it; a bare device too long for a straight catheter in a tortuous vessel (a "
    "braid) is crimped, reopened short of the lumen in a straight tube, wrapped onto the "
    "smoothed centreline, opened there by braid kinematics to 0.9 × the lumen (a morphing, "
    "not the catheter's withdrawal) and let go at once (curved_delivery)",
    "quasi-static implicit solve: every reported state is an equilibrium (residual given)",
]


def parse_sac_pressure(value: str, systolic_mmHg: float, key: str = "--sac-pressure") -> float:
    """An endoleak's residual sac pressure as a share (0–1) of the lumen pressure: "30 %"
    (the pressure index, sac / lumen), or a pressure at systole ("40 mmHg", "5 kPa"), which
    is divided by ``systolic_mmHg`` (the share then holds over the cardiac cycle)."""
    from biomech.aaa.run import MMHG_TO_MPA
    from biomech.units import parse_quantity

    text = str(value).strip()
    if isinstance(value, (int, float)) or not text or _is_number(text):
        raise CaseError(f"{key} {value!r}: give '30 %' (of the lumen pressure) or a pressure at "
                        "systole such as '40 mmHg' (a bare number is ambiguous)")
    if text.endswith("%"):
        try:
            share = float(text[:-1]) / 100.0
        except ValueError:
            raise CaseError(f"{key} {value!r}: not a percentage; e.g. '30 %'") from None
    else:
        share = parse_quantity(text, "pressure", key=key) / MMHG_TO_MPA / systolic_mmHg
    if not 0.0 <= share < 1.0:
        raise CaseError(f"{key} {value!r} is {100 * share:.0f} % of the lumen pressure: a sac "
                        "pressure lies from 0 (sealed) up to, not at, the systolic pressure "
                        f"({systolic_mmHg:g} mmHg)")
    return share


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def run_deploy(case, catalogue: str | Path, out_dir: str | Path, *, landing: str = "neck",
               devices: Sequence[str] | None = None, friction: float = 0.2,
               catheter_mm: float | None = None, steps: int = 6, quiet: bool = False,
               report: bool = True, sac_share: float = 0.0) -> dict[str, Any]:
    """Deploy the catalogue's devices (or those named) in ``case``'s vessel (an [aaa]
    AAACase: input, pressures, meshing options) at ``landing``; the summary dict.
    ``sac_share``: a stent-graft's excluded sac keeps this share of the lumen pressure
    (an endoleak, :func:`parse_sac_pressure`; 0: sealed)."""
    from biomech.stent import get_device, load_catalogue
    from biomech.stent.crashtest import crash_test
    from biomech.stent.ranking import CRITERIA, assess, rank
    from biomech.stent.vessel import parse_landing, prepare_vessel

    parse_landing(landing, zone_mm=0.0)  # bad units refused before the twin is solved
    if not 0.0 <= friction <= 1.0:
        raise CaseError(f"--friction {friction:g}: a Coulomb coefficient lies in 0–1")
    say = (lambda m: None) if quiet else (lambda m: print(f"biomech stent deploy: {m}",
                                                          flush=True))
    t0 = time.perf_counter()
    cat = load_catalogue(catalogue)
    chosen = [get_device(cat, n) for n in devices] if devices else list(cat)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vessel = prepare_vessel(case, say=say, landing=landing)
    s0 = vessel.landing_start(landing)
    catheter = catheter_mm  # None: per device (crashtest.auto_catheter)
    t_vessel = time.perf_counter() - t0
    entries, renders, surfaces, warns = [], {}, {}, []
    for dev in chosen:
        say(f"{dev.name}: deploying at {s0:.0f} mm from the inlet")
        entry = {"name": dev.name, "type": dev.type, "description": dev.description,
                 "nominal_diameter_mm": dev.nominal_diameter_mm, "length_mm": dev.length_mm}
        try:
            ct = crash_test(vessel, dev, s0=s0, catheter_mm=catheter, friction=friction,
                            steps=steps, sac_share=sac_share)
        except (CaseError, ConvergenceError) as exc:
            entry.update(status="rejected" if isinstance(exc, CaseError) else "failed",
                         error=str(exc), acceptable=False, reasons=[str(exc)], cautions=[])
            say(f"{dev.name}: {entry['status']}: {exc}")
            entries.append(entry)
            continue
        ok, no, caution = assess(ct.figures, dev.material.get("model", "nitinol"))
        entry.update(ct.figures, status="ok", error=None, acceptable=ok, reasons=no + caution,
                     cautions=caution, files=_write_series(out, dev.name, ct, vessel))
        device_tubes = _device_surface(ct)
        png, warn = _render(out, dev.name, device_tubes)
        if png:
            renders[dev.name] = png
        warns += warn
        surfaces[dev.name] = (_wall_surface(vessel, ct), device_tubes)
        say(f"{dev.name}: apposition {ct.figures['apposition_pct']:.0f} %, seal "
            f"{ct.figures['seal_length_mm']:.1f} mm, radial force "
            f"{ct.figures['radial_force_N']:.2f} N ({ct.figures['wall_s']:.0f} s)")
        entries.append(entry)
    ranking, recommendation = rank(entries)
    summary = _summary(case, catalogue, landing, s0, friction, catheter, sac_share, vessel,
                       entries,
                       ranking, recommendation, CRITERIA, warns,
                       {"vessel_s": t_vessel, "total_s": time.perf_counter() - t0})
    if report:
        from biomech.report.stent import write_stent_report

        write_stent_report(out, summary, renders=renders, surfaces=surfaces)
    _write_json(out / "summary.json", summary)
    say(recommendation)
    return summary


def _summary(case, catalogue, landing, s0, friction, catheter, sac_share, vessel, entries,
             ranking, recommendation, criteria, warns, timings) -> dict[str, Any]:
    meas = vessel.nominal.meas
    landing_d = float(vessel.lumen_diameter_between(s0, s0 + 15.0).mean())
    return {
        "status": "ok",
        "inputs": {"input": str(case.input), "catalogue": str(catalogue), "landing": landing,
                   "landing_start_mm": s0, "systolic_mmHg": case.systolic_mmHg,
                   "diastolic_mmHg": case.diastolic_mmHg,
                   "imaging_pressure_mmHg": case.imaging_mmHg, "friction": friction,
                   "catheter_diameter_mm": catheter or "auto",
                   "sac_pressure_pct": 100.0 * sac_share, "element_size_mm": case.size_mm,
                   "wall_thickness_mm": case.wall_thickness_mm,
                   "wall_material": case.mechanics.wall_material},
        "vessel": {"neck_diameter_mm": meas.get("neck_diameter_mm"),
                   "neck_lumen_diameter_mm": landing_d,
                   "neck_length_mm": meas.get("neck_length_mm"),
                   "max_diameter_mm": meas.get("max_diameter_mm"),
                   "centerline_length_mm": vessel.length_mm,
                   "landing_lumen_diameter_mm": landing_d,
                   "wall_pws_MPa": vessel.nominal.summary.get("pws_MPa"),
                   "mesh": {"n_points": int(vessel.nominal.mesh.n_points),
                            "n_cells": int(vessel.nominal.mesh.n_cells)}},
        "devices": entries, "ranking": ranking, "recommendation": recommendation,
        "criteria": criteria, "warnings": warns,
        "assumptions": ASSUMPTIONS,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }


def _write_series(out: Path, name: str, ct, vessel) -> dict[str, str]:
    """<name>/device_NNN.vtu + deployment.pvd (each state's own strut strain; the gaps at
    diastole and systole), <name>/wall_NNN.vtu + wall.pvd (the wall in step, its stress) and
    <name>/wall.vtu (at systole with the device); atomic each."""
    from biomech.results import _atomic_meshio, _atomic_text, _pvd
    from biomech.stent.crashtest import wall_fields_at

    d = out / _safe(name)
    d.mkdir(parents=True, exist_ok=True)
    devices, walls = [], []
    for k, (x, strain, gaps) in enumerate(zip(ct.states, ct.frame_strains, ct.frame_gaps)):
        _atomic_meshio(_device_mesh(ct, x, strain, gaps), d / f"device_{k:03d}.vtu")
        devices.append((float(k), f"device_{k:03d}.vtu"))
    last, fields, before = len(ct.frame_walls) - 1, None, None
    for k, u in enumerate(ct.frame_walls):
        if k == last:
            fields = ct.wall_fields
        elif before is None or not np.array_equal(u, before):  # the wall moved: its stress
            fields, before = wall_fields_at(vessel, u), u
        wall = _wall_mesh(vessel, vessel.reference + u.reshape(-1, 3), fields)
        _atomic_meshio(wall, d / f"wall_{k:03d}.vtu")
        walls.append((float(k), f"wall_{k:03d}.vtu"))
        if k == last:
            _atomic_meshio(wall, d / "wall.vtu")
    _atomic_text(d / "deployment.pvd", _pvd(devices))
    _atomic_text(d / "wall.pvd", _pvd(walls))
    return {"pvd": f"{_safe(name)}/deployment.pvd", "wall_pvd": f"{_safe(name)}/wall.pvd",
            "wall": f"{_safe(name)}/wall.vtu"}


def _device_mesh(ct, x: np.ndarray, strain: np.ndarray, gaps: np.ndarray | None):
    """One state of the device (meshio): beams and fabric triangles, cell data
    ``peak_strain_pct`` (the fabric's 0), point data ``gap_mm`` where measured (−1: none)."""
    import meshio

    point_data = {} if gaps is None else {"gap_mm": np.nan_to_num(gaps, posinf=-1.0)}
    cells, pct = [("line", ct.beams)], [100.0 * strain]
    if ct.membranes is not None and len(ct.membranes):  # a stent-graft's fabric
        cells.append(("triangle", ct.membranes))
        pct.append(np.zeros(len(ct.membranes)))
    return meshio.Mesh(x, cells, point_data=point_data, cell_data={"peak_strain_pct": pct})


def _wall_mesh(vessel, points: np.ndarray, fields: dict):
    """The wall at ``points`` (mm; displacement from the zero-pressure reference) with cell
    data ``stress_p1_MPa`` and ``von_mises_MPa`` (meshio)."""
    wall = vessel.nominal.twin.result.to_meshio(
        displacement=points - vessel.model.mesh.points,
        fields=[{} for _ in vessel.model.mesh.blocks])
    cuts = np.cumsum([len(b.conn) for b in vessel.model.mesh.blocks])[:-1]
    wall.cell_data = {key: list(np.split(fields[key], cuts))
                      for key in ("stress_p1_MPa", "von_mises_MPa")}
    return wall


def _device_surface(ct):
    """The settled device as tubes (pyvista), point data ``gap_mm``."""
    import pyvista as pv

    x = ct.states[-2]
    lines = np.hstack([np.full((len(ct.beams), 1), 2), ct.beams]).ravel()
    poly = pv.PolyData(x, lines=lines)
    poly.point_data["gap_mm"] = np.clip(np.nan_to_num(ct.gaps, posinf=5.0), 0.0, None)
    tubes = poly.tube(radius=0.3, n_sides=8)
    if ct.membranes is None or not len(ct.membranes):
        return tubes
    faces = np.hstack([np.full((len(ct.membranes), 1), 3), ct.membranes]).ravel()
    fabric = pv.PolyData(x, faces=faces)
    fabric.point_data["gap_mm"] = poly.point_data["gap_mm"]
    return tubes.merge(fabric.clean())


def _render(out: Path, name: str, tubes) -> tuple[Path | None, list[str]]:
    from biomech.report.renders import Render, render_pngs

    file = f"{_safe(name)}.png"
    written, warns = render_pngs(tubes, out, [
        Render("gap_mm", f"{name}: gap to the lumen (mm)", file, cmap="coolwarm",
               clim=(0.0, 1.0))])
    return (written[0] if written else None), warns


def _wall_surface(vessel, ct):
    """The wall at systole with the device, ``stress_MPa`` point data, for the 3D view."""
    from biomech.aaa.run import wall_surface_at

    return wall_surface_at(vessel.nominal.twin.result, ct.wall_points, ct.wall_fields)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _write_json(path: Path, data: dict) -> None:
    from biomech.aaa.run import _atomic_json, _jsonable

    _atomic_json(path, _jsonable(data))


__all__: Sequence[str] = ["run_deploy"]
