"""The cohort file: file-level errors stop the batch before any work (exit 2), bad values make
that row a failed case; every message names the row and the column. Seeds and the resume
hash are stable."""

import pytest
from cohort_helpers import HEADER, tube_image, write_cohort

from biomech.cohort import cli
from biomech.cohort.table import CohortError, case_seed, read_cohort

GOOD = "p1,tube.nii.gz,male,no,140 mmHg,85 mmHg,4 mm,"


@pytest.fixture
def folder(tmp_path):
    tube_image(tmp_path / "tube.nii.gz", slices=8)
    return tmp_path


@pytest.mark.parametrize("header, rows, message", [
    ("id,input,sex,family_history,systolic", [GOOD[:-17]], "missing required column(s) ['diastolic']"),
    (HEADER + ",wall_thicknes", [GOOD + ",1 mm"], "unknown column(s) ['wall_thicknes']"),
    ("id,input,sex,sex,family_history,systolic,diastolic", [], "given more than once"),
    (HEADER, [], "no cases, only the header"),
    (HEADER, [GOOD, GOOD], "row 3, column 'id': 'p1' repeats row 2"),
    (HEADER, [",tube.nii.gz,male,no,140 mmHg,85 mmHg,,"], "row 2, column 'id': empty"),
    (HEADER, ["../p1,tube.nii.gz,male,no,140 mmHg,85 mmHg,,"], "row 2, column 'id': '../p1' is not a valid id"),
    (HEADER, [GOOD + ",extra"], "row 2: 9 cells but 8 columns"),
])
def test_file_level_errors_name_row_and_column(folder, header, rows, message):
    path = write_cohort(folder / "c.csv", rows, header=header)
    with pytest.raises(CohortError) as err:
        read_cohort(path)
    assert message in str(err.value)


def test_missing_or_empty_cohort_file(tmp_path):
    with pytest.raises(CohortError, match="does not exist"):
        read_cohort(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("\n# only a comment\n")
    with pytest.raises(CohortError, match="empty"):
        read_cohort(tmp_path / "empty.csv")


@pytest.mark.parametrize("row, message", [
    ("p2,tube.nii.gz,male,no,140,85 mmHg,,", "row 2, column 'systolic': give the unit, e.g. '140 mmHg'"),
    ("p2,tube.nii.gz,male,no,80 mmHg,120 mmHg,,", "row 2: diastolic (120 mmHg) must be below systolic"),
    ("p2,missing.nii.gz,male,no,140 mmHg,85 mmHg,,", "row 2, column 'input': file"),
    ("p2,tube.nii.gz,other,no,140 mmHg,85 mmHg,,", "row 2, column 'sex': sex must be 'male' or 'female'"),
    ("p2,tube.nii.gz,male,maybe,140 mmHg,85 mmHg,,", "row 2, column 'family_history': must be yes or no"),
    ("p2,tube.nii.gz,,no,140 mmHg,85 mmHg,,", "row 2, column 'sex': empty; it is required and never guessed"),
    ("p2,tube.nii.gz,male,no,140 mmHg,85 mmHg,4 parsecs,", "row 2, column 'size'"),
    ("p2,tube.nii.gz,male,no,140 mmHg,85 mmHg,,-1", "row 2, column 'samples': must be >= 0"),
    ("p2,tube.nii.gz,male,no,14 mmHg,10 mmHg,,", "row 2, column 'systolic'"),
])
def test_bad_values_fail_only_their_row(folder, row, message):
    rows = read_cohort(write_cohort(folder / "c.csv", [row, GOOD]))
    bad, good = rows
    assert not bad.ok and message in bad.error, bad.error
    assert good.ok and good.case.size_mm == 4.0 and good.row == 3


def test_values_paths_and_overrides(folder):
    (folder / "sub").mkdir()
    path = write_cohort(folder / "sub" / "c.csv", [
        "a,../tube.nii.gz,Female,Yes,18.7 kPa,85 mmHg,3 mm,2",
        "# a comment line",
        "",
        "b,../tube.nii.gz,male,false,150 mmHg,90 mmHg,,"],
        header=HEADER)
    a, b = read_cohort(path, samples=5, seed=3)
    assert a.case.input == (folder / "tube.nii.gz").resolve()
    assert a.case.sex == "female" and a.case.family_history is True
    assert a.case.systolic_mmHg == pytest.approx(140.26, abs=0.01)
    assert (a.case.size_mm, a.case.samples, b.case.samples) == (3.0, 2, 5)
    assert b.row == 5  # spreadsheet rows: comment and blank lines count
    assert a.case.seed == case_seed(3, "a") and b.case.seed == case_seed(3, "b")


def test_end_sensitivity_column(folder):
    """`end_sensitivity` yes/no switches the second, other-support solve; default yes."""
    path = write_cohort(folder / "e.csv", [
        "a,tube.nii.gz,male,no,140 mmHg,85 mmHg,,no",
        "b,tube.nii.gz,male,no,140 mmHg,85 mmHg,,",
        "c,tube.nii.gz,male,no,140 mmHg,85 mmHg,,maybe"],
        header="id,input,sex,family_history,systolic,diastolic,size,end_sensitivity")
    a, b, c = read_cohort(path)
    assert a.case.end_sensitivity is False and b.case.end_sensitivity is True
    assert not c.ok and "column 'end_sensitivity': must be yes or no" in c.error


def test_case_seed_is_stable_and_keyed():
    assert case_seed(0, "p01") == case_seed(0, "p01")
    assert case_seed(0, "p01") == 6630406280376836385  # not Python's salted hash()
    seeds = {case_seed(s, i) for s in (0, 1) for i in ("p01", "p02", "p1")}
    assert len(seeds) == 6 and all(0 <= s < 2**63 for s in seeds)


def test_inputs_hash_follows_inputs_not_row_order(folder):
    other = "q,tube.nii.gz,female,yes,130 mmHg,80 mmHg,,"
    h1 = {r.id: r.inputs_hash for r in read_cohort(write_cohort(folder / "a.csv", [GOOD, other]))}
    h2 = {r.id: r.inputs_hash for r in read_cohort(write_cohort(folder / "b.csv", [other, GOOD]))}
    assert h1 == h2
    assert read_cohort(folder / "a.csv", seed=1)[0].inputs_hash != h1["p1"]
    assert read_cohort(folder / "a.csv", samples=4)[0].inputs_hash != h1["p1"]
    tube_image(folder / "tube.nii.gz", slices=9)  # the scan changed: redo
    assert read_cohort(folder / "a.csv")[0].inputs_hash != h1["p1"]


def test_cli_exit_codes_for_a_bad_cohort_file(folder, capsys):
    path = write_cohort(folder / "c.csv", [GOOD], header=HEADER.replace("sex,", ""))
    assert cli.main(["batch", str(path), "--out", str(folder / "out")]) == 2
    assert "missing required column(s) ['sex']" in capsys.readouterr().err
    assert not (folder / "out").exists()  # refused before any work
    assert cli.main(["batch", str(path), "--out", str(folder / "out"), "--workers", "0"]) == 1
