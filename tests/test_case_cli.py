"""Case files, the CLI and the errors a user meets (each names the key, file or value)."""

import json
import textwrap
from pathlib import Path

import meshio
import numpy as np
import pytest

from biomech import analytic
from biomech.case import load_case
from biomech.cli import main
from biomech.errors import BiomechError, CaseError, MaterialError, MeshError, UnitError
from biomech.mesh.generate import tube
from biomech.mesh.io import write_mesh

A, B, MU = 10.0, 12.0, 0.06
CASE = """
[mesh]
file = "tube.vtu"
units = "{units}"

[[material]]
region = "all"
model = "neo-hookean"
mu = "0.06 MPa"
bulk = "60 MPa"

[[fix]]
faces = "xsym"
dofs = ["x"]

[[fix]]
faces = "ysym"
dofs = ["y"]

[[fix]]
faces = {{ plane = {{ point = [0, 0, 0], normal = [0, 0, 1] }} }}
dofs = ["z"]

[[fix]]
faces = "zmax"
dofs = ["z"]

[[pressure]]
faces = {{ cylinder = {{ point = [0, 0, 0], axis = [0, 0, 1], radius = "{radius}" }} }}
value = "{pressure}"

[solver]
steps = 3
"""


def _write_case(tmp: Path, scale: float = 1.0, units: str = "mm", **kw) -> Path:
    mesh = tube(A, B, 2.0, 3, 8, 1, element="hexahedron", sector="quarter")
    mesh.points = mesh.points * scale
    write_mesh(mesh, tmp / "tube.vtu")
    p_kpa = analytic.tube_pressure_neo_hookean(11.0, A, B, MU) * 1e3
    fields = {"units": units, "radius": "10 mm", "pressure": f"{p_kpa:.12g} kPa"}
    fields.update(kw)
    path = tmp / "case.toml"
    path.write_text(CASE.format(**fields))
    return path


def test_cli_solve_writes_documented_outputs(tmp_path):
    case = _write_case(tmp_path)
    assert main(["solve", str(case), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    for key in ("converged", "dofs", "elements", "steps", "newton_iterations", "wall_time_s"):
        assert key in summary
    assert summary["converged"] is True
    for name in ("von_mises", "max_principal_stress"):
        assert set(summary["peak"][name]) >= {"value", "unit", "at"}
        assert summary["peak"][name]["unit"] == "MPa"
    m = meshio.read(out / "result.vtu")
    assert m.cell_data["cauchy_stress"][0].shape[1] == 6
    for name in ("von_mises", "max_principal_stress", "green_lagrange_strain", "J", "region"):
        assert name in m.cell_data
    # the deformed inner radius is the analytic one (plane strain, incompressible limit)
    r = np.hypot(*(m.points[:, :2] + m.point_data["displacement"][:, :2]).T)
    inner = np.isclose(np.hypot(*m.points[:, :2].T), A)
    assert abs(r[inner].mean() - 11.0) < 0.005 * 11.0
    pvd = (out / "result.pvd").read_text()
    assert pvd.count("<DataSet") == summary["steps"]
    assert all((out / f).exists() for f in ["steps/step_000.vtu"])


def test_mesh_in_cm_is_converted(tmp_path):
    """The same tube stored in cm with units = "cm" gives the same answer in mm."""
    case = _write_case(tmp_path, scale=0.1, units="cm")
    result = load_case(case).solve(progress=False)
    inner = np.isclose(np.hypot(*result.model.mesh.points[:, :2].T), A)
    r = np.hypot(*result.deformed_points[inner, :2].T)
    assert abs(r.mean() - 11.0) < 0.005 * 11.0


def test_cli_exit_code_and_message_on_error(tmp_path, capsys):
    case = _write_case(tmp_path, pressure="120 mmHgg")
    assert main(["solve", str(case), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "mmHgg" in err and "pressure" in err


@pytest.mark.parametrize(
    "edit, error, words",
    [
        (lambda t: t.replace('model = "neo-hookean"', 'model = "neo-hooke"'), MaterialError, ["neo-hooke", "known"]),
        (lambda t: t.replace('region = "all"', 'region = "media"'), CaseError, ["media", "material[0]"]),
        (lambda t: t.replace('mu = "0.06 MPa"', 'mu = "0.06 MPaa"'), UnitError, ["mu", "MPaa"]),
        (lambda t: t.replace('mu = "0.06 MPa"', 'mu = "0.06 mm"'), UnitError, ["mu"]),
        (lambda t: t.replace('mu = "0.06 MPa"', 'mue = "0.06 MPa"'), MaterialError, ["mue"]),
        (lambda t: t.replace('bulk = "60 MPa"', ""), MaterialError, ["bulk"]),
        (lambda t: t.replace("steps = 3", "steps = 3\nsteeps = 4"), CaseError, ["steeps"]),
        (lambda t: t.replace('radius = "10 mm"', 'radius = "10 m"'), MeshError, ["pressure"]),
        (lambda t: t.replace('file = "tube.vtu"', 'file = "missing.vtu"'), MeshError, ["missing.vtu"]),
    ],
    ids=["unknown-material", "missing-region", "unknown-unit", "wrong-kind-unit", "unknown-parameter",
         "missing-parameter", "unknown-key", "empty-face-set", "missing-file"],
)
def test_bad_case_gives_one_clear_error(tmp_path, edit, error, words):
    case = _write_case(tmp_path)
    case.write_text(edit(case.read_text()))
    with pytest.raises((error, BiomechError)) as info:
        load_case(case).model.compile()
    msg = str(info.value)
    for w in words:
        assert w in msg, msg


def test_nan_coordinates_rejected(tmp_path):
    case = _write_case(tmp_path)
    m = meshio.read(tmp_path / "tube.vtu")
    m.points[3, 1] = np.nan
    meshio.write(tmp_path / "tube.vtu", m)
    with pytest.raises(MeshError, match="(?i)nan"):
        load_case(case)


def test_empty_mesh_file_rejected(tmp_path):
    case = _write_case(tmp_path)
    (tmp_path / "tube.vtu").write_text("")
    with pytest.raises(MeshError, match="tube.vtu"):
        load_case(case)


def test_inverted_element_rejected(tmp_path):
    case = _write_case(tmp_path)
    m = meshio.read(tmp_path / "tube.vtu")
    hexes = m.cells_dict["hexahedron"].copy()
    hexes[5] = hexes[5][[4, 5, 6, 7, 0, 1, 2, 3]]  # top and bottom swapped: det J < 0
    cells = [(b.type, hexes if b.type == "hexahedron" else b.data) for b in m.cells]
    meshio.write(tmp_path / "tube.vtu", meshio.Mesh(m.points, cells, cell_data=m.cell_data))
    with pytest.raises(MeshError, match="inverted"):
        load_case(case).model.compile()


def test_unknown_top_level_table(tmp_path):
    case = _write_case(tmp_path)
    case.write_text(case.read_text() + "\n[outptu]\nseries = false\n")
    with pytest.raises(CaseError, match="outptu"):
        load_case(case)


def test_case_example_in_readme_parses(tmp_path):
    """The README's case block (with its tube.vtu) loads as written."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    mesh = tube(10.0, 12.0, 5.0, 2, 8, 2, element="hexahedron", sector="full")
    write_mesh(mesh, tmp_path / "tube.vtu")
    (tmp_path / "case.toml").write_text(textwrap.dedent(block))
    model = load_case(tmp_path / "case.toml").model
    assert model.compile().n_dofs == 3 * mesh.n_points


def test_no_convergence_exits_3_and_keeps_last_converged_state(tmp_path, capsys):
    """Past the limit point of a neo-Hookean tube no equilibrium exists: say so, keep the
    last converged state, do not write it as if complete."""
    p_limit = max(analytic.tube_pressure_neo_hookean(a, A, B, MU) for a in np.linspace(A, 40, 400))
    case = _write_case(tmp_path, pressure=f"{2 * p_limit * 1e3:.6g} kPa")
    case.write_text(case.read_text().replace("steps = 3", "steps = 4\nmin_increment = 0.02"))
    out = tmp_path / "out"
    assert main(["solve", str(case), "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "no convergence" in err and "load factor" in err
    assert not (out / "summary.json").exists()
    partial = json.loads((out / "last_converged" / "summary.json").read_text())
    assert partial["converged"] is False
    assert 0.0 < partial["load_factor"] < 1.0
