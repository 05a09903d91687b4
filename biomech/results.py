"""Solution fields as numpy arrays, meshio/pyvista objects, and atomic VTU/PVD/JSON output."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from xml.sax.saxutils import quoteattr

import numpy as np

VOIGT = ("xx", "yy", "zz", "xy", "yz", "xz")


def von_mises(s: np.ndarray) -> np.ndarray:
    """Von Mises stress of Voigt stresses (n, 6) (xx, yy, zz, xy, yz, xz)."""
    xx, yy, zz, xy, yz, xz = s.T
    return np.sqrt(
        0.5 * ((xx - yy) ** 2 + (yy - zz) ** 2 + (zz - xx) ** 2) + 3 * (xy**2 + yz**2 + xz**2)
    )


def principal_stresses(s: np.ndarray) -> np.ndarray:
    """Eigenvalues (n, 3), descending, of Voigt tensors (n, 6)."""
    m = np.empty((len(s), 3, 3))
    m[:, 0, 0], m[:, 1, 1], m[:, 2, 2] = s[:, 0], s[:, 1], s[:, 2]
    m[:, 0, 1] = m[:, 1, 0] = s[:, 3]
    m[:, 1, 2] = m[:, 2, 1] = s[:, 4]
    m[:, 0, 2] = m[:, 2, 0] = s[:, 5]
    return np.linalg.eigvalsh(m)[:, ::-1]


@dataclass
class Result:
    """A converged (or last converged) state: displacement (n, 3) mm and per-block cell fields."""

    model: Any
    displacement: np.ndarray
    cell_fields: list[dict[str, np.ndarray]]
    step_displacements: list[tuple[float, np.ndarray]]
    summary: dict[str, Any]
    problem: Any = field(repr=False, default=None)

    @classmethod
    def from_solution(cls, model, problem, newton, wall_time: float, solver) -> "Result":
        u = newton.u.reshape(-1, 3).copy()
        fields = _with_invariants(problem.element_fields(newton.u))
        res = cls(
            model, u, fields, [(s.lam, s.u.reshape(-1, 3).copy()) for s in newton.steps], {},
            problem,
        )
        res.summary = res._summary(newton, wall_time, solver)
        return res

    # --- views -------------------------------------------------------------------------------
    def field(self, name: str) -> np.ndarray:
        """A cell field concatenated over all blocks (cells in block order)."""
        return np.concatenate([f[name] for f in self.cell_fields])

    @property
    def cauchy_stress(self) -> np.ndarray:
        return self.field("cauchy_stress")

    @property
    def deformed_points(self) -> np.ndarray:
        return self.model.mesh.points + self.displacement

    def to_meshio(self, displacement: np.ndarray | None = None, fields=None):
        import meshio

        mesh = self.model.mesh
        fields = self.cell_fields if fields is None else fields
        cells = [(b.type, b.conn) for b in mesh.blocks]
        cell_data = {"region": [b.region for b in mesh.blocks]}
        for name in fields[0]:
            cell_data[name] = [f[name] for f in fields]
        u = self.displacement if displacement is None else displacement
        return meshio.Mesh(mesh.points, cells, point_data={"displacement": u}, cell_data=cell_data)

    def to_pyvista(self):
        import pyvista as pv

        return pv.from_meshio(self.to_meshio())

    # --- output --------------------------------------------------------------------------------
    def save(self, out_dir: str | os.PathLike, series: bool = True) -> Path:
        """Write result.vtu, result.pvd (+ steps/), summary.json into ``out_dir`` atomically."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        _atomic_meshio(self.to_meshio(), out / "result.vtu")
        if series:
            (out / "steps").mkdir(exist_ok=True)
            entries = []
            for k, (lam, u) in enumerate(self.step_displacements):
                fields = _with_invariants(self.problem.element_fields(u.ravel()))
                name = f"steps/step_{k:03d}.vtu"
                _atomic_meshio(self.to_meshio(u, fields), out / name)
                entries.append((lam, name))
            _atomic_text(out / "result.pvd", _pvd(entries))
        _atomic_text(out / "summary.json", json.dumps(self.summary, indent=2) + "\n")
        return out

    def _summary(self, newton, wall_time: float, solver) -> dict[str, Any]:
        pts = self.model.mesh.points
        centroids = np.concatenate(
            [pts[b.conn].mean(axis=1) for b in self.model.mesh.blocks]
        )
        peak = {}
        for name in ("von_mises", "max_principal_stress"):
            v = self.field(name)
            i = int(np.argmax(v))
            peak[name] = {"value": float(v[i]), "unit": "MPa", "at": centroids[i].round(6).tolist(), "cell": i}
        return {
            "converged": bool(newton.converged),
            "load_factor": float(newton.lam),
            "dofs": int(3 * self.model.mesh.n_points),
            "elements": int(self.model.mesh.n_cells),
            "steps": len(newton.steps),
            "newton_iterations": int(newton.newton_iterations),
            "cutbacks": int(newton.cutbacks),
            "wall_time_s": round(float(wall_time), 4),
            "timings_s": {k: round(v, 4) for k, v in newton.timings.items()},
            "linear_solver": getattr(solver, "name", str(solver)),
            "units": {"length": "mm", "stress": "MPa", "force": "N"},
            "peak": peak,
            "max_displacement_mm": float(np.linalg.norm(self.displacement, axis=1).max()),
        }


def _with_invariants(fields: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    for f in fields:
        f["von_mises"] = von_mises(f["cauchy_stress"])
        f["max_principal_stress"] = principal_stresses(f["cauchy_stress"])[:, 0]
    return fields


def _pvd(entries: list[tuple[float, str]]) -> str:
    rows = "\n".join(
        f'    <DataSet timestep="{lam:.6g}" group="" part="0" file={quoteattr(name)}/>'
        for lam, name in entries
    )
    return (
        '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
        f"{rows}\n  </Collection>\n</VTKFile>\n"
    )


def usual_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give (0o666 less the umask): mkstemp's
    temporary files are 0600, unreadable by a web server or a colleague once renamed."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, usual_file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_meshio(mesh, path: Path) -> None:
    import meshio

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        meshio.write(tmp, mesh)
        os.chmod(tmp, usual_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def progress_callback(progress) -> tuple[Callable[[float], None] | None, Callable[[], None]]:
    """A tqdm bar over the load factor when asked for (default: only on a TTY)."""
    if callable(progress):
        return progress, lambda: None
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", desc="load", leave=False)

    def update(lam: float) -> None:
        bar.n = round(100 * lam)
        bar.refresh()

    return update, bar.close
