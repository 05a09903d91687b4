"""Smoke test of the `biomech bench` machinery at ~3k DOF (HEX8, no felupe), via its
subprocess worker, with a hard timeout; checks the documented record keys and values."""

from __future__ import annotations

import json
import math

import pytest

from biomech import bench

TIMEOUT_S = 55  # the worker subprocess is killed after this (recorded as "timeout")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    rep = bench.run_bench([3000], ["hexahedron"], felupe=False, out=out, timeout_s=TIMEOUT_S, quiet=True)
    return rep, json.loads((out / "bench.json").read_text())


def test_json_written_and_matches_return(report):
    rep, on_disk = report
    assert set(on_disk) == {"meta", "case", "cases"}
    assert on_disk["cases"] == json.loads(json.dumps(rep["cases"], default=str))
    case = on_disk["case"]
    assert case["k_over_mu"] == pytest.approx(1000.0)
    assert case["load_steps"] == bench.LOAD_STEPS
    assert 10.0 < case["inner_radius_exact_mm"] < 12.0


def test_record_has_documented_keys_and_sensible_values(report):
    _, on_disk = report
    (rec,) = on_disk["cases"]
    assert set(bench.RECORD_KEYS) <= set(rec)
    assert rec["status"] == "ok", rec.get("error")
    assert rec["tool"] == "biomech" and rec["element"] == "hexahedron"
    assert rec["converged"] is True
    assert abs(rec["dofs"] - 3000) / 3000 < 0.2
    assert rec["dofs"] == 3 * rec["nodes"] and rec["elements"] > 0
    assert rec["load_steps"] == bench.LOAD_STEPS
    assert bench.LOAD_STEPS <= rec["newton_iterations"] <= 10 * bench.LOAD_STEPS
    for key in ("warmup_s", "mesh_s", "compile_s", "assemble_s", "assemble_residual_s",
                "solve_wall_s", "total_s", "factorize_s", "wall_s"):
        assert rec[key] is not None and math.isfinite(rec[key]) and rec[key] >= 0, key
    assert rec["assemble_residual_s"] <= 2 * rec["assemble_s"]
    assert rec["assemble_dofs_per_s"] == pytest.approx(rec["dofs"] / rec["assemble_s"])
    assert rec["linear_solver"] in ("pardiso", "amg", "superlu")
    assert 0 < rec["peak_rss_gb"] < 4
    assert rec["threads"]["NUMBA_NUM_THREADS"] is not None
    # accuracy: Q1P0 at k/mu = 1000 on this coarse mesh is within 1 % of the radial
    # displacement of the incompressible closed form (compressibility alone ~1e-3)
    assert abs(rec["radial_displacement_rel_error"]) < 1e-2
    assert rec["inner_radius_spread_mm"] < 1e-6  # uniform dilation (plane strain, symmetry)


def test_table_lists_the_case(report):
    rep, _ = report
    table = bench.format_table(rep["cases"])
    assert "hexahedron" in table and "biomech" in table


def test_felupe_tetra_recorded_unsupported_without_import():
    rec = bench.run_felupe_case({"element": "tetra10", "target_dofs": 3000})
    assert rec["status"] == "unsupported" and "tetra" in rec["error"]


def test_beam_bench_times_the_braid_and_the_stent_graft(tmp_path):
    """`biomech bench --beams` writes its records: both devices, 6 DOF per node, times
    recorded (their values are the bench's to report, not a test's to judge)."""
    import json

    from biomech import cli

    assert cli.main(["bench", "--beams", "--out", str(tmp_path)]) == 0
    rec = json.loads((tmp_path / "bench_beams.json").read_text())
    rows = {r["device"]: r for r in rec["devices"]}
    assert set(rows) == {"braid-48", "SG28+fabric"}
    for r in rows.values():
        assert r["dof"] == 6 * r["nodes"]
        assert r["forces_ms"] > 0.0 and r["tangent_ms"] > 0.0
    assert rows["SG28+fabric"]["membranes"] > 0 and rows["braid-48"]["membranes"] == 0
