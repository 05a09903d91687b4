"""Command line: ``biomech solve CASE.toml --out DIR``, ``biomech demo``, ``biomech bench``."""

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
    args = parser.parse_args(argv)
    try:
        if args.command == "solve":
            return _solve(Path(args.case), Path(args.out), args.quiet)
        if args.command == "demo":
            return _solve(SHIPPED / "tube" / "case.toml", Path(args.out), args.quiet)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
