"""``biomech batch COHORT.csv --out DIR``: the command-line face of ``biomech.cohort``.

``add_parser(subparsers)`` adds the subcommand to biomech's parser; ``run(args)`` runs it and
returns the exit code: 0 when the batch finished (failed cases included: they are in the
table and the report), 2 for a cohort file that cannot be used, 1 for an unusable option.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Add ``batch`` (with its options) to an ``argparse`` subparsers object."""
    b = subparsers.add_parser(
        "batch", help="a cohort of rupture-risk twins (one CSV row per case) on Dask",
        description="Run every case of COHORT.csv (columns id, input, sex, family_history, "
                    "systolic, diastolic, optional overrides) on a local Dask cluster or a "
                    "running scheduler; write DIR/cohort.parquet, cohort.csv, report.html and "
                    "DIR/cases/<id>/.")
    b.add_argument("cohort", help="cohort CSV file")
    b.add_argument("--out", required=True, help="output folder (created)")
    where = b.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="local worker processes (default: one per core)")
    where.add_argument("--scheduler", default=None,
                       help="address of a running Dask scheduler, e.g. tcp://HOST:8786")
    b.add_argument("--samples", type=int, default=0,
                   help="uncertainty samples per case (a row's 'samples' overrides)")
    b.add_argument("--seed", type=int, default=0, help="cohort seed (each case's follows from it)")
    b.add_argument("--resume", action="store_true",
                   help="keep cases already finished with the same inputs")
    b.add_argument("--quiet", action="store_true", help="no progress output (the summary line only)")


def run(args: argparse.Namespace) -> int:
    """Run the batch of ``args``; print one summary line; return the exit code."""
    from biomech.cohort.table import CohortError
    from biomech.errors import BiomechError

    if args.workers is not None and args.workers < 1:
        print("biomech batch: error: --workers must be >= 1", file=sys.stderr)
        return 1
    if args.samples < 0 or args.seed < 0:
        print("biomech batch: error: --samples and --seed must be >= 0", file=sys.stderr)
        return 1
    from biomech.cohort.run import run_cohort

    try:
        result = run_cohort(args.cohort, args.out, samples=args.samples, seed=args.seed,
                            workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                            quiet=args.quiet)
    except CohortError as exc:
        print(f"biomech batch: error: {exc}", file=sys.stderr)
        return 2
    except BiomechError as exc:
        print(f"biomech batch: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an output folder that cannot be written
        print(f"biomech batch: error: {exc}", file=sys.stderr)
        return 1
    print(f"biomech batch: {result.summary_line()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m biomech.cohort.cli batch COHORT.csv --out DIR`` until biomech's own parser
    has the subcommand."""
    parser = argparse.ArgumentParser(prog="biomech")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
