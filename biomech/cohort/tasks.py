"""The Dask tasks of a cohort batch, one graph per case:

``prepare_case`` (read, measure, mesh, nominal twin: the zero-pressure reference) →
``sample_context`` (the part the samples need: mesh, case, neck, reference) →
``run_sample`` × N (one uncertainty sample each, from that reference; never re-meshed) →
``finish_case`` (the probability block, then result.vtu, report.html and last summary.json,
each written atomically, into ``DIR/cases/<id>/``; returns the case's cohort record).

Every task catches its own exceptions and returns them as data (a failed case or sample is a
result, not an erred future); only a worker that dies makes a future err, and Dask retries
that. Module-level functions, so that they pickle by reference; the numba kernels they call
are compiled (or loaded from the cache) once per worker process.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biomech.threads import THREAD_ENV, single_threaded

__all__ = [
    "THREAD_ENV",
    "Prepared",
    "SampleContext",
    "clear_case_dir",
    "finish_case",
    "limit_threads",
    "noop",
    "prepare_case",
    "run_sample",
    "sample_context",
    "write_failure",
]

CASE_FILES = ("summary.json", "result.vtu", "report.html", "wall_stress.png",
              "rupture_index.png")


def limit_threads() -> None:
    """One solver thread in this task (see ``biomech.threads``): the same numbers whatever
    the number of workers, and no oversubscription. The LocalCluster also starts its workers
    with THREAD_ENV; on a remote cluster start them with it (see the README)."""
    single_threaded()


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@dataclass
class SampleContext:
    """What every sample of a case shares: the mesh, the case, the neck diameter and the
    nominal zero-pressure reference (node positions, mm), built once by ``prepare_case``."""

    mesh: Any
    case: Any
    neck_mm: float
    reference: np.ndarray


@dataclass
class Prepared:
    """The outcome of ``prepare_case``: on success (``ok``) the summary so far, the warnings,
    the timings, the picklable result-file and report content, and the samples' context; on
    failure the error and whatever summary there was."""

    case_id: str
    ok: bool
    summary: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    outputs: Any = None
    context: SampleContext | None = None
    error: str | None = None
    error_type: str | None = None
    prepare_s: float = 0.0


def prepare_case(case_id: str, case) -> Prepared:
    """Read, measure and mesh the case and solve its nominal twin (once per patient)."""
    from biomech.aaa.run import add_end_sensitivity, prepare_nominal, solve_nominal, twin_outputs

    limit_threads()
    t0 = time.perf_counter()
    nom = None
    try:
        nom = prepare_nominal(case)
        solve_nominal(nom, case)
        if case.end_sensitivity:
            add_end_sensitivity(nom, case)
        outputs = twin_outputs(nom, report=True)
        ctx = None
        if case.samples:
            ctx = SampleContext(nom.mesh, case, nom.neck_mm, nom.twin.zero_pressure.reference)
        return Prepared(case_id, True, nom.summary, list(nom.warnings), dict(nom.timings),
                        outputs, ctx, prepare_s=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a failed case is a result; the batch goes on
        summary = nom.summary if nom is not None else {"inputs": case.inputs()}
        timings = dict(nom.timings) if nom is not None else {}
        return Prepared(case_id, False, summary, [], timings, error=_error(exc),
                        error_type=type(exc).__name__, prepare_s=time.perf_counter() - t0)


def sample_context(prepared: Prepared) -> SampleContext | None:
    """The samples' share of ``prepared`` (a small task, so that a sample moved to another
    worker receives the mesh and reference, not the report content); None if it failed."""
    return prepared.context if prepared.ok else None


def run_sample(ctx: SampleContext | None, index: int, sample: dict[str, float]) -> dict:
    """Uncertainty sample ``index`` from the nominal reference in ``ctx``: ``{"status": "ok",
    "pwri", "pws_MPa", …, "wall_s"}``, ``{"status": "failed", "error"}`` if its solve raised,
    ``{"status": "skipped"}`` if the case itself failed."""
    from biomech.aaa.run import solve_sample

    if ctx is None:
        return {"status": "skipped", "error": "the nominal twin failed"}
    limit_threads()
    t = time.perf_counter()
    try:
        res = {"status": "ok", **solve_sample(ctx.mesh, ctx.case, ctx.neck_mm, ctx.reference,
                                             sample)}
    except Exception as exc:  # noqa: BLE001 - one failed sample must not stop the case
        res = {"status": "failed", "error": _error(exc)}
    res["wall_s"] = time.perf_counter() - t
    return res


def clear_case_dir(case_dir: Path) -> None:
    """Remove a case's earlier outputs (known names only) before it is run again, so that no
    stale file stands next to the new run's."""
    for name in CASE_FILES:
        try:
            (case_dir / name).unlink()
        except FileNotFoundError:
            pass
    shutil.rmtree(case_dir / "last_converged", ignore_errors=True)


def write_failure(case_dir: Path, summary: dict, cohort: dict, error: str,
                  error_type: str | None, timings: dict | None = None) -> dict:
    """summary.json with ``status: "failed"`` and the error (atomically); the cohort record."""
    from biomech.aaa.run import _atomic_json, _jsonable
    from biomech.cohort.records import record_from_summary

    case_dir.mkdir(parents=True, exist_ok=True)
    summary = dict(summary)
    summary.update(status="failed", error=error)
    summary["cohort"] = {**cohort, "error_type": error_type}
    if timings:
        summary["timings_s"] = {k: round(v, 2) for k, v in timings.items()}
    summary = _jsonable(summary)
    _atomic_json(case_dir / "summary.json", summary)
    return record_from_summary(summary)


def finish_case(prepared: Prepared, sample_results: list[dict], case, design, case_dir: str,
                cohort: dict, workers: int) -> dict:
    """The probability block from the samples (in sample order), then result.vtu, report.html
    and summary.json (``status: "ok"``, written last) into ``case_dir``; the cohort record.

    ``design``: (distributions, samples) of ``sample_design`` or None; ``cohort``: the
    summary's "cohort" block (id, row, values, inputs_hash, seeds, samples)."""
    from biomech.aaa.run import add_samples_block, uncertainty_block, write_outputs
    from biomech.cohort.records import pwri_moments, record_from_summary

    limit_threads()
    out = Path(case_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings = dict(prepared.timings)
    if not prepared.ok:
        timings["total_s"] = prepared.prepare_s
        return write_failure(out, prepared.summary, cohort, prepared.error or "failed",
                             prepared.error_type, timings)
    t = time.perf_counter()
    samples_s = 0.0
    try:
        summary, warns = dict(prepared.summary), list(prepared.warnings)
        if case.samples:
            results = [dict(r) for r in sample_results]
            samples_s = float(sum(r.pop("wall_s", 0.0) for r in results))
            dists, samples = design
            block = uncertainty_block(case, dists, samples, results, wall_s=samples_s,
                                      workers=workers)
            block["pwri_mean"], block["pwri_sd"] = pwri_moments(results)
            add_samples_block(summary, warns, case, block)
            timings["samples_s"] = samples_s
        summary["cohort"] = {**cohort, "error_type": None}
        # total_s: the case's compute time (nominal + samples + outputs), not queueing time
        t_start = time.perf_counter() - (prepared.prepare_s + samples_s)
        final = write_outputs(out, summary, prepared.outputs, warns, timings, report=True,
                              t_start=t_start)
        return record_from_summary(final)
    except Exception as exc:  # noqa: BLE001 - recorded as the case's failure
        timings["total_s"] = prepared.prepare_s + samples_s + time.perf_counter() - t
        return write_failure(out, prepared.summary, cohort, _error(exc), type(exc).__name__,
                             timings)


def noop(*args: Any) -> None:
    """A task that does nothing (scheduling-overhead measurements)."""
