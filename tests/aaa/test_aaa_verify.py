"""`biomech aaa --verify`: the three-grid study runs the whole pipeline on each grid and its
GCI block is Celik's procedure applied to the three reported values (slow tier)."""

import math
import sys
from pathlib import Path

import pytest

from biomech.aaa.gci import grid_convergence
from biomech.aaa.run import VERIFY_RATIO, AAACase, run_aaa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cohort"))
from cohort_helpers import tube_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("verify")
    case = AAACase(tube_image(tmp / "tube.nii.gz", slices=50), 140.0, 85.0, "female", False,
                   size_mm=2.0, verify=True, end_sensitivity=False)
    return run_aaa(case, tmp / "out", quiet=True, report=False)


def test_three_grids_fine_to_coarse_with_the_nominal_twin_first(verified):
    v = verified["verification"]
    assert v["element_sizes_mm"] == pytest.approx([2.0, 2.0 * VERIFY_RATIO, 2.0 * VERIFY_RATIO**2])
    cells = v["wall_cells"]
    assert cells[0] > cells[1] > cells[2]  # finer grids have more wall cells
    for key in ("pws_MPa", "pws99_MPa", "pwri"):
        assert v["quantities"][key]["values"][0] == verified[key]  # the fine grid is the twin


def test_gci_block_is_celiks_procedure_on_the_reported_values(verified):
    v = verified["verification"]
    passed = []
    for q in v["quantities"].values():
        ref = grid_convergence(q["values"], n_cells=v["wall_cells"], dim=2)
        assert q["convergence"] == ref.convergence
        for field in ("p", "gci_fine", "r21", "r32"):
            a, b = q[field], getattr(ref, field)
            if a is None:  # summary.json has no NaN or inf: null
                assert not math.isfinite(b), field
            else:
                assert a == pytest.approx(b, rel=1e-12), field
        ok = ref.convergence == "monotonic" and ref.gci_fine <= v["tolerance"]
        assert q["passed"] is ok
        passed.append(ok)
    assert v["pass"] is all(passed)
    failed = any("calculation verification failed" in w for w in verified["warnings"])
    assert failed is (not all(passed))
