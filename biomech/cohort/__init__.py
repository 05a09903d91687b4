"""Cohorts: many patients, many uncertainty samples, one command (``biomech batch``), on Dask.

``run_cohort(COHORT.csv, DIR)`` (``biomech.cohort.run``) runs every case of a cohort file
(``biomech.cohort.table``) as Dask tasks (``biomech.cohort.tasks``) on a local cluster or a
remote scheduler, and gathers ``DIR/cohort.parquet``, ``DIR/cohort.csv`` (columns:
``biomech.cohort.records.SCHEMA``) and ``DIR/report.html`` (``biomech.cohort.report``).
Imports of Dask and pyarrow happen inside the functions that need them.
"""

from biomech.cohort.table import CohortError, CohortRow, case_seed, read_cohort

__all__ = ["CohortError", "CohortRow", "case_seed", "read_cohort", "run_cohort"]


def run_cohort(*args, **kwargs):
    """See ``biomech.cohort.run.run_cohort``."""
    from biomech.cohort.run import run_cohort as run

    return run(*args, **kwargs)
