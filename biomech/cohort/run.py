"""`biomech batch`: a cohort of rupture-risk twins on a Dask cluster, gathered into one table.

``run_cohort(COHORT.csv, DIR)`` reads the cohort file (``biomech.cohort.table``), submits one
task graph per case (``biomech.cohort.tasks``: nominal twin → samples → outputs) to a local
Dask cluster (one single-threaded worker process per core) or to a running scheduler, and
writes, as cases finish, ``DIR/cases/<id>/`` (summary.json, result.vtu, report.html), then
``DIR/cohort.parquet``, ``DIR/cohort.csv`` and ``DIR/report.html``; ``DIR/batch.json`` says
whether the batch is running, interrupted or complete.

Guarantees:

* A failing case (bad row, unreadable input, mesh or solver failure, any exception) is
  recorded with its error; the batch goes on. A worker process that dies is replaced and its
  task retried on another worker, up to ``ALLOWED_FAILURES`` times per task; past that the case
  is recorded as failed.
* Deterministic: each case's sampling seed follows from the cohort seed and its id
  (``table.case_seed``), the samples come back in sample order, and every worker runs one
  thread, so the numbers do not depend on the number of workers.
* Resume (``resume=True``): a case whose ``summary.json`` says ``status: "ok"`` with the same
  inputs hash (row, input file contents, seed, samples) is taken from disk, not redone.
  Per-case files are written atomically with summary.json last, so an interrupted case has no
  ``ok`` summary; the cohort tables are written only when every case has an outcome.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biomech.cohort import tasks
from biomech.cohort.records import COLUMN_NAMES, SCHEMA, record_from_summary
from biomech.cohort.table import ROW_ERROR, CohortRow, read_cohort

__all__ = ["ALLOWED_FAILURES", "CohortResult", "local_cluster", "read_table", "run_cohort"]

ALLOWED_FAILURES = 2  # worker deaths a task may cause before its case is given up (Dask: 3)
_COHORT_FILES = ("cohort.parquet", "cohort.csv", "report.html")


@dataclass
class CohortResult:
    """What a batch produced: one record per case in cohort order (the columns of
    ``records.SCHEMA``), the pyarrow table of them, and the batch figures."""

    out: Path
    records: list[dict[str, Any]]
    table: Any  # pyarrow.Table
    workers: int
    wall_s: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_ok(self) -> int:
        return sum(r["status"] == "ok" for r in self.records)

    @property
    def n_failed(self) -> int:
        return sum(r["status"] != "ok" for r in self.records)

    @property
    def n_resumed(self) -> int:
        return sum(bool(r["resumed"]) for r in self.records)

    def summary_line(self) -> str:
        resumed = f" ({self.n_resumed} resumed)" if self.n_resumed else ""
        return (f"{len(self.records)} cases: {self.n_ok} ok{resumed}, {self.n_failed} failed, "
                f"{self.wall_s:.1f} s on {self.workers} worker(s); results in "
                f"{self.out / 'cohort.parquet'}, {self.out / 'report.html'}")


# --- the cluster -------------------------------------------------------------------------


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


@contextlib.contextmanager
def local_cluster(workers: int, *, quiet: bool = True) -> Iterator[Any]:
    """A ``distributed.Client`` on a LocalCluster of ``workers`` single-threaded worker
    processes (numba/OpenMP/MKL threads 1), with ``ALLOWED_FAILURES``; closed on exit."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, env=dict(tasks.THREAD_ENV),
                               silence_logs=logging.ERROR if quiet else logging.WARNING)
        try:
            client = Client(cluster)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None, client, quiet: bool) -> Iterator[Any]:
    if client is not None:
        yield client
    elif scheduler:
        from distributed import Client

        with Client(scheduler) as c:
            yield c
    else:
        with local_cluster(workers or default_workers(), quiet=quiet) as c:
            yield c


# --- outputs -----------------------------------------------------------------------------


def _arrow_table(records: list[dict[str, Any]], metadata: dict[str, Any]):
    import pyarrow as pa

    types = {"string": pa.string(), "bool": pa.bool_(), "int64": pa.int64(),
             "float64": pa.float64()}
    schema = pa.schema([pa.field(name, types[t], metadata={"description": doc})
                        for name, t, doc in SCHEMA],
                       metadata={"biomech": json.dumps(metadata, sort_keys=True)})
    cols = {name: [r[name] for r in records] for name in COLUMN_NAMES}
    return pa.Table.from_pydict(cols, schema=schema)


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` to a temporary file next to ``path``, then rename over it."""
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_tables(table, out: Path) -> None:
    """``cohort.parquet`` and ``cohort.csv`` of the table, each atomically."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    _atomic_write(out / "cohort.parquet", lambda tmp: pq.write_table(table, tmp))
    _atomic_write(out / "cohort.csv", lambda tmp: pacsv.write_csv(table, tmp))


def read_table(path: str | Path):
    """A batch's ``cohort.parquet`` as a pyarrow Table (``.to_pylist()`` for dicts)."""
    import pyarrow.parquet as pq

    path = Path(path)
    return pq.read_table(path / "cohort.parquet" if path.is_dir() else path)


def _batch_json(out: Path, data: dict[str, Any]) -> None:
    from biomech.aaa.run import _atomic_json

    _atomic_json(out / "batch.json", data)


# --- progress ----------------------------------------------------------------------------


class _Progress:
    """tqdm bar (cases done / failed / ETA) on a terminal; one line per case when stderr is not
    a terminal (logs); nothing when quiet."""

    def __init__(self, total: int, quiet: bool, bar: bool | None) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.quiet = quiet
        use_bar = (not quiet and sys.stderr.isatty()) if bar is None else (bar and not quiet)
        self.bar = None
        if use_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="cases", unit="case", file=sys.stderr,
                            dynamic_ncols=True)

    def update(self, rec: dict[str, Any], note: str = "") -> None:
        self.done += 1
        self.failed += rec["status"] != "ok"
        if self.bar is not None:
            self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update()
        elif not self.quiet:
            if rec["status"] == "ok":
                pwri = rec.get("pwri")
                what = f"ok, PWRI {pwri:.3f}" if pwri is not None else "ok"
                if rec.get("wall_time_s") is not None:
                    what += f", {rec['wall_time_s']:.1f} s"
            else:
                what = f"FAILED: {rec.get('error')}"
            print(f"biomech batch: [{self.done}/{self.total}] {rec['id']}{note}: {what}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- the batch -----------------------------------------------------------------------------


def _cohort_block(row: CohortRow, cohort_seed: int) -> dict[str, Any]:
    case = row.case
    return {"id": row.id, "row": row.row, "values": dict(row.values),
            "inputs_hash": row.inputs_hash, "cohort_seed": int(cohort_seed),
            "case_seed": None if case is None else int(case.seed),
            "samples": None if case is None else int(case.samples)}


def _finished(row: CohortRow, case_dir: Path) -> dict | None:
    """The summary of an earlier run of this row, if it completed with the same inputs."""
    try:
        summary = json.loads((case_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    co = summary.get("cohort") or {}
    if (summary.get("status") == "ok" and co.get("inputs_hash") == row.inputs_hash
            and co.get("id") == row.id and (case_dir / "result.vtu").is_file()):
        return summary
    return None


def _killed_record(row: CohortRow, case_dir: Path, cohort_seed: int, exc: BaseException) -> dict:
    error = (f"{type(exc).__name__}: {exc} (the worker running this case died "
             f"{ALLOWED_FAILURES + 1} times: out of memory?)")
    if type(exc).__name__ != "KilledWorker":
        error = f"{type(exc).__name__}: {exc}"
    return tasks.write_failure(case_dir, {"inputs": row.case.inputs()},
                               _cohort_block(row, cohort_seed), error, type(exc).__name__)


def run_cohort(
    cohort: str | Path,
    out: str | Path,
    *,
    samples: int = 0,
    seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    resume: bool = False,
    quiet: bool = False,
    progress: bool | None = None,
    report: bool = True,
    on_case: Callable[[dict[str, Any]], None] | None = None,
) -> CohortResult:
    """Run every case of the cohort file ``cohort`` into ``out``; return the records.

    ``samples``/``seed``: uncertainty samples per case (a row's ``samples`` overrides) and the
    cohort seed. Cluster: ``client`` (an existing ``distributed.Client``), else ``scheduler``
    (address of a running scheduler), else a LocalCluster of ``workers`` processes (default:
    one per core). ``resume``: keep cases already done with the same inputs. ``progress``:
    force the bar on/off (default: on a terminal unless ``quiet``). ``on_case(record)`` is
    called in the calling thread as each case finishes. Raises ``CohortError`` (before any
    work) when the cohort file cannot be used.
    """
    t0 = time.perf_counter()
    rows = read_cohort(cohort, samples=samples, seed=seed)
    out = Path(out)
    (out / "cases").mkdir(parents=True, exist_ok=True)
    for name in _COHORT_FILES:  # nothing of an earlier batch stands as this one's result
        with contextlib.suppress(FileNotFoundError):
            (out / name).unlink()
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    meta = {"cohort": str(Path(cohort).resolve()), "seed": int(seed), "samples": int(samples),
            "n_cases": len(rows), "started": started}
    _batch_json(out, {**meta, "status": "running"})
    records: dict[str, dict[str, Any]] = {}
    todo: list[CohortRow] = []
    bar = _Progress(len(rows), quiet, progress)
    n_workers = 0
    try:
        for row in rows:
            case_dir = out / "cases" / row.id
            if not row.ok:
                tasks.clear_case_dir(case_dir)
                rec = tasks.write_failure(case_dir, {"inputs": {}}, _cohort_block(row, seed),
                                          row.error, ROW_ERROR)
            elif resume and (done := _finished(row, case_dir)) is not None:
                rec = record_from_summary(done, resumed=True)
            else:
                todo.append(row)
                continue
            records[row.id] = rec
            bar.update(rec, " (resumed)" if rec["resumed"] else "")
            if on_case is not None:
                on_case(rec)
        if todo:
            with _client(workers, scheduler, client, quiet) as c:
                n_workers = len(c.scheduler_info(n_workers=-1).get("workers", {})) or (workers or 0)
                cases = _run_cases(c, todo, out, seed, n_workers)
                try:
                    for rec in cases:
                        records[rec["id"]] = rec
                        bar.update(rec)
                        if on_case is not None:
                            on_case(rec)
                finally:
                    cases.close()  # on an interruption: cancel what is left
    except BaseException as exc:
        _batch_json(out, {**meta, "status": "interrupted", "n_done": len(records),
                          "reason": f"{type(exc).__name__}: {exc}".rstrip(": ")})
        raise
    finally:
        bar.close()
    ordered = [records[row.id] for row in rows]
    wall_s = time.perf_counter() - t0
    info = {**meta, "workers": n_workers, "wall_s": round(wall_s, 2),
            "n_ok": sum(r["status"] == "ok" for r in ordered),
            "n_failed": sum(r["status"] != "ok" for r in ordered),
            "n_resumed": sum(bool(r["resumed"]) for r in ordered)}
    table = _arrow_table(ordered, info)
    write_tables(table, out)
    if report:
        from biomech.cohort.report import write_cohort_report

        write_cohort_report(out, ordered, info)
    _batch_json(out, {**info, "status": "complete",
                      "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    return CohortResult(out, ordered, table, n_workers, wall_s, info)


def _run_cases(client, rows: list[CohortRow], out: Path, cohort_seed: int,
               n_workers: int) -> Iterator[dict[str, Any]]:
    """Submit every case's graph; yield each case's record as it finishes."""
    from distributed import as_completed

    from biomech.aaa.probabilistic import sample_rows
    from biomech.aaa.run import sample_design

    tag = uuid.uuid4().hex[:8]
    pending: dict[str, tuple[CohortRow, Any, list, tuple]] = {}  # finish key -> case
    finishes = []
    # priorities: a case's samples and outputs before the next case's nominal twin (depth
    # first: cases finish early, memory stays bounded); ties by submission order
    for row in rows:
        case_dir = out / "cases" / row.id
        tasks.clear_case_dir(case_dir)
        design = sample_design(row.case) if row.case.samples else None
        prep = client.submit(tasks.prepare_case, row.id, row.case, pure=False, priority=0,
                             key=f"prepare-{row.id}-{tag}")
        ctx = client.submit(tasks.sample_context, prep, pure=False, priority=1,
                            key=f"context-{row.id}-{tag}")
        sample_futs = [client.submit(tasks.run_sample, ctx, i, s, pure=False, priority=1,
                                     key=f"sample-{row.id}-{i}-{tag}")
                       for i, s in enumerate(sample_rows(design[1]) if design else [])]
        args = (row.case, design, str(case_dir.resolve()), _cohort_block(row, cohort_seed),
                n_workers)  # an absolute folder: workers may start elsewhere
        fin = client.submit(tasks.finish_case, prep, sample_futs, *args, pure=False,
                            priority=2, key=f"finish-{row.id}-{tag}")
        pending[fin.key] = (row, prep, sample_futs, args)
        finishes.append(fin)
    done = as_completed(finishes)
    try:
        for fut in done:
            row, prep, sample_futs, args = pending.pop(fut.key)
            try:
                rec = fut.result()
            except Exception as exc:  # noqa: BLE001 - a task whose workers kept dying
                failed = [i for i, f in enumerate(sample_futs) if f.status == "error"]
                if prep.status != "error" and failed:
                    # samples that killed their workers: record them as failed samples and
                    # finish the case with the others
                    results = [
                        {"status": "failed",
                         "error": f"worker died running this sample ({type(f.exception()).__name__})"}
                        if f.status == "error" else f for f in sample_futs]
                    retry = client.submit(tasks.finish_case, prep, results, *args, pure=False,
                                          priority=2, key=f"finish-{row.id}-{tag}-retry")
                    pending[retry.key] = (row, prep, [], args)
                    done.add(retry)
                    continue
                rec = _killed_record(row, out / "cases" / row.id, cohort_seed, exc)
            del prep, sample_futs, fut  # release the case's data on the workers
            yield rec
    finally:
        if pending:  # interrupted: do not leave our tasks running on a shared cluster
            futs = [f for (_, p, s, _) in pending.values() for f in (p, *s)]
            with contextlib.suppress(Exception):
                client.cancel(futs + [f for f in finishes if f.key in pending])
