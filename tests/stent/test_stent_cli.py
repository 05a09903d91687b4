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
])
def test_bench_bad_input_exits_2(tmp_path, capsys, args, message):
    rc = main(["stent", "bench", str(CATALOGUE), *args, "--out", str(tmp_path), "--quiet"])
    assert rc == 2
    assert message in capsys.readouterr().err
