"""``biomech bench``: the issue's performance bar, timed case by case (not a test).

The case
--------
Quarter of a thick tube, A = 10 mm, B = 12 mm, L = 20 mm
(:func:`biomech.mesh.generate.quarter_tube_for_bench`), nearly incompressible neo-Hookean
(uncoupled, ``"neo-hookean"``) with μ = 0.06 MPa and k = 60 MPa (k/μ = 1000), 30 mmHg
follower pressure on the inner surface, symmetry (u_x = 0 on ``xsym``, u_y = 0 on
``ysym``), plane strain (u_z = 0 on ``zmin`` and ``zmax``), 10 equal load steps. The issue
gives only k/μ and the pressure; μ = 0.06 MPa opens the inner radius by 14.3 % (analytic,
incompressible), a moderate dilation well inside the range where Newton converges in
a few iterations per step (μ = 0.02 MPa would put 30 mmHg beyond the pressure the
tube can carry up to a = 3A). Accuracy is the deformed inner radius against the
closed-form incompressible plane-strain solution
(:func:`biomech.analytic.tube_pressure_neo_hookean`, :func:`biomech.analytic.inner_radius`);
with k/μ = 1000 the compressibility itself accounts for a relative error of order 1e-3 of
the radial displacement.

The bar (FEBio 4.11, PARDISO, BFGS, 10 steps, this kind of 2-core machine): ≈ 48 s at
107k DOF HEX8, ≈ 195 s at 317k DOF HEX8, ≈ 56 s at 107k DOF TET10.

How
---
Every (tool, element, size) case runs in its own Python subprocess
(``python -m biomech.bench --worker SPEC RECORD``), so that its peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``) is its own, a crash or the out-of-memory killer
takes only that case, and a per-case timeout (default :data:`DEFAULT_TIMEOUT_S`) can kill
it. Inside, the kernels are first warmed up on a tiny model (numba compile or cache load,
PARDISO's library load), timed separately as ``warmup_s``. The worker rewrites its
record file after every phase, so a case that times out still reports how far it got
(``phase``) and the figures it had measured. Thread counts: ``NUMBA_NUM_THREADS``,
``MKL_NUM_THREADS`` and ``OMP_NUM_THREADS`` are 2 unless set in the environment;
``OPENBLAS_NUM_THREADS`` is left to each tool's default unless set (biomech runs numpy's
OpenBLAS on one thread inside its solver loops, :func:`biomech.threads.serial_numpy_blas`;
felupe gets OpenBLAS's own default, all cores).

felupe (GPL-3, optional: ``pip install felupe``; imported only inside its worker) solves
the same mesh (nodes and cells converted to a ``felupe.Mesh``), BCs and load steps with its
own Newton (``felupe.Job``/``Step``, default tolerance), threaded assembly
(``parallel=True``) and PyPardiso. A felupe *variant* is "formulation/solver"
(``run_bench(felupe_variants=...)`` or env ``BIOMECH_BENCH_FELUPE``, comma separated; each
variant is its own case). Formulations:

``"mixed"``      ``FieldsMixed(region, n=3)`` (u, p, J̄ with cell-constant p, J̄ on hexahedra:
                 the same Q1P0 element as biomech's mean dilatation) and
                 ``NearlyIncompressible(NeoHooke(mu), bulk)`` with biomech's volumetric
                 energy U = k/4 (J̄² − 1 − 2 ln J̄) passed as ``dUdJ``/``d2UdJdJ``; p and J̄
                 are global unknowns (2 per cell), the system is a saddle point.
``"condensed"``  ``SolidBodyNearlyIncompressible(NeoHooke(mu), field, bulk)``: the same
                 element with p, J̄ condensed per cell (U = k/2 (J̄ − 1)²), u-only system.

Linear solvers: ``"pypardiso"`` = ``pypardiso.spsolve`` (MKL PARDISO,
mtype 11, unsymmetric), or ``"pypardiso-sym"`` (the default: 7x faster per factorization
here) = felupe's documented symmetric recipe (``PyPardisoSolver(mtype=-2)`` on
``triu(A)``; one solver object per case). Default variant: ``mixed/pypardiso-sym``. felupe 11 has
no boundary region (hence no ``SolidBodyPressure``) for tetrahedra, so its TET10 cases are
recorded as ``"unsupported"``.

Record keys (one dict per case in ``bench.json["cases"]``)
----------------------------------------------------------
Common: ``tool`` ("biomech" | "felupe"), ``element``, ``target_dofs``, ``status`` ("ok",
"failed", "timeout", "unsupported"), ``error``, ``phase`` (last phase reached), ``dofs``
(3 × nodes), ``nodes``, ``elements``, ``threads`` (dict), ``loadavg_before`` (1, 5, 15
min), ``startup_s`` (worker process start to its first line: interpreter + the biomech
package, numba and numpy imports), ``import_s`` (the tool's further imports; felupe's
import for felupe), ``warmup_s``, ``mesh_s``, ``compile_s`` (biomech: sparsity pattern,
colouring, scatter maps; felupe: mesh conversion, regions, fields, BCs), ``assemble_s``
(one tangent + residual assembly at u = 0, λ = 1, median of ``assemble_repeats`` after one untimed call that allocates the tangent buffer),
``assemble_residual_s`` (residual only), ``assemble_dofs_per_s`` (= dofs /
``assemble_s``), ``linear_solver``, ``load_steps``, ``nonlinear_method`` ("newton" or
"bfgs": biomech's ``NewtonOptions.method`` resolved for the size; felupe: "newton"),
``newton_iterations``, ``factorizations``, ``newton_assemble_s`` / ``factorize_s`` / ``linear_solve_s`` (totals inside Newton;
felupe's ``factorize_s`` is factorization + solve, its ``linear_solve_s`` is 0),
``assemble_per_iteration_s``, ``factorize_per_iteration_s`` (factorize_s / iterations),
``factorize_each_s`` (factorize_s / factorizations), ``solve_wall_s`` (the Newton
solve, load step 1 to 10), ``total_s`` (mesh + compile + solve), ``converged``,
``peak_rss_gb`` (1e9 bytes), ``inner_radius_mm`` (mean deformed radius of the inner-face
nodes), ``inner_radius_spread_mm`` (max − min), ``inner_radius_exact_mm``,
``inner_radius_rel_error`` ((a_h − a)/a), ``radial_displacement_rel_error``
((a_h − a)/(a − A)), ``wall_s`` (the subprocess).
biomech only: ``linear_solver_mtype``, ``cutbacks``,
``analyse_s``, ``linear_solver_choice`` (above 600k DOF: why PARDISO or AMG, see
:class:`biomech.fem.linear.PardisoOrAMG`), ``predicted_memory_gb`` (PARDISO's own
prediction of its peak memory). Cases that stop early (timeout) after at least one load step also carry
``extrapolated_solve_s`` (assembly + linear-solver time so far, scaled to all load steps).
felupe only: ``system_dofs`` (u + p + J̄ unknowns), ``formulation``,
``felupe_version``.

Output: a table on stdout (biomech and felupe side by side, ``speedup`` = felupe
total / biomech total at the same mesh) and, with ``out``, ``out/bench.json`` (rewritten
atomically after every case).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

# --- the case -------------------------------------------------------------------------------
A_MM, B_MM, L_MM = 10.0, 12.0, 20.0
MU_MPA = 0.06
BULK_MPA = 60.0  # k/μ = 1000
PRESSURE_MMHG = 30.0
MMHG_MPA = 133.322387415e-6
PRESSURE_MPA = PRESSURE_MMHG * MMHG_MPA
LOAD_STEPS = 10

DEFAULT_SIZES = (100_000, 300_000)
DEFAULT_ELEMENTS = ("tetra10", "hexahedron")
DEFAULT_TIMEOUT_S = 1200.0
LARGE_DOFS = 1_000_000  # sizes from here on only when asked for explicitly
WARMUP_DOFS = 1_500
THREAD_VARS = ("NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
DEFAULT_THREADS = "2"
FELUPE_FORMULATIONS = ("mixed", "condensed")
FELUPE_SOLVERS = ("pypardiso", "pypardiso-sym")
DEFAULT_FELUPE_FORMULATION = "mixed"
DEFAULT_FELUPE_SOLVER = "pypardiso-sym"

#: FEBio 4.11 + PARDISO on the 2-core reference machine (the issue), seconds.
FEBIO_REFERENCE = {
    ("hexahedron", 107_000): 48.0,
    ("hexahedron", 317_000): 195.0,
    ("tetra10", 107_000): 56.0,
}

RECORD_KEYS = (
    "tool", "element", "target_dofs", "status", "error", "phase", "dofs", "nodes", "elements",
    "threads", "loadavg_before", "startup_s", "import_s", "warmup_s", "mesh_s", "compile_s",
    "assemble_s", "assemble_residual_s", "assemble_dofs_per_s", "linear_solver", "load_steps",
    "nonlinear_method", "newton_iterations", "factorizations", "newton_assemble_s", "factorize_s",
    "linear_solve_s", "assemble_per_iteration_s", "factorize_per_iteration_s", "factorize_each_s",
    "solve_wall_s", "total_s", "converged", "peak_rss_gb", "inner_radius_mm",
    "inner_radius_spread_mm", "inner_radius_exact_mm", "inner_radius_rel_error",
    "radial_displacement_rel_error", "wall_s",
)


def case_definition() -> dict[str, Any]:
    """The benchmark problem, as stored in bench.json."""
    return {
        "geometry": f"quarter tube A={A_MM} mm, B={B_MM} mm, L={L_MM} mm",
        "material": "neo-hookean (uncoupled), U = k/4 (J^2 - 1 - 2 ln J)",
        "mu_MPa": MU_MPA,
        "bulk_MPa": BULK_MPA,
        "k_over_mu": BULK_MPA / MU_MPA,
        "pressure_mmHg": PRESSURE_MMHG,
        "pressure_MPa": PRESSURE_MPA,
        "boundary_conditions": "ux=0 on xsym, uy=0 on ysym, uz=0 on zmin and zmax (plane strain)",
        "load_steps": LOAD_STEPS,
        "inner_radius_exact_mm": exact_inner_radius(),
        "febio_reference_s": {f"{e}@{n}": t for (e, n), t in FEBIO_REFERENCE.items()},
    }


def exact_inner_radius() -> float:
    """Deformed inner radius (mm) of the incompressible plane-strain tube at 30 mmHg."""
    from biomech.analytic import inner_radius, tube_pressure_neo_hookean

    return float(
        inner_radius(lambda a: tube_pressure_neo_hookean(a, A_MM, B_MM, MU_MPA), PRESSURE_MPA, A_MM)
    )


# --- helpers shared by the workers ------------------------------------------------------------
def _peak_rss_gb() -> float:
    """Peak resident set size of this process in GB (ru_maxrss is KiB on Linux)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1.0 if sys.platform == "darwin" else 1024.0  # macOS reports bytes
    return kib * scale / 1e9


def _process_age_s() -> float | None:
    """Seconds since this process started (interpreter start-up + imports so far)."""
    try:
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return max(uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):  # not Linux
        return None


def _threads() -> dict[str, str | None]:
    return {v: os.environ.get(v) for v in THREAD_VARS}


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


def _atomic_write_json(path: Path, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=2, default=_json_default)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _json_default(x: Any) -> Any:
    try:
        import numpy as np

        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(x)


class _Recorder:
    """A case record rewritten to disk after every phase (survives a kill)."""

    def __init__(self, path: Path | None, base: dict[str, Any]):
        self.path = Path(path) if path else None
        self.rec: dict[str, Any] = {k: None for k in RECORD_KEYS}
        self.rec.update(base)
        self.rec["status"] = "running"

    def update(self, phase: str | None = None, **values: Any) -> None:
        self.rec.update(values)
        if phase is not None:
            self.rec["phase"] = phase
        self.rec["peak_rss_gb"] = round(_peak_rss_gb(), 3)
        if self.path is not None:
            _atomic_write_json(self.path, self.rec)


def _median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _inner_nodes(mesh) -> "Any":
    import numpy as np

    return np.unique(np.concatenate([c.ravel() for c in mesh.face_sets["inner"].values()]))


def _accuracy(points, displacement, nodes, exact: float) -> dict[str, float]:
    import numpy as np

    x = points[nodes] + displacement[nodes]
    r = np.hypot(x[:, 0], x[:, 1])
    a = float(r.mean())
    return {
        "inner_radius_mm": a,
        "inner_radius_spread_mm": float(r.max() - r.min()),
        "inner_radius_exact_mm": exact,
        "inner_radius_rel_error": (a - exact) / exact,
        "radial_displacement_rel_error": (a - exact) / (exact - A_MM),
    }


def _mesh(target_dofs: int, element: str):
    from biomech.mesh.generate import quarter_tube_for_bench

    return quarter_tube_for_bench(int(target_dofs), element)


# --- biomech worker -----------------------------------------------------------------------------
def build_model(mesh):
    """The benchmark case on ``mesh`` as a :class:`biomech.Model`."""
    from biomech.model import Model

    model = Model(mesh)
    model.add_material("all", "neo-hookean", mu=MU_MPA, bulk=BULK_MPA)
    model.fix("xsym", dofs="x")
    model.fix("ysym", dofs="y")
    model.fix("zmin", dofs="z")
    model.fix("zmax", dofs="z")
    model.add_pressure("inner", PRESSURE_MPA)
    return model


def _biomech_solve(problem, mesh, steps: int, on_step: Callable[[int, dict], None] | None = None,
                   method: str | None = None):
    """Newton with exactly ``steps`` equal load steps (no step growth, as FEBio/felupe).

    ``on_step(steps_done, progress)`` after every converged load step, with the assembly
    and linear-solver times so far (so a case killed by the timeout still has them).
    """
    from biomech.fem.linear import make_linear_solver
    from biomech.fem.newton import NewtonOptions, solve_incremental

    solver = make_linear_solver(
        "auto", n_dofs=problem.n_dofs, symmetric=True, coordinates=mesh.points
    )
    opts = NewtonOptions(steps=steps, max_step_growth=1.0)
    if method and hasattr(opts, "method"):
        opts.method = method
    assemble = problem.assemble
    live = {"assemble_s": 0.0, "steps": 0}

    def timed_assemble(*args, **kwargs):
        t = time.perf_counter()
        try:
            return assemble(*args, **kwargs)
        finally:
            live["assemble_s"] += time.perf_counter() - t

    def progress(lam: float) -> None:
        live["steps"] += 1
        if on_step is not None:
            on_step(live["steps"], {
                "newton_assemble_s": live["assemble_s"],
                "factorize_s": solver.stats.get("factor_s", 0.0) + solver.stats.get("analyse_s", 0.0),
                "factorizations": solver.stats.get("factorizations"),
            })

    problem.assemble = timed_assemble  # instance attribute: this problem only
    try:
        result = solve_incremental(problem, solver, opts, progress=progress)
    finally:
        del problem.assemble
        stats = dict(solver.stats)
        solver.release()
    return result, solver, stats, _resolved_method(opts, problem.n_dofs)


def _resolved_method(opts, n_dofs: int) -> str:
    """The nonlinear method biomech's Newton driver uses for these options and size."""
    method = getattr(opts, "method", "newton")
    if method == "auto":
        method = "bfgs" if n_dofs >= getattr(opts, "bfgs_above_dofs", 0) else "newton"
    return method


def run_biomech_case(spec: dict[str, Any], record_path: Path | None = None) -> dict[str, Any]:
    """Run one biomech case in this process; returns (and writes) its record."""
    element, target = spec["element"], int(spec["target_dofs"])
    steps = int(spec.get("steps", LOAD_STEPS))
    repeats = int(spec.get("assemble_repeats", 5))
    rec = _Recorder(record_path, {
        "tool": "biomech", "element": element, "target_dofs": target, "threads": _threads(),
        "loadavg_before": spec.get("loadavg_before") or _loadavg(),
        "startup_s": spec.get("startup_s"),
    })
    rec.update("import")
    t = time.perf_counter()
    import numpy as np

    import biomech.fem.problem  # noqa: F401  (numba kernels: cache load or compile at call)
    from biomech.fem.newton import NewtonResult  # noqa: F401

    rec.update("warmup", import_s=time.perf_counter() - t)

    # warm-up: compile/load every kernel on a tiny model of the same element kind
    t = time.perf_counter()
    tiny = _mesh(WARMUP_DOFS, element)
    tiny_problem = build_model(tiny).compile()
    tiny_problem.assemble(np.zeros(tiny_problem.n_dofs), 1.0, True)
    tiny_problem.assemble(np.zeros(tiny_problem.n_dofs), 1.0, False)
    _biomech_solve(tiny_problem, tiny, 2, method=spec.get("method"))
    rec.update("mesh", warmup_s=time.perf_counter() - t)

    t = time.perf_counter()
    mesh = _mesh(target, element)
    mesh_s = time.perf_counter() - t
    rec.update("compile", mesh_s=mesh_s, nodes=mesh.n_points, dofs=3 * mesh.n_points,
               elements=mesh.n_cells)

    t = time.perf_counter()
    problem = build_model(mesh).compile()
    compile_s = time.perf_counter() - t
    rec.update("assemble", compile_s=compile_s)

    from biomech.threads import serial_numpy_blas

    u0 = np.zeros(problem.n_dofs)
    with serial_numpy_blas():  # as inside the solver loop
        problem.assemble(u0, 1.0, True)  # allocates the tangent buffer, once per problem
        t_k = _median_time(lambda: problem.assemble(u0, 1.0, True), repeats)
        t_r = _median_time(lambda: problem.assemble(u0, 1.0, False), repeats)
    rec.update("solve", assemble_s=t_k, assemble_residual_s=t_r,
               assemble_dofs_per_s=problem.n_dofs / t_k)

    t = time.perf_counter()
    result, solver, stats, method = _biomech_solve(
        problem, mesh, steps, lambda done, live: rec.update(load_steps=done, **live),
        method=spec.get("method"))
    solve_s = time.perf_counter() - t
    its = max(result.newton_iterations, 1)
    tm = result.timings
    n_fact = int(tm.get("factorizations") or stats.get("factorizations") or 0)
    exact = float(spec.get("exact_inner_radius") or exact_inner_radius())
    rec.update(
        "done",
        nonlinear_method=method,
        linear_solver=solver.name,
        linear_solver_mtype=stats.get("mtype"),
        linear_solver_choice=getattr(solver, "choice", None),
        predicted_memory_gb=stats.get("predicted_memory_gb"),
        load_steps=len(result.steps),
        newton_iterations=result.newton_iterations,
        cutbacks=result.cutbacks,
        factorizations=n_fact,
        analyse_s=stats.get("analyse_s"),
        newton_assemble_s=tm["assemble_s"],
        factorize_s=tm["factorize_s"],
        linear_solve_s=tm["solve_s"],
        assemble_per_iteration_s=tm["assemble_s"] / its,
        factorize_per_iteration_s=tm["factorize_s"] / its,
        factorize_each_s=tm["factorize_s"] / max(n_fact, 1),
        solve_wall_s=solve_s,
        total_s=mesh_s + compile_s + solve_s,
        converged=bool(result.converged),
        **_accuracy(mesh.points, result.u.reshape(-1, 3), _inner_nodes(mesh), exact),
    )
    rec.rec["status"] = "ok" if result.converged else "failed"
    rec.update()
    return rec.rec


# --- felupe worker ------------------------------------------------------------------------------
def felupe_supports(element: str) -> tuple[bool, str]:
    """Whether the felupe comparison can run this element kind (and why not)."""
    if element == "hexahedron":
        return True, ""
    if element in ("tetra", "tetra10"):
        return False, (
            "felupe 11 has no boundary region for tetrahedra (RegionBoundary supports quad/"
            "hexahedron families only), so no SolidBodyPressure follower load on a tet mesh"
        )
    return False, f"no felupe mapping for element {element!r}"


def _felupe_problem(fem, mesh, formulation: str, parallel: bool):
    """felupe items, boundaries and the displacement field for the case on ``mesh``."""
    import numpy as np

    fmesh = fem.Mesh(np.ascontiguousarray(mesh.points, dtype=float),
                     np.ascontiguousarray(mesh.blocks[0].conn), cell_type="hexahedron")
    region = fem.RegionHexahedron(fmesh)
    umat_iso = fem.NeoHooke(mu=MU_MPA)
    notes = ""
    if formulation == "mixed":
        field = fem.FieldsMixed(region, n=3)
        try:
            umat = fem.NearlyIncompressible(
                umat_iso, bulk=BULK_MPA,
                dUdJ=lambda J, k: 0.5 * k * (J - 1.0 / J),
                d2UdJdJ=lambda J, k: 0.5 * k * (1.0 + 1.0 / J**2),
            )
            notes = "U = k/4 (J^2 - 1 - 2 ln J) as biomech"
        except TypeError:  # older felupe: no dUdJ hooks
            umat = fem.NearlyIncompressible(umat_iso, bulk=BULK_MPA)
            notes = "U = k/2 (J - 1)^2 (felupe default)"
        solid = fem.SolidBody(umat, field)
    elif formulation == "condensed":
        field = fem.FieldContainer([fem.Field(region, dim=3)])
        solid = fem.SolidBodyNearlyIncompressible(umat_iso, field, bulk=BULK_MPA)
        notes = "U = k/2 (J - 1)^2 (felupe's only choice here)"
    else:
        raise ValueError(f"felupe formulation must be one of {FELUPE_FORMULATIONS}")

    def mask(name):
        m = np.zeros(mesh.n_points, dtype=bool)
        m[np.unique(np.concatenate([c.ravel() for c in mesh.face_sets[name].values()]))] = True
        return m

    u = field[0]
    boundaries = {
        "xsym": fem.Boundary(u, mask=mask("xsym"), skip=(0, 1, 1)),
        "ysym": fem.Boundary(u, mask=mask("ysym"), skip=(1, 0, 1)),
        "zmin": fem.Boundary(u, mask=mask("zmin"), skip=(1, 1, 0)),
        "zmax": fem.Boundary(u, mask=mask("zmax"), skip=(1, 1, 0)),
    }
    inner_region = fem.RegionHexahedronBoundary(fmesh, only_surface=True, mask=mask("inner"))
    n_faces = sum(len(c) for c in mesh.face_sets["inner"].values())
    if inner_region.mesh.ncells != n_faces:
        raise RuntimeError(
            f"felupe selected {inner_region.mesh.ncells} inner faces, biomech has {n_faces}"
        )
    pressure = fem.SolidBodyPressure(fem.FieldContainer([fem.Field(inner_region, dim=3)]))
    return field, solid, pressure, boundaries, notes


def _felupe_solver(kind: str, timer: dict[str, float]):
    if kind == "pypardiso":
        from pypardiso import spsolve

        def solve(A, b):
            return spsolve(A, b)
    elif kind == "pypardiso-sym":
        from pypardiso import PyPardisoSolver
        from scipy.sparse import triu

        ps = PyPardisoSolver(mtype=-2)

        def solve(A, b):
            return ps.solve(triu(A).tocsr(), b).squeeze()
    else:
        raise ValueError(f"felupe solver must be one of {FELUPE_SOLVERS}")

    def timed(A, b):
        t = time.perf_counter()
        x = solve(A, b)
        timer["solver_s"] += time.perf_counter() - t
        timer["solver_calls"] += 1
        return x

    return timed


def _timed_assembly(item, timer: dict[str, float]) -> None:
    """Accumulate the item's vector/matrix assembly time in ``timer`` (wraps in place)."""
    vec, mat = item.assemble.vector, item.assemble.matrix

    def vector(*a, **k):
        t = time.perf_counter()
        out = vec(*a, **k)
        timer["vector_s"] += time.perf_counter() - t
        return out

    def matrix(*a, **k):
        t = time.perf_counter()
        out = mat(*a, **k)
        timer["matrix_s"] += time.perf_counter() - t
        timer["matrix_calls"] += 1
        return out

    item.assemble.vector, item.assemble.matrix = vector, matrix


def run_felupe_case(spec: dict[str, Any], record_path: Path | None = None) -> dict[str, Any]:
    """Run one felupe case in this process; returns (and writes) its record."""
    element, target = spec["element"], int(spec["target_dofs"])
    steps = int(spec.get("steps", LOAD_STEPS))
    repeats = int(spec.get("assemble_repeats", 5))
    formulation = spec.get("felupe_formulation") or DEFAULT_FELUPE_FORMULATION
    solver_kind = spec.get("felupe_solver") or DEFAULT_FELUPE_SOLVER
    parallel = bool(spec.get("felupe_parallel", True))
    rec = _Recorder(record_path, {
        "tool": "felupe", "element": element, "target_dofs": target, "threads": _threads(),
        "loadavg_before": spec.get("loadavg_before") or _loadavg(),
        "formulation": formulation, "linear_solver": solver_kind, "felupe_parallel": parallel,
        "startup_s": spec.get("startup_s"),
    })
    ok, why = felupe_supports(element)
    if not ok:
        rec.rec["status"], rec.rec["error"] = "unsupported", why
        rec.update("setup")
        return rec.rec
    rec.update("import")
    t = time.perf_counter()
    import numpy as np

    try:
        import felupe as fem
    except ImportError as exc:
        rec.rec["status"], rec.rec["error"] = "unsupported", f"felupe is not installed ({exc})"
        rec.update()
        return rec.rec
    import pypardiso  # noqa: F401

    rec.update("warmup", import_s=time.perf_counter() - t, felupe_version=fem.__version__)
    exact = float(spec.get("exact_inner_radius") or exact_inner_radius())

    def solve(mesh, n_steps, record_progress):
        t_setup = time.perf_counter()
        field, solid, pressure, boundaries, notes = _felupe_problem(fem, mesh, formulation,
                                                                    parallel)
        setup_s = time.perf_counter() - t_setup
        timer = {"vector_s": 0.0, "matrix_s": 0.0, "matrix_calls": 0, "solver_s": 0.0,
                 "solver_calls": 0}
        iterations, done = [], []

        def callback(stepnumber, substepnumber, substep, **kwargs):
            iterations.append(int(substep.iterations))
            done.append(bool(substep.success))
            if record_progress:
                rec.update(load_steps=len(done), newton_iterations=sum(iterations),
                           newton_assemble_s=timer["vector_s"] + timer["matrix_s"],
                           factorize_s=timer["solver_s"])

        _timed_assembly(solid, timer)
        _timed_assembly(pressure, timer)
        ramp = PRESSURE_MPA * np.linspace(1.0 / n_steps, 1.0, n_steps)
        step = fem.Step(items=[solid, pressure], ramp={pressure: ramp}, boundaries=boundaries)
        job = fem.Job(steps=[step], callback=callback)
        t0 = time.perf_counter()
        job.evaluate(solver=_felupe_solver(solver_kind, timer), parallel=parallel,
                     verbose=False)
        wall = time.perf_counter() - t0
        return field, solid, pressure, notes, setup_s, timer, iterations, done, wall

    # warm-up (first-call overheads: imports inside felupe, thread pool, MKL load)
    t = time.perf_counter()
    solve(_mesh(WARMUP_DOFS, "hexahedron"), 2, False)
    rec.update("mesh", warmup_s=time.perf_counter() - t)

    t = time.perf_counter()
    mesh = _mesh(target, element)
    mesh_s = time.perf_counter() - t
    rec.update("compile", mesh_s=mesh_s, nodes=mesh.n_points, dofs=3 * mesh.n_points,
               elements=mesh.n_cells)

    # assembly timing on a separate model (same as inside the job: parallel flag)
    t = time.perf_counter()
    field, solid, pressure, boundaries, notes = _felupe_problem(fem, mesh, formulation, parallel)
    compile_s = time.perf_counter() - t
    rec.update("assemble", compile_s=compile_s, system_dofs=int(np.sum(field.fieldsizes)),
               felupe_notes=notes)

    def tangent_and_residual():
        solid.assemble.vector(field=field, parallel=parallel)
        solid.assemble.matrix(parallel=parallel)
        pressure.assemble.vector(field=field, parallel=parallel)
        pressure.assemble.matrix(parallel=parallel)

    def residual_only():
        solid.assemble.vector(field=field, parallel=parallel)
        pressure.assemble.vector(field=field, parallel=parallel)

    pressure.update(PRESSURE_MPA)
    t_k = _median_time(tangent_and_residual, repeats)
    t_r = _median_time(residual_only, repeats)
    del field, solid, pressure, boundaries
    rec.update("solve", assemble_s=t_k, assemble_residual_s=t_r,
               assemble_dofs_per_s=3 * mesh.n_points / t_k)

    t = time.perf_counter()
    try:
        field, _, _, _, setup_s, timer, iterations, done, wall = solve(mesh, steps, True)
    except Exception as exc:  # felupe's NewtonConvergenceError, MemoryError, solver errors
        rec.rec["status"], rec.rec["error"] = "failed", f"{type(exc).__name__}: {exc}"
        rec.update(solve_wall_s=time.perf_counter() - t)
        return rec.rec
    solve_s = time.perf_counter() - t - setup_s  # the model set-up is counted in compile_s
    its = max(sum(iterations), 1)
    u = field[0].values
    rec.update(
        "done",
        load_steps=len(done),
        newton_iterations=sum(iterations),
        newton_assemble_s=timer["vector_s"] + timer["matrix_s"],
        factorize_s=timer["solver_s"],
        linear_solve_s=0.0,
        assemble_per_iteration_s=(timer["vector_s"] + timer["matrix_s"]) / its,
        factorize_per_iteration_s=timer["solver_s"] / its,
        factorize_each_s=timer["solver_s"] / max(timer["solver_calls"], 1),
        factorizations=timer["solver_calls"],
        nonlinear_method="newton",
        solve_wall_s=solve_s,
        total_s=mesh_s + compile_s + solve_s,
        converged=bool(done) and all(done) and len(done) == steps,
        **_accuracy(mesh.points, u, _inner_nodes(mesh), exact),
    )
    rec.rec["status"] = "ok" if rec.rec["converged"] else "failed"
    rec.update()
    return rec.rec


# --- driver -------------------------------------------------------------------------------------
def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_VARS:
        if var != "OPENBLAS_NUM_THREADS":  # each tool's own default (see the module doc)
            env.setdefault(var, DEFAULT_THREADS)
    env.setdefault("FELUPE_VERBOSE", "false")
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_case_subprocess(spec: dict[str, Any], timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Run one case (``spec["tool"]`` = "biomech" or "felupe") in a fresh interpreter."""
    spec = dict(spec)
    spec.setdefault("loadavg_before", _loadavg())
    with tempfile.TemporaryDirectory(prefix="biomech-bench-") as tmp:
        spec_path, record_path = Path(tmp) / "spec.json", Path(tmp) / "record.json"
        log_path = Path(tmp) / "log.txt"
        spec_path.write_text(json.dumps(spec))
        cmd = [sys.executable, "-m", "biomech.bench", "--worker", str(spec_path), str(record_path)]
        t = time.perf_counter()
        status, error = None, None
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_worker_env(),
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                rc, status, error = None, "timeout", f"killed after the {timeout_s:g} s timeout"
        wall = time.perf_counter() - t
        try:
            rec = json.loads(record_path.read_text())
        except (OSError, ValueError):
            rec = {k: None for k in RECORD_KEYS}
            rec.update(tool=spec["tool"], element=spec["element"], target_dofs=spec["target_dofs"],
                       loadavg_before=spec["loadavg_before"])
        if status is None and rc != 0:
            status = "failed"
            tail = log_path.read_text(errors="replace")[-2000:].strip()
            if rc is not None and rc < 0:
                error = f"killed by signal {-rc}" + (" (out of memory?)" if rc == -9 else "")
            else:
                error = f"exit code {rc}: ...{tail[-600:]}"
        if status is not None:
            rec["status"], rec["error"] = status, error
        if rec.get("status") != "ok" and rec.get("load_steps") and rec.get("factorize_s"):
            # how long the whole solve would have taken at the measured pace
            done = (rec.get("newton_assemble_s") or 0.0) + rec["factorize_s"]
            rec["extrapolated_solve_s"] = done * int(spec.get("steps", LOAD_STEPS)) / rec["load_steps"]
        elif rec.get("status") == "running":
            rec["status"], rec["error"] = "failed", "the worker ended without a result"
        rec["wall_s"] = wall
        return rec


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the worker we started (its own session/process group) and reap it."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def parse_felupe_variants(text: str | list[str] | None) -> list[tuple[str, str]]:
    """``"mixed/pypardiso-sym,condensed"`` -> [("mixed", "pypardiso-sym"), ("condensed",
    DEFAULT_FELUPE_SOLVER)]; None -> env ``BIOMECH_BENCH_FELUPE`` or the defaults."""
    if text is None:
        text = os.environ.get("BIOMECH_BENCH_FELUPE") or (
            f"{DEFAULT_FELUPE_FORMULATION}/{DEFAULT_FELUPE_SOLVER}")
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for item in items:
        if not item.strip():
            continue
        form, _, solver = item.strip().partition("/")
        solver = solver or DEFAULT_FELUPE_SOLVER
        if form not in FELUPE_FORMULATIONS or solver not in FELUPE_SOLVERS:
            raise ValueError(f"felupe variant {item!r}: formulation in {FELUPE_FORMULATIONS}, "
                             f"solver in {FELUPE_SOLVERS}")
        out.append((form, solver))
    return out


def run_bench(
    sizes: list[int] | None = None,
    elements: list[str] | None = None,
    felupe: bool = False,
    out: str | os.PathLike | None = None,
    *,
    timeout_s: float | None = None,
    steps: int = LOAD_STEPS,
    felupe_variants: str | list[str] | None = None,
    method: str | None = None,
    assemble_repeats: int = 5,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run every (element, size) case for biomech (and felupe); print the table; return
    ``{"meta": ..., "case": ..., "cases": [...]}``, also written to ``out/bench.json``.

    ``timeout_s`` per case (default: env ``BIOMECH_BENCH_TIMEOUT`` or
    :data:`DEFAULT_TIMEOUT_S`). ``felupe_variants``: "formulation/solver" items, comma
    separated (default: env ``BIOMECH_BENCH_FELUPE`` or ``DEFAULT_FELUPE_FORMULATION/
    DEFAULT_FELUPE_SOLVER``); each runs as its own felupe case. ``method``: biomech's
    nonlinear method ("auto", "newton", "bfgs"; default env ``BIOMECH_BENCH_METHOD`` or
    biomech's own default). Sizes of
    :data:`LARGE_DOFS` and more run only when given here (the CLI's default is 1e5, 3e5).
    """
    sizes = [int(s) for s in (sizes or DEFAULT_SIZES)]
    elements = [e.strip() for e in (elements or DEFAULT_ELEMENTS) if e.strip()]
    from biomech.mesh.generate import ELEMENT_KINDS

    bad = [e for e in elements if e not in ELEMENT_KINDS]
    if bad or any(s <= 0 for s in sizes):
        raise ValueError(f"elements must be among {ELEMENT_KINDS} and sizes > 0; got {elements}, {sizes}")
    if timeout_s is None:
        timeout_s = float(os.environ.get("BIOMECH_BENCH_TIMEOUT", DEFAULT_TIMEOUT_S))
    variants = parse_felupe_variants(felupe_variants) if felupe else []
    method = method or os.environ.get("BIOMECH_BENCH_METHOD") or None
    exact = exact_inner_radius()
    env = _worker_env()
    report: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "host": platform.node(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "threads": {v: env.get(v) for v in THREAD_VARS},
            "timeout_s": timeout_s,
            "versions": _versions(felupe),
            "git": _git_state(),
            "felupe_variants": [f"{f}/{s}" for f, s in variants],
            "biomech_method": method or "default",
        },
        "case": case_definition(),
        "cases": [],
    }
    out_path = Path(out) / "bench.json" if out else None
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    for element in elements:
        for size in sizes:
            runs = [("biomech", None, None)] + [("felupe", f, s) for f, s in variants]
            for tool, form, fsolver in runs:
                spec = {"tool": tool, "element": element, "target_dofs": size, "steps": steps,
                        "assemble_repeats": assemble_repeats, "exact_inner_radius": exact,
                        "felupe_formulation": form, "felupe_solver": fsolver,
                        "method": method if tool == "biomech" else None}
                label = tool if tool == "biomech" else f"felupe[{form}/{fsolver}]"
                if tool == "felupe" and not felupe_supports(element)[0]:
                    rec = run_felupe_case(spec)  # records "unsupported" without importing felupe
                else:
                    say(f"[bench] {label} {element} {size:,} DOF (load {_loadavg()}) ...")
                    rec = run_case_subprocess(spec, timeout_s)
                report["cases"].append(rec)
                say(f"[bench]   -> {_one_line(rec)}")
                if out_path is not None:
                    _atomic_write_json(out_path, report)
    report["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if out_path is not None:
        _atomic_write_json(out_path, report)
    say("")
    say(format_table(report["cases"]))
    return report


def _versions(felupe: bool) -> dict[str, str | None]:
    from importlib import metadata

    names = ["numpy", "scipy", "numba", "pypardiso", "mkl", "pyamg"] + (["felupe"] if felupe else [])
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = None
    return out


def _git_state() -> dict[str, Any] | None:
    """Commit and locally modified files of the checkout the bench ran from (or None)."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "biomech"], cwd=root,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return {"commit": head.stdout.strip(),
            "modified": [ln[3:] for ln in dirty.stdout.splitlines() if ln.strip()]}


def _one_line(r: dict[str, Any]) -> str:
    if r.get("status") != "ok":
        return f"{r.get('status')}: {r.get('error')} (phase {r.get('phase')})"
    return (f"{r['dofs']:,} DOF, {r['newton_iterations']} its, solve {r['solve_wall_s']:.1f} s, "
            f"assembly {r['assemble_s']:.3f} s ({r['assemble_dofs_per_s']:.3g} DOF/s), "
            f"{r.get('nonlinear_method')}: {r.get('factorizations')} factorizations of "
            f"{_fmt(r.get('factorize_each_s'), '.2f')} s, peak {r['peak_rss_gb']:.2f} GB, "
            f"radial-displacement error {r['radial_displacement_rel_error']:.2e}")


def _fmt(x: Any, spec: str) -> str:
    if x is None:
        return "-"
    try:
        return format(x, spec)
    except (TypeError, ValueError):
        return str(x)


_COLS_B = (("its", "newton_iterations", ">4d"), ("fact", "factorizations", ">4d"),
           ("asm s", "assemble_s", ">6.2f"), ("DOF/s", "assemble_dofs_per_s", ">7.2g"),
           ("s/fact", "factorize_each_s", ">6.1f"),
           ("solve s", "solve_wall_s", ">8.1f"), ("total s", "total_s", ">8.1f"),
           ("GB", "peak_rss_gb", ">5.1f"), ("err u_a", "radial_displacement_rel_error", ">8.1e"))
_COLS_F = tuple(c for c in _COLS_B if c[1] != "solve_wall_s")


def _part(r: dict | None, cols) -> str:
    widths = [max(len(h), int("".join(ch for ch in f.split(".")[0] if ch.isdigit()) or 0))
              for h, _, f in cols]
    width = sum(widths) + len(widths) - 1 if cols else 1000
    if r is None:
        return " " * width
    if r.get("status") != "ok":
        msg = f"{r.get('status')} ({r.get('phase')})"
        if r.get("assemble_s") is not None:
            msg += f" asm {r['assemble_s']:.2f} s"
        if r.get("newton_iterations"):
            msg += f", {r['newton_iterations']} its/{r.get('load_steps')} steps"
            if r.get("factorize_s") and r.get("factorizations"):
                msg += f", {r['factorize_s'] / r['factorizations']:.1f} s/fact"
            elif r.get("factorize_s"):
                msg += f", fact/it {r['factorize_s'] / r['newton_iterations']:.1f} s"
        if r.get("extrapolated_solve_s"):
            msg += f", ~{r['extrapolated_solve_s']:.0f} s for all steps"
        return f"{msg[:width]:<{width}}" if cols else msg
    return " ".join(f"{_fmt(r.get(k), f):>{w}}" for (h, k, f), w in zip(cols, widths))


def _header(cols) -> str:
    widths = [max(len(h), int("".join(ch for ch in f.split(".")[0] if ch.isdigit()) or 0))
              for h, _, f in cols]
    return " ".join(f"{h:>{w}}" for (h, _, _), w in zip(cols, widths))


def _normalised(r: dict[str, Any]) -> dict[str, Any]:
    """Fill derived keys missing from records of older bench versions (for the table)."""
    r = dict(r)
    if r.get("factorizations") is None and r.get("tool") == "felupe":
        r["factorizations"] = r.get("newton_iterations")  # one factorization per iteration
    if r.get("factorize_each_s") is None and r.get("factorize_s") and r.get("factorizations"):
        r["factorize_each_s"] = r["factorize_s"] / r["factorizations"]
    return r


def format_table(cases: list[dict[str, Any]]) -> str:
    """One row per (element, size) and felupe variant: biomech, felupe, the speed ratio."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    cases = [_normalised(r) for r in cases]
    for r in cases:
        row = rows.setdefault((r["element"], int(r["target_dofs"])), {"felupe": []})
        if r["tool"] == "biomech":
            row["biomech"] = r
        else:
            row["felupe"].append(r)
    hb, hf = _header(_COLS_B), _header(_COLS_F)
    left = f"{'element':<10} {'DOF':>9} {'elems':>8}"
    head = f"{left} | {hb} | {'felupe variant':<24} {hf} | {'speedup':>7}"
    lines = [f"{'':<{len(left)}} | {'biomech':^{len(hb)}} | {'felupe':^{len(hf) + 25}} |",
             head, "-" * len(head)]
    for (element, size), tools in rows.items():
        b, fs = tools.get("biomech"), tools["felupe"] or [None]
        ref = b or fs[0] or {}
        for k, f in enumerate(fs):
            ratio = "-"
            if b and f and b.get("status") == "ok" and f.get("status") == "ok":
                ratio = f"{f['total_s'] / b['total_s']:.1f}x"
            variant = f"{f.get('formulation')}/{f.get('linear_solver')}" if f else ""
            if k == 0:
                lhs = (f"{element:<10} {_fmt(ref.get('dofs') or size, '>9,')} "
                       f"{_fmt(ref.get('elements'), '>8,')} | {_part(b, _COLS_B)}")
            else:
                lhs = f"{'':<{len(left)}} | {'':<{len(hb)}}"
            lines.append(f"{lhs} | {variant[:24]:<24} {_part(f, _COLS_F)} | {ratio:>7}")
    for r in cases:
        if r.get("status") not in ("ok", None):
            name = r["tool"] + (f"[{r.get('formulation')}/{r.get('linear_solver')}]"
                                if r["tool"] == "felupe" else "")
            lines.append(f"  {name} {r['element']} {r['target_dofs']:,}: {_part(r, ())}"
                         f" -- {r.get('error')}")
    lines.append("its: nonlinear iterations; fact: factorizations; asm s: one tangent+residual "
                 "assembly (DOF/s = DOF / asm s); s/fact: seconds per factorization (felupe: + solve);")
    lines.append("total: mesh + compile + solve, warm-up excluded; err u_a: (a_h - a)/(a - A) "
                 "vs the incompressible closed form; speedup: felupe total / biomech total")
    return "\n".join(lines)


def _worker_main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    spec["startup_s"] = _process_age_s()
    record = Path(argv[1])
    run = run_biomech_case if spec["tool"] == "biomech" else run_felupe_case
    try:
        run(spec, record)
    except BaseException as exc:  # record the failure, then exit non-zero
        import traceback

        try:
            rec = json.loads(record.read_text())
        except (OSError, ValueError):
            rec = {k: None for k in RECORD_KEYS}
            rec.update(tool=spec["tool"], element=spec["element"], target_dofs=spec["target_dofs"])
        rec["status"] = "failed"
        rec["error"] = f"{type(exc).__name__}: {exc}"
        rec["traceback"] = traceback.format_exc()[-3000:]
        rec["peak_rss_gb"] = round(_peak_rss_gb(), 3)
        _atomic_write_json(record, rec)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - the subprocess entry point
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[2:]))
    print("usage: python -m biomech.bench --worker SPEC.json RECORD.json  (use `biomech bench`)",
          file=sys.stderr)
    sys.exit(2)
