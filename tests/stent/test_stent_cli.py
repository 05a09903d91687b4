"""`biomech stent bench`: outputs and clear refusals."""

import csv
import json
from pathlib import Path

import pytest

from biomech.cli import main

CATALOGUE = Path(__file__).resolve().parents[2] / "examples" / "stents" / "devices.toml"


def test_bench_writes_curve_plot_and_summary(tmp_path):
    rc = main(["stent", "bench", str(CATALOGUE), "--device", "Z28", "--to", "24 mm",
               "--out", str(tmp_path), "--steps", "3", "--quiet"])
    assert rc == 0
    rows = list(csv.DictReader((tmp_path / "radial_force.csv").read_text().splitlines()))
    assert rows[0]["phase"] == "crimp" and rows[-1]["phase"] == "release"
    assert (tmp_path / "radial_force.png").stat().st_size > 1000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["crimp_diameter_mm"] == 24.0 and summary["max_radial_force_N"] > 0


@pytest.mark.parametrize("args, message", [
    (["--device", "Z29", "--to", "24 mm"], "Z28"),          # unknown device: suggests the close name
    (["--device", "Z28", "--to", "24"], "unit"),            # bare number
    (["--device", "Z28", "--to", "30 mm"], "outer diameter"),
    (["--device", "Z28", "--to", "24 mm", "--steps", "0"], "--steps 0: must be at least 1"),
])
def test_bench_bad_input_exits_2(tmp_path, capsys, args, message):
    rc = main(["stent", "bench", str(CATALOGUE), *args, "--out", str(tmp_path), "--quiet"])
    assert rc == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("text, share", [
    ("0 %", 0.0), ("30 %", 0.3), ("42 mmHg", 0.3), ("5.6 kPa", 5.6 / 140 / 0.133322),
])
def test_sac_pressure_is_a_share_of_the_lumen_pressure(text, share):
    """--sac-pressure: a percentage of the lumen pressure, or a pressure at systole divided
    by the systolic pressure (140 mmHg here; 1 mmHg = 0.133322 kPa)."""
    from biomech.stent.run import parse_sac_pressure

    assert parse_sac_pressure(text, 140.0) == pytest.approx(share, rel=1e-5)


@pytest.mark.parametrize("text, message", [
    ("30", "ambiguous"),            # a bare number: percent or mmHg?
    ("100 %", "up to, not at"),     # a sac at the full pressure is not excluded
    ("150 mmHg", "up to, not at"),  # above systolic
    ("-5 %", "up to, not at"),
    ("thirty %", "percentage"),
    ("30 mm", "unit"),              # a length
])
def test_sac_pressure_refuses_what_is_ambiguous_or_out_of_range(text, message):
    from biomech.errors import CaseError
    from biomech.stent.run import parse_sac_pressure
    from biomech.units import UnitError

    with pytest.raises((CaseError, UnitError), match=message):
        parse_sac_pressure(text, 140.0)


def test_deploy_refuses_a_landing_beyond_the_vessel_before_solving_its_twin(tmp_path, capsys):
    """The shipped patient's centreline runs ~101 mm: "500 mm" is refused from the measured
    centreline (before the twin is solved), and nothing is written."""
    patient = CATALOGUE.parents[2] / "meshes" / "aaa_small_42mm.nii.gz"
    out = tmp_path / "out"
    rc = main(["stent", "deploy", str(patient), "--catalogue", str(CATALOGUE), "--device",
               "SG28", "--landing", "500 mm", "--out", str(out), "--quiet"])
    assert rc == 2
    assert "lies beyond the vessel (its centreline runs" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
