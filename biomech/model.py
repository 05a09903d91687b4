"""The public modelling API: a mesh, materials on regions, loads and constraints on faces.

    model = Model(read_mesh("tube.vtu"))
    model.add_material("all", "neo-hookean", mu="0.06 MPa", bulk="60 MPa")
    model.fix({"plane": {"point": [0, 0, 0], "normal": [0, 0, 1]}}, dofs="z")
    model.add_pressure("inner", "120 mmHg")
    result = model.solve(steps=10)

Quantities are numbers in mm / MPa or strings with units; the case file is a thin layer
over this class.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from biomech.errors import CaseError, ConvergenceError, MaterialError
from biomech.fem.elements import element
from biomech.fem.linear import make_linear_solver
from biomech.fem.newton import NewtonOptions, solve_incremental
from biomech.fem.problem import PressureBlock, Problem, SolidBlock
from biomech.materials import MAX_PARAMS, get_material
from biomech.mesh.core import Mesh
from biomech.mesh.quality import assert_valid
from biomech.mesh.select import select_faces
from biomech.units import parse_quantity

_DOF = {"x": 0, "y": 1, "z": 2}


@dataclass
class MaterialAssignment:
    region: str | int
    resolved: Any  # biomech.materials.ResolvedMaterial
    axis: tuple[np.ndarray, np.ndarray] | None = None
    fibre: np.ndarray | None = None
    sheet: np.ndarray | None = None


@dataclass
class Constraint:
    selector: Any
    dofs: tuple[int, ...]
    values: tuple[float, ...] | Callable  # mm at load factor 1, or f(points) -> (n, ndofs)


@dataclass
class Pressure:
    selector: Any
    value: float  # MPa


@dataclass
class Traction:
    selector: Any
    vector: np.ndarray  # MPa per reference area, or N in total when ``total``
    total: bool


@dataclass
class Spring:
    selector: Any
    stiffness: float  # N/mm³ (MPa per mm of displacement)
    dofs: tuple[int, ...]


@dataclass
class Model:
    """A boundary-value problem on a tagged mesh (mm, N, MPa)."""

    mesh: Mesh
    materials: list[MaterialAssignment] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    pressures: list[Pressure] = field(default_factory=list)
    springs: list[Spring] = field(default_factory=list)
    tractions: list[Traction] = field(default_factory=list)

    # --- building -----------------------------------------------------------------------
    def add_material(
        self,
        region: str | int,
        model: str,
        *,
        axis: dict | None = None,
        fibre: Sequence[float] | None = None,
        sheet: Sequence[float] | None = None,
        key: str = "material",
        **parameters: Any,
    ) -> "Model":
        """Assign a material to a region ("all", a tag or a name); parameters with units."""
        spec = get_material(model)
        kinds = {p.name: p.kind for p in spec.parameters}
        kinds.setdefault("nu", "dimensionless")
        values = {}
        for name, value in parameters.items():
            if name not in kinds:
                valid = ", ".join(sorted(kinds))
                raise MaterialError(
                    f"{key}: unknown parameter {name!r} for material {model!r}; valid: {valid}"
                )
            values[name] = parse_quantity(value, kinds[name], key=f"{key}.{name}")
        if region != "all":
            try:
                self.mesh.region_tag(region)
            except KeyError as exc:
                raise CaseError(f"{key}: {exc.args[0]}") from None
        assignment = MaterialAssignment(region, spec.resolve(values))
        if axis is not None:
            assignment.axis = _parse_axis(axis, f"{key}.axis")
        if fibre is not None:
            assignment.fibre = _unit_vector(fibre, f"{key}.fibre")
        if sheet is not None:
            assignment.sheet = _unit_vector(sheet, f"{key}.sheet")
        self.materials.append(assignment)
        return self

    def fix(
        self,
        faces: Any,
        dofs: str | Sequence[str] = ("x", "y", "z"),
        value: Any = None,
    ) -> "Model":
        """Fix (value None) or prescribe displacements reached at load factor 1: one value
        (mm) for all dofs, one per dof, or a function of the node coordinates (n, 3) mm
        returning (n, len(dofs)) displacements in mm."""
        names = [dofs] if isinstance(dofs, str) else list(dofs)
        bad = [d for d in names if d not in _DOF]
        if bad or not names:
            raise CaseError(f"fix: dofs must be among 'x', 'y', 'z', got {names}")
        if callable(value):
            self.constraints.append(Constraint(faces, tuple(_DOF[d] for d in names), value))
            return self
        if value is None:
            vals = [0.0] * len(names)
        else:
            raw = list(value) if isinstance(value, (list, tuple)) else [value] * len(names)
            if len(raw) != len(names):
                raise CaseError(f"fix: {len(raw)} values for {len(names)} dofs {names}")
            vals = [parse_quantity(v, "length", key="fix.value") for v in raw]
        self.constraints.append(Constraint(faces, tuple(_DOF[d] for d in names), tuple(vals)))
        return self

    def add_pressure(self, faces: Any, value: Any) -> "Model":
        """Follower pressure pushing into the solid (traction -p n on the deformed surface)."""
        self.pressures.append(Pressure(faces, parse_quantity(value, "pressure", key="pressure.value")))
        return self

    def add_traction(
        self, faces: Any, traction: Sequence[Any] | None = None, *, force: Sequence[Any] | None = None
    ) -> "Model":
        """Dead load on faces: ``traction`` (MPa per reference area) or a total ``force`` (N)
        spread uniformly over the faces' reference area; fixed direction, scaled by the load factor."""
        if (traction is None) == (force is None):
            raise CaseError("traction: give exactly one of traction = [tx, ty, tz] (MPa) or force = [Fx, Fy, Fz] (N)")
        raw = traction if traction is not None else force
        if not isinstance(raw, (list, tuple)) or len(raw) != 3:
            raise CaseError(f"traction: expected three components, got {raw!r}")
        kind = "stress" if traction is not None else "force"
        vec = np.array([parse_quantity(v, kind, key=f"traction.{kind}") for v in raw])
        self.tractions.append(Traction(faces, vec, force is not None))
        return self

    def add_spring(self, faces: Any, stiffness: Any, dofs: Sequence[str] = ("x", "y", "z")) -> "Model":
        """Elastic ground support: traction -k u on the faces (k in N/mm³ = MPa/mm)."""
        k = parse_quantity(stiffness, "stiffness_density", key="spring.stiffness")
        self.springs.append(Spring(faces, k, tuple(_DOF[d] for d in dofs)))
        return self

    # --- compiling and solving -----------------------------------------------------------
    def compile(self) -> Problem:
        """Arrays for the kernels: per-element material data, loads and constraints."""
        if not self.materials:
            raise CaseError("the model has no material: add at least one (region 'all' covers every cell)")
        if not getattr(self.mesh, "_validated", False):
            assert_valid(self.mesh)  # inverted cells (quadrature points and corners); wedge order
            self.mesh._validated = True
        solids = [self._solid_block(i) for i in range(len(self.mesh.blocks))]
        n = self.mesh.n_points
        constrained = np.zeros(3 * n, dtype=bool)
        prescribed = np.zeros(3 * n)
        for c in self.constraints:
            nodes = self._nodes(c.selector, "fix")
            if callable(c.values):
                vals = np.asarray(c.values(self.mesh.points[nodes]), dtype=float)
                vals = vals.reshape(len(nodes), len(c.dofs))
                if not np.isfinite(vals).all():
                    raise CaseError("fix: the displacement function returned non-finite values")
            else:
                vals = np.broadcast_to(np.asarray(c.values, dtype=float), (len(nodes), len(c.dofs)))
            for k, d in enumerate(c.dofs):
                constrained[3 * nodes + d] = True
                prescribed[3 * nodes + d] = vals[:, k]
        pressures = []
        for p in self.pressures:
            for ftype, conn in select_faces(self.mesh, p.selector, name="pressure").items():
                pressures.append(PressureBlock(ftype, conn, np.full(len(conn), p.value)))
        springs = np.zeros(3 * n)
        for s in self.springs:
            area = self._nodal_area(s.selector)
            for d in s.dofs:
                springs[d::3] += s.stiffness * area
        dead = np.zeros(3 * n)
        for t in self.tractions:
            area = self._nodal_area(t.selector)
            scale = 1.0 / area.sum() if t.total else 1.0
            for d in range(3):
                dead[d::3] += t.vector[d] * scale * area
        used = np.zeros(n, dtype=bool)
        for b in self.mesh.blocks:
            used[b.conn.ravel()] = True
        unused = np.repeat(~used, 3)
        constrained |= unused  # nodes of no element carry no stiffness
        return Problem(self.mesh.points, solids, pressures, constrained, prescribed, springs, dead)

    def solve(
        self,
        steps: int = 10,
        *,
        linear_solver: str = "auto",
        options: NewtonOptions | None = None,
        progress: bool | Callable[[float], None] | None = None,
    ) -> "Result":
        """Solve the static equilibrium from load factor 0 to 1; return a Result."""
        from biomech.results import Result, progress_callback

        t0 = time.perf_counter()
        problem = self.compile()
        opts = options or NewtonOptions(steps=steps)
        solver = make_linear_solver(
            linear_solver, n_dofs=problem.n_dofs, symmetric=True, coordinates=self.mesh.points
        )
        callback, close = progress_callback(progress)
        try:
            newton = solve_incremental(problem, solver, opts, progress=callback)
        except ConvergenceError as exc:
            partial = exc.result
            exc.result = None
            if partial is not None and partial.steps:  # the last converged state, with stresses
                exc.result = Result.from_solution(
                    self, problem, partial, time.perf_counter() - t0, solver
                )
            raise
        finally:
            close()
            solver.release()
        return Result.from_solution(self, problem, newton, time.perf_counter() - t0, solver)

    # --- helpers ---------------------------------------------------------------------------
    def _solid_block(self, index: int) -> SolidBlock:
        block = self.mesh.blocks[index]
        ne = len(block.conn)
        model_id = -np.ones(ne, dtype=np.int64)
        params = np.zeros((ne, MAX_PARAMS))
        bulk = np.zeros(ne)
        basis = np.broadcast_to(np.eye(3), (ne, 3, 3)).copy()
        for k, m in enumerate(self.materials):
            mask = (
                np.ones(ne, dtype=bool)
                if m.region == "all"
                else block.region == self.mesh.region_tag(m.region)
            )
            if not mask.any():
                continue
            model_id[mask] = m.resolved.spec.model_id
            params[mask] = m.resolved.params
            bulk[mask] = m.resolved.bulk
            if m.resolved.spec.basis != "none":
                basis[mask] = self._basis(index, mask, m, k)
        if (model_id < 0).any():
            tags = np.unique(block.region[model_id < 0])
            raise CaseError(
                f"{int((model_id < 0).sum())} {block.type} cells in region(s) {tags.tolist()} have "
                "no material; add a [[material]] for them or use region = \"all\""
            )
        element(block.type)  # unsupported types raise here
        return SolidBlock(block.type, block.conn, model_id, params, basis, bulk)

    def _basis(self, index: int, mask: np.ndarray, m: MaterialAssignment, k: int) -> np.ndarray:
        block = self.mesh.blocks[index]
        centroids = self.mesh.points[block.conn[mask]].mean(axis=1)
        if m.resolved.spec.basis == "fibre-sheet" and m.fibre is not None:
            sheet = m.sheet if m.sheet is not None else _orthogonal(m.fibre)
            sheet = sheet - (sheet @ m.fibre) * m.fibre
            sheet /= np.linalg.norm(sheet)
            b = np.stack([m.fibre, sheet, np.cross(m.fibre, sheet)])
            return np.broadcast_to(b, (len(centroids), 3, 3))
        if m.axis is not None:
            return vessel_basis(centroids, *m.axis)
        stored = self.mesh.cell_data.get("basis")
        if stored is not None:
            return np.asarray(stored[index])[mask].reshape(-1, 3, 3)
        need = "fibre = [...] (and sheet)" if m.resolved.spec.basis == "fibre-sheet" else "axis = {point, direction}"
        raise CaseError(
            f"material[{k}] ({m.resolved.spec.name}) on region {m.region!r} needs a local basis: "
            f"give {need}, or a mesh with cell data 'basis'"
        )

    def _nodes(self, selector: Any, what: str) -> np.ndarray:
        faces = select_faces(self.mesh, selector, name=what)
        return np.unique(np.concatenate([c.ravel() for c in faces.values()]))

    def _nodal_area(self, selector: Any) -> np.ndarray:
        from biomech.fem.surface import face_nodal_areas

        area = np.zeros(self.mesh.n_points)
        for ftype, conn in select_faces(self.mesh, selector, name="spring").items():
            N, dN, w = element(ftype).tabulate()
            face_nodal_areas(self.mesh.points, conn, N, dN, w, area)
        return area


def vessel_basis(centroids: np.ndarray, point: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Rows (circumferential, axial, radial) around a straight axis, per centroid."""
    axial = direction / np.linalg.norm(direction)
    r = centroids - point
    r -= (r @ axial)[:, None] * axial
    norm = np.linalg.norm(r, axis=1)
    if (norm < 1e-12).any():
        raise CaseError("a cell centroid lies on the fibre axis: the radial direction is undefined there")
    radial = r / norm[:, None]
    circ = np.cross(axial, radial)
    return np.stack([circ, np.broadcast_to(axial, circ.shape), radial], axis=1)


def _parse_axis(axis: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(axis, dict) or set(axis) - {"point", "direction"} or "direction" not in axis:
        raise CaseError(f"{key} must be a table {{ point = [x, y, z], direction = [x, y, z] }}")
    point = np.array(
        [parse_quantity(v, "length", key=f"{key}.point") for v in axis.get("point", [0, 0, 0])]
    )
    return point, _unit_vector(axis["direction"], f"{key}.direction")


def _unit_vector(v: Sequence[float], key: str) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.shape != (3,) or not np.isfinite(a).all() or np.linalg.norm(a) == 0:
        raise CaseError(f"{key} must be a non-zero 3-vector, got {v!r}")
    return a / np.linalg.norm(a)


def _orthogonal(v: np.ndarray) -> np.ndarray:
    t = np.array([1.0, 0, 0]) if abs(v[0]) < 0.9 else np.array([0, 1.0, 0])
    return np.cross(v, t) / np.linalg.norm(np.cross(v, t))
