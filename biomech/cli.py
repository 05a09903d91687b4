"""Command line: ``biomech solve CASE.toml --out DIR``, ``biomech demo``, ``biomech bench``,
``biomech measure INPUT``, ``biomech mesh INPUT --out model.vtu``, ``biomech aaa INPUT ...``,
``biomech stent bench CATALOGUE --device NAME --to D --out DIR``,
``biomech stent deploy INPUT --catalogue CATALOGUE --landing neck --out DIR``,
``biomech batch COHORT.csv --out DIR``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from biomech.errors import BiomechError, ConvergenceError

SHIPPED = Path(__file__).resolve().parent.parent / "examples"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="biomech", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("solve", help="solve a TOML case file")
    p.add_argument("case")
    p.add_argument("--out", required=True, help="output folder (created)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    d = sub.add_parser("demo", help="solve the shipped thick-tube case and print its summary")
    d.add_argument("--out", default="biomech-demo", help="output folder (default: biomech-demo)")
    d.add_argument("--quiet", action="store_true")
    b = sub.add_parser("bench", help="benchmarks (thick tube, TET10 and HEX8; optional felupe)")
    b.add_argument("--sizes", default="1e5,3e5", help="target DOF counts, comma separated")
    b.add_argument("--elements", default="tetra10,hexahedron")
    b.add_argument("--felupe", action="store_true", help="also solve with felupe (pip install .[bench])")
    b.add_argument("--out", default=None, help="write bench.json here")
    b.add_argument("--beams", action="store_true",
                   help="instead: time the stent beam kernels (a 48-wire braid, SG28 with fabric)")
    ms = sub.add_parser("measure", help="AAA measurements from a label map / level set / surface")
    ms.add_argument("input")
    ms.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ms.add_argument("--plot", default=None, help="diameter profile PNG")
    _input_options(ms)
    mh = sub.add_parser("mesh", help="label map / level set / surface -> solver-ready wall mesh")
    mh.add_argument("input")
    mh.add_argument("--out", required=True, help="mesh file to write (e.g. model.vtu)")
    mh.add_argument("--wall-thickness", default="1.5 mm")
    mh.add_argument("--layers", type=int, default=2, help="wall layers")
    mh.add_argument("--ilt-layers", type=int, default=3, help="thrombus layers")
    mh.add_argument("--size", default="1 mm", help="target surface edge length")
    mh.add_argument("--outer", default=None, help="outer (thrombus/abluminal) surface file")
    mh.add_argument("--json", action="store_true", help="print the report as one JSON object")
    _input_options(mh)
    _aaa_parser(sub)
    from biomech.stent import cli as stent_cli

    stent_cli.add_parser(sub)
    from biomech.cohort import cli as cohort_cli

    cohort_cli.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "solve":
            return _solve(Path(args.case), Path(args.out), args.quiet)
        if args.command == "demo":
            return _solve(SHIPPED / "tube" / "case.toml", Path(args.out), args.quiet)
        if args.command == "measure":
            return _measure(args)
        if args.command == "mesh":
            return _mesh(args)
        if args.command == "aaa":
            return _aaa(args)
        if args.command == "stent":
            return stent_cli.run(args)
        if args.command == "batch":
            return cohort_cli.run(args)
        if args.command == "bench" and args.beams:
            from biomech.bench_beams import run_beam_bench

            run_beam_bench(out=args.out)
            return 0
        if args.command == "bench":
            from biomech.bench import run_bench

            sizes = [int(float(s)) for s in args.sizes.split(",")]
            run_bench(sizes, args.elements.split(","), felupe=args.felupe, out=args.out)
            return 0
    except ConvergenceError as exc:
        print(f"biomech: {exc}", file=sys.stderr)
        return 3
    except BiomechError as exc:
        print(f"biomech: error: {exc}", file=sys.stderr)
        return 2
    return 1


def _solve(case_path: Path, out: Path, quiet: bool) -> int:
    from biomech.case import load_case

    case = load_case(case_path)
    try:
        result = case.solve(progress=False if quiet else None)
    except ConvergenceError as exc:
        if exc.result is not None:
            partial = out / "last_converged"
            print(f"biomech: writing the last converged state to {partial}", file=sys.stderr)
            exc.result.summary["converged"] = False
            exc.result.save(partial, series=False)
        raise
    result.save(out, series=case.series)
    if not quiet:
        s = result.summary
        print(json.dumps({k: s[k] for k in ("converged", "dofs", "elements", "steps",
                                            "newton_iterations", "wall_time_s", "peak")}, indent=2))
        print(f"results in {out}/ (result.vtu, result.pvd, summary.json)")
    return 0


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--units", default="mm", help="length unit of the input (mm, cm, m)")
    p.add_argument("--lumen", type=int, default=1, help="lumen label")
    p.add_argument("--thrombus", type=int, default=2, help="thrombus label")
    p.add_argument("--wall", type=int, default=3, help="wall label")


def _load(args):
    from biomech.mesh.pipeline import load_input

    labels = {"lumen": args.lumen, "thrombus": args.thrombus, "wall": args.wall}
    return load_input(args.input, units=args.units, labels=labels,
                      outer=getattr(args, "outer", None))


def _measure(args) -> int:
    from biomech.mesh.pipeline import measure_input, summary_lines, to_json

    res = measure_input(_load(args), plot=args.plot)
    if args.json:
        print(to_json(res))
    else:
        print("\n".join(summary_lines(res)))
        if args.plot:
            print(f"diameter profile plot: {args.plot}")
    return 0


def _mesh(args) -> int:
    from biomech.mesh.io import write_mesh
    from biomech.mesh.pipeline import build_vessel_mesh, to_json

    mesh, report = build_vessel_mesh(_load(args), wall_thickness=args.wall_thickness,
                                     layers=args.layers, size=args.size,
                                     ilt_layers=args.ilt_layers)
    path = write_mesh(mesh, args.out)
    report["out"] = str(path)
    if args.json:
        print(to_json(report))
    else:
        keys = ("n_points", "n_cells", "cells", "face_sets", "min_scaled_jacobian",
                "max_aspect_ratio", "wall_thickness", "ilt_thickness", "local_diameter_mm",
                "timings_s", "repaired", "notes", "out")
        for k in keys:
            if k in report:
                print(f"{k}: {to_json(report[k])}")
    return 0


def _aaa_parser(sub) -> None:
    a = sub.add_parser("aaa", help="aneurysm rupture-risk twin: PWS, PWRI, probability, report")
    a.add_argument("input", help="label map, level set, lumen surface or volume mesh")
    a.add_argument("--systolic", required=True, help='systolic pressure, e.g. "140 mmHg"')
    a.add_argument("--diastolic", required=True, help='diastolic pressure, e.g. "85 mmHg"')
    a.add_argument("--sex", default=None, help="male or female (required, never guessed)")
    a.add_argument("--family-history", default=None, help="yes or no (required)")
    a.add_argument("--out", required=True, help="output folder (created)")
    a.add_argument("--imaging-pressure", default="diastolic", choices=["diastolic", "mean", "systolic"],
                   help="pressure the imaged geometry is loaded by (default diastolic)")
    a.add_argument("--wall-thickness", default="1.5 mm")
    a.add_argument("--layers", type=int, default=2, help="wedge layers through the wall")
    a.add_argument("--size", default="2 mm", help="target element edge length")
    a.add_argument("--wall-material", default="raghavan-vorp", choices=["raghavan-vorp", "hgo"])
    a.add_argument("--no-ilt", action="store_true", help="do not model the thrombus as ILT")
    a.add_argument("--ends", default="fixed", choices=["fixed", "springs"],
                   help="support of the cut vessel ends")
    a.add_argument("--no-end-sensitivity", action="store_true",
                   help="skip the second solve with the other end support (clamped <-> springs)")
    a.add_argument("--end-exclusion", default="10 mm",
                   help="wall within this distance of a cut end is left out of the indices")
    a.add_argument("--growth", default=None, help='diameter growth, e.g. "4 mm" per year')
    a.add_argument("--samples", type=int, default=0, help="uncertainty samples (Latin hypercube)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--workers", type=int, default=1, help="processes for the samples")
    a.add_argument("--verify", action="store_true", help="three-grid GCI study")
    a.add_argument("--outer", default=None, help="outer (thrombus/abluminal) surface file")
    a.add_argument("--quiet", action="store_true")
    _input_options(a)


_YES = {"yes": True, "y": True, "true": True, "no": False, "n": False, "false": False}


def _aaa(args) -> int:
    from biomech.aaa.run import AAACase, parse_pressure_mmHg, run_aaa
    from biomech.aaa.twin import Mechanics
    from biomech.errors import CaseError
    from biomech.units import parse_quantity

    fh = args.family_history
    if fh is not None:
        if fh.strip().lower() not in _YES:
            raise CaseError(f"--family-history must be yes or no, got {fh!r}")
        fh = _YES[fh.strip().lower()]
    elif args.family_history is None:
        raise CaseError("--family-history yes|no is required: it shifts the wall strength "
                        "by 21.3 N/cm²; it is not guessed")
    if args.sex is None:
        raise CaseError("--sex male|female is required: the strength model and the diameter "
                        "rule depend on it; it is not guessed")
    length = lambda v, k: parse_quantity(v, "length", key=k)
    case = AAACase(
        input=args.input, outer=args.outer,
        systolic_mmHg=parse_pressure_mmHg(args.systolic, "--systolic"),
        diastolic_mmHg=parse_pressure_mmHg(args.diastolic, "--diastolic"),
        sex=args.sex, family_history=fh, imaging_pressure=args.imaging_pressure,
        wall_thickness_mm=length(args.wall_thickness, "--wall-thickness"),
        layers=args.layers, size_mm=length(args.size, "--size"), units=args.units,
        labels={"lumen": args.lumen, "thrombus": args.thrombus, "wall": args.wall},
        mechanics=Mechanics(wall_material=args.wall_material, ilt=not args.no_ilt, ends=args.ends),
        end_exclusion_mm=length(args.end_exclusion, "--end-exclusion"),
        end_sensitivity=not args.no_end_sensitivity,
        growth_mm_per_year=None if args.growth is None else length(args.growth, "--growth"),
        samples=args.samples, seed=args.seed, workers=args.workers, verify=args.verify,
    )
    summary = run_aaa(case, Path(args.out), quiet=args.quiet)
    if not args.quiet:
        keys = ("pws_MPa", "pws99_MPa", "pwri", "max_diameter_mm", "diameter_rule")
        view = {k: summary.get(k) for k in keys}
        if "rupture_probability" in summary:
            rp = summary["rupture_probability"]
            view["rupture_probability"] = {k: rp.get(k) for k in ("p", "ci_low", "ci_high", "n")}
        print(json.dumps(view, indent=2))
        print(f"results in {args.out}/ (report.html, summary.json, result.vtu)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
