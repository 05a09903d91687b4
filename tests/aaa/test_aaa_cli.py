"""`biomech aaa` input checking: units, pressures, patient covariates (fast, no solve)."""

import pytest

from biomech.aaa.run import AAACase, parse_pressure_mmHg
from biomech.aaa.twin import Mechanics
from biomech.cli import main
from biomech.errors import CaseError, UnitError

CASE = "meshes/aaa_fusiform_55mm.nii.gz"


def _run(tmp_path, capsys, *extra):
    args = ["aaa", CASE, "--out", str(tmp_path / "out"), "--quiet", *extra]
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--systolic", "140", "--diastolic", "85 mmHg", "--sex", "male", "--family-history", "no"],
     "unit is missing"),
    (["--systolic", "140 MPa", "--diastolic", "85 mmHg", "--sex", "male", "--family-history", "no"],
     "outside 20–300 mmHg"),
    (["--systolic", "140 mmHg", "--diastolic", "85 mm", "--sex", "male", "--family-history", "no"],
     "diastolic"),
    (["--systolic", "80 mmHg", "--diastolic", "120 mmHg", "--sex", "male", "--family-history", "no"],
     "swapped"),
    (["--systolic", "140 mmHg", "--diastolic", "85 mmHg", "--family-history", "no"],
     "--sex male|female is required"),
    (["--systolic", "140 mmHg", "--diastolic", "85 mmHg", "--sex", "male"],
     "--family-history yes|no is required"),
    (["--systolic", "140 mmHg", "--diastolic", "85 mmHg", "--sex", "m", "--family-history", "no"],
     "sex must be 'male' or 'female'"),
    (["--systolic", "140 mmHg", "--diastolic", "85 mmHg", "--sex", "male", "--family-history", "maybe"],
     "--family-history must be yes or no"),
    (["--systolic", "140 mmHg", "--diastolic", "85 mmHg", "--sex", "male", "--family-history", "no",
      "--wall-thickness", "1.5 cm"], "wall thickness 15 mm"),
])
def test_bad_input_is_refused_before_any_work(tmp_path, capsys, extra, message):
    code, err = _run(tmp_path, capsys, *extra)
    assert code == 2
    assert message in err
    assert not (tmp_path / "out" / "summary.json").exists()


def test_pressures_accept_clinical_units():
    assert parse_pressure_mmHg("140 mmHg", "s") == pytest.approx(140.0)
    assert parse_pressure_mmHg("18.665 kPa", "s") == pytest.approx(140.0, rel=1e-4)
    with pytest.raises(CaseError, match="bare number"):
        parse_pressure_mmHg(140, "s")
    with pytest.raises(UnitError):
        parse_pressure_mmHg("140 mm", "s")


def test_imaging_pressure_choices():
    case = AAACase(CASE, 120.0, 84.0, "female", True, imaging_pressure="mean")
    assert case.imaging_mmHg == pytest.approx(84.0 + 36.0 / 3)
    assert AAACase(CASE, 120.0, 84.0, "female", True).imaging_mmHg == 84.0
    with pytest.raises(CaseError, match="imaging pressure"):
        AAACase(CASE, 120.0, 84.0, "female", True, imaging_pressure="peak")


def test_mechanics_defaults_are_the_published_ones():
    wall = Mechanics().wall()
    assert wall["alpha"] == 0.174 and wall["beta"] == 1.881  # 17.4 / 188.1 N/cm²
    assert wall["bulk"] == pytest.approx(100 * 2 * 0.174)
    with pytest.raises(CaseError, match="unknown raghavan-vorp parameter"):
        Mechanics(wall_params={"mu": 1.0})
    with pytest.raises(CaseError, match="ends must be"):
        Mechanics(ends="glued")
