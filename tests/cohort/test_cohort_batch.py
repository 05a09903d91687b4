"""`biomech batch` on real local Dask clusters: broken rows recorded and the rest computed, the
same numbers with 1 and 2 workers, a killed worker survived, an interrupted batch resumed
without redoing finished cases. Cases are kept cheap: small straight tubes at 4 mm and one
shipped patient at 6 mm."""

import json
import os
import re
import signal
import threading
import time

import pyarrow.parquet as pq
import pytest
from cohort_helpers import SHIPPED, numbers, summary, tube_image, write_cohort

from biomech.cohort import cli
from biomech.cohort.records import COLUMN_NAMES
from biomech.cohort.run import local_cluster, run_cohort

GOOD = [
    "tube_a,tube_a.nii.gz,male,no,140 mmHg,85 mmHg,4 mm,3",
    "tube_b,tube_b.nii.gz,female,yes,150 mmHg,90 mmHg,4 mm,2",
]
SHIPPED_ROW = f"small_42mm,{SHIPPED},female,no,160 mmHg,95 mmHg,6 mm,0"
BROKEN = {
    "missing_file": ("missing_file,nowhere.nii.gz,male,no,140 mmHg,85 mmHg,4 mm,",
                     "column 'input': file"),
    "bare_number": ("bare_number,tube_a.nii.gz,male,no,140,85 mmHg,4 mm,",
                    "column 'systolic': give the unit"),
    "swapped": ("swapped,tube_a.nii.gz,male,no,80 mmHg,120 mmHg,4 mm,",
                "diastolic (120 mmHg) must be below systolic (80 mmHg)"),
    "unknown_sex": ("unknown_sex,tube_a.nii.gz,unknown,no,140 mmHg,85 mmHg,4 mm,",
                    "column 'sex': sex must be 'male' or 'female'"),
}
NOT_NUMBERS = {"row", "wall_time_s", "measure_s", "mesh_s", "zero_pressure_s", "systolic_s",
               "samples_s", "report_s"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cohort_inputs")
    tube_image(d / "tube_a.nii.gz")
    tube_image(d / "tube_b.nii.gz", lumen_vox=11.0, wall_vox=12.5, slices=44)
    return d


@pytest.fixture(scope="module")
def batch(inputs, tmp_path_factory):
    """The CLI on a cohort of good and broken rows, default LocalCluster of 2 workers."""
    rows = [GOOD[0], BROKEN["missing_file"][0], SHIPPED_ROW, BROKEN["bare_number"][0],
            GOOD[1], BROKEN["swapped"][0], BROKEN["unknown_sex"][0]]
    path = write_cohort(inputs / "cohort.csv", rows)
    out = tmp_path_factory.mktemp("batch2")
    code = cli.main(["batch", str(path), "--out", str(out), "--workers", "2", "--seed", "7",
                     "--quiet"])
    return code, out


@pytest.fixture(scope="module")
def cluster():
    """A shared 2-worker LocalCluster (the kill and resume tests)."""
    with local_cluster(2) as client:
        yield client


def test_broken_rows_are_reported_and_the_others_complete(batch, capsys):
    code, out = batch
    assert code == 0
    recs = pq.read_table(out / "cohort.parquet").to_pylist()
    assert [r["id"] for r in recs] == ["tube_a", "missing_file", "small_42mm", "bare_number",
                                       "tube_b", "swapped", "unknown_sex"]  # cohort order
    by_id = {r["id"]: r for r in recs}
    for case_id, (_, message) in BROKEN.items():
        r = by_id[case_id]
        assert r["status"] == "failed" and message in r["error"], r["error"]
        assert f"row {r['row']}" in r["error"]
        s = summary(out, case_id)
        assert s["status"] == "failed" and s["error"] == r["error"]
        assert not (out / "cases" / case_id / "result.vtu").exists()
    for case_id in ("tube_a", "tube_b", "small_42mm"):
        r, s = by_id[case_id], summary(out, case_id)
        assert r["status"] == "ok" and r["error"] is None
        assert s["status"] == "ok" and s["cohort"]["inputs_hash"] == r["inputs_hash"]
        for key in ("pws_MPa", "pws99_MPa", "pwri", "max_diameter_mm", "neck_diameter_mm"):
            assert r[key] == s[key] and r[key] > 0, key
        assert r["diameter_rule"] == s["diameter_rule"]["verdict"]
        assert r["wall_time_s"] > 0
        for name in ("result.vtu", "report.html", "wall_stress.png"):
            assert (out / "cases" / case_id / name).stat().st_size > 0
        assert not [p for p in (out / "cases" / case_id).iterdir() if p.name.startswith(".")]
    assert by_id["small_42mm"]["max_diameter_mm"] == pytest.approx(42.0, abs=1.5)
    assert by_id["small_42mm"]["samples"] == 0 and by_id["small_42mm"]["p_rupture"] is None
    a = by_id["tube_a"]
    assert (a["samples"], a["samples_ok"], a["samples_failed"]) == (3, 3, 0)
    assert a["p_rupture"] == 0.0 and 0 < a["p_ci_high"] < 1 and a["pwri_mean"] > 0
    assert a["pwri_p5"] <= a["pwri_p50"] <= a["pwri_p95"]
    prob = summary(out, "tube_a")["rupture_probability"]
    assert prob["n_samples"] == 3 and prob["seed"] == a["case_seed"]
    # the CSV has the same table
    header = (out / "cohort.csv").read_text().splitlines()[0]
    assert header.replace('"', "").split(",") == list(COLUMN_NAMES)
    batch_info = json.loads((out / "batch.json").read_text())
    assert batch_info["status"] == "complete" and batch_info["n_failed"] == 4
    html = (out / "report.html").read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    for text in ("Diameter rule and biomechanical verdict", "PWRI against maximum diameter",
                 "Slowest cases", "does not exist", "give the unit",
                 'href="cases/tube_a/report.html"'):
        assert text in html, text


def test_same_numbers_with_one_and_two_workers(batch, inputs, tmp_path):
    _, out2 = batch
    path = write_cohort(inputs / "cohort_good.csv", GOOD)  # the same rows, fewer of them
    res = run_cohort(path, tmp_path / "out1", workers=1, seed=7, quiet=True)
    assert res.workers == 1 and res.n_ok == 2
    two = {r["id"]: r for r in pq.read_table(out2 / "cohort.parquet").to_pylist()}
    for rec in res.records:
        ref = two[rec["id"]]
        for key in COLUMN_NAMES:
            if key not in NOT_NUMBERS:
                assert rec[key] == ref[key], (rec["id"], key)  # bitwise: == on floats
        assert numbers(summary(tmp_path / "out1", rec["id"])) == numbers(summary(out2, rec["id"]))


def _kill_first_busy_worker(client, state):
    """Wait for a worker to run a case's nominal twin, then SIGKILL its process."""
    pids = client.run(os.getpid)
    deadline = time.time() + 60
    while time.time() < deadline and not state.get("stop"):
        for worker, keys in client.processing().items():
            if any(str(k).startswith("prepare-tube_a") for k in keys):
                time.sleep(1.0)  # well inside the task (numba cache load, mesh, solve)
                os.kill(pids[worker], signal.SIGKILL)
                state["killed"] = pids[worker]
                return
        time.sleep(0.05)


def test_a_killed_worker_is_replaced_and_the_batch_completes(cluster, inputs, tmp_path):
    path = write_cohort(tmp_path / "cohort.csv",
                        [GOOD[0].replace("tube_a.nii.gz", str(inputs / "tube_a.nii.gz")),
                         GOOD[1].replace("tube_b.nii.gz", str(inputs / "tube_b.nii.gz"))])
    state: dict = {}
    killer = threading.Thread(target=_kill_first_busy_worker, args=(cluster, state))
    killer.start()
    try:
        res = run_cohort(path, tmp_path / "out", client=cluster, seed=7, quiet=True)
    finally:
        state["stop"] = True
        killer.join()
    assert "killed" in state, "no worker was killed: the test did not test anything"
    assert res.n_ok == 2, [r["error"] for r in res.records]
    assert state["killed"] not in cluster.run(os.getpid).values()  # a new process took over
    assert all(summary(tmp_path / "out", i)["status"] == "ok" for i in ("tube_a", "tube_b"))


def _wait_idle(client, timeout=60.0):
    """Until no worker runs a task (cancelled tasks run to their end)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not any(client.run(lambda dask_worker: len(dask_worker.state.executing)).values()):
            return
        time.sleep(0.2)
    raise AssertionError("the workers did not become idle")


CASES = 5  # cases in the interrupted batch (see the test)


def test_resume_after_an_interruption_redoes_nothing_finished(cluster, inputs, tmp_path):
    """^C after the first finished case: the batch is marked interrupted, and a resume keeps
    every finished case untouched and redoes the rest. A case that a worker started before
    the cancel reached it still finishes (on a loaded machine all of 3 cases once did), so
    the batch has more cases than the 2 workers can take on in that time."""
    rows = [f"r{k},{inputs / 'tube_a.nii.gz'},male,no,{130 + 5 * k} mmHg,80 mmHg,4 mm,0"
            for k in range(CASES)]
    path = write_cohort(tmp_path / "cohort.csv", rows)
    out = tmp_path / "out"

    def interrupt(rec):
        raise KeyboardInterrupt  # ^C as soon as the first case is done

    with pytest.raises(KeyboardInterrupt):
        run_cohort(path, out, client=cluster, quiet=True, on_case=interrupt)
    _wait_idle(cluster)  # a cancelled task already running still completes its case
    assert json.loads((out / "batch.json").read_text())["status"] == "interrupted"
    assert not (out / "cohort.parquet").exists()  # no table of an unfinished batch
    finished = {}
    for k in range(CASES):
        s = out / "cases" / f"r{k}" / "summary.json"
        if s.exists() and json.loads(s.read_text())["status"] == "ok":
            finished[f"r{k}"] = (s.stat().st_mtime_ns,
                                 (s.parent / "result.vtu").stat().st_mtime_ns)
    assert 1 <= len(finished) < CASES
    res = run_cohort(path, out, client=cluster, resume=True, quiet=True)
    assert res.n_ok == CASES and res.n_resumed == len(finished)
    for rec in res.records:
        assert rec["resumed"] == (rec["id"] in finished)
        if rec["id"] in finished:
            s = out / "cases" / rec["id"] / "summary.json"
            assert (s.stat().st_mtime_ns, (s.parent / "result.vtu").stat().st_mtime_ns) \
                == finished[rec["id"]]  # not rewritten
            assert rec["pwri"] == summary(out, rec["id"])["pwri"]
    # a changed row is redone, the others are not
    write_cohort(path, rows[:-1] + [rows[-1].replace(f"{130 + 5 * (CASES - 1)} mmHg",
                                                     "171 mmHg")])
    res = run_cohort(path, out, client=cluster, resume=True, quiet=True)
    assert [r["resumed"] for r in res.records] == [True] * (CASES - 1) + [False]
    assert res.records[-1]["systolic_mmHg"] == 171.0


def test_a_case_gives_what_biomech_aaa_gives(batch, inputs, tmp_path):
    """The batch's split stages (nominal task, sample tasks, outputs task) reproduce run_aaa
    on the same case, samples included (same per-case seed)."""
    from biomech.aaa.run import run_aaa
    from biomech.cohort.table import read_cohort

    _, out = batch
    (row,) = [r for r in read_cohort(inputs / "cohort.csv", seed=7) if r.id == "tube_a"]
    alone = run_aaa(row.case, tmp_path / "aaa", quiet=True)
    cohort = summary(out, "tube_a")
    cohort.pop("cohort")
    for key in ("pwri_mean", "pwri_sd"):  # the batch's additions
        cohort["rupture_probability"].pop(key)
    a, b = numbers(json.loads(json.dumps(alone))), numbers(cohort)
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, float):
            assert b[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert b[key] == value, key


def test_a_running_scheduler_gives_the_same_numbers(batch, cluster, inputs, tmp_path):
    """--scheduler tcp://…: the same case on an already running cluster (here a local one,
    reached only through its address, as a remote one would be) gives the same numbers."""
    _, out_local = batch
    path = write_cohort(inputs / "one.csv", [GOOD[0]])
    out = tmp_path / "remote"
    address = cluster.scheduler.address
    assert address.startswith("tcp://")
    code = cli.main(["batch", str(path), "--out", str(out), "--scheduler", address, "--seed", "7",
                     "--quiet"])
    assert code == 0
    assert numbers(summary(out, "tube_a")) == numbers(summary(out_local, "tube_a"))
