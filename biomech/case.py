"""TOML case files: a thin layer that builds a Model; every key is checked.

Paths are relative to the case file; quantities are strings with units or bare numbers
in mm / MPa (see ``biomech.units``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from biomech.errors import BiomechError, CaseError
from biomech.fem.newton import NewtonOptions
from biomech.model import Model

_TOP = {"mesh", "material", "fix", "pressure", "traction", "spring", "solver", "output"}
_MESH = {"file", "units"}
_MATERIAL_COMMON = {"region", "model", "axis", "fibre", "sheet"}
_FIX = {"faces", "dofs", "value"}
_PRESSURE = {"faces", "value"}
_SPRING = {"faces", "stiffness", "dofs"}
_TRACTION = {"faces", "traction", "force"}
_SOLVER = {
    "steps", "linear_solver", "max_iterations", "rtol", "etol", "atol", "line_search",
    "min_increment", "max_increment", "method", "max_updates",
}
_OUTPUT = {"series"}


@dataclass
class Case:
    """A parsed case: the model, solver settings and output options."""

    model: Model
    path: Path
    steps: int = 10
    linear_solver: str = "auto"
    options: NewtonOptions = field(default_factory=NewtonOptions)
    series: bool = True

    def solve(self, progress=None):
        return self.model.solve(
            self.steps, linear_solver=self.linear_solver, options=self.options, progress=progress
        )


def load_case(path: str | Path) -> Case:
    """Parse and validate a case file; errors name the file and key."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CaseError(f"cannot read case file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{path}: not valid TOML: {exc}") from None
    try:
        return _build(data, path)
    except BiomechError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}: {exc}") from None


def _build(data: dict, path: Path) -> Case:
    from biomech.mesh.io import read_mesh

    _check_keys(data, _TOP, "top level")
    mesh_t = _table(data, "mesh", required=True)
    _check_keys(mesh_t, _MESH, "[mesh]")
    if "file" not in mesh_t:
        raise CaseError("[mesh] needs file = \"...\" (relative to the case file)")
    mesh = read_mesh(path.parent / mesh_t["file"], units=mesh_t.get("units", "mm"))
    model = Model(mesh)
    materials = _array(data, "material")
    if not materials:
        raise CaseError("no [[material]] given; add one, e.g. region = \"all\", model = \"neo-hookean\"")
    for k, m in enumerate(materials):
        key = f"material[{k}]"
        if "model" not in m:
            raise CaseError(f"{key} needs model = \"...\"")
        extra = {n: v for n, v in m.items() if n not in _MATERIAL_COMMON}
        model.add_material(
            m.get("region", "all"), m["model"], axis=m.get("axis"), fibre=m.get("fibre"),
            sheet=m.get("sheet"), key=key, **extra,
        )
    for k, f in enumerate(_array(data, "fix")):
        _check_keys(f, _FIX, f"fix[{k}]")
        _need(f, "faces", f"fix[{k}]")
        model.fix(f["faces"], f.get("dofs", ("x", "y", "z")), f.get("value"))
    for k, p in enumerate(_array(data, "pressure")):
        _check_keys(p, _PRESSURE, f"pressure[{k}]")
        _need(p, "faces", f"pressure[{k}]")
        _need(p, "value", f"pressure[{k}]")
        model.add_pressure(p["faces"], p["value"])
    for k, t in enumerate(_array(data, "traction")):
        _check_keys(t, _TRACTION, f"traction[{k}]")
        _need(t, "faces", f"traction[{k}]")
        model.add_traction(t["faces"], t.get("traction"), force=t.get("force"))
    for k, s in enumerate(_array(data, "spring")):
        _check_keys(s, _SPRING, f"spring[{k}]")
        _need(s, "faces", f"spring[{k}]")
        _need(s, "stiffness", f"spring[{k}]")
        model.add_spring(s["faces"], s["stiffness"], s.get("dofs", ("x", "y", "z")))
    solver = _table(data, "solver")
    _check_keys(solver, _SOLVER, "[solver]")
    steps = int(solver.get("steps", 10))
    if steps < 1:
        raise CaseError("[solver] steps must be >= 1")
    opts = NewtonOptions(steps=steps)
    for name in _SOLVER - {"steps", "linear_solver"}:
        if name in solver:
            setattr(opts, name, type(getattr(opts, name))(solver[name]))
    if opts.method not in ("auto", "newton", "bfgs"):
        raise CaseError(f"[solver] method must be \"auto\", \"newton\" or \"bfgs\", got {opts.method!r}")
    output = _table(data, "output")
    _check_keys(output, _OUTPUT, "[output]")
    return Case(
        model, path, steps, str(solver.get("linear_solver", "auto")), opts,
        bool(output.get("series", True)),
    )


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CaseError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _need(table: dict, key: str, where: str) -> None:
    if key not in table:
        raise CaseError(f"{where} needs {key} = ...")


def _table(data: dict, key: str, required: bool = False) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise CaseError(f"missing [{key}] table")
        return {}
    if not isinstance(value, dict):
        raise CaseError(f"[{key}] must be a table")
    return value


def _array(data: dict, key: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise CaseError(f"[[{key}]] must be an array of tables")
    return value
