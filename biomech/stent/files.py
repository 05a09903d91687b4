"""Beam networks read from files: EndoBeams text files or VTK polylines, moved to the device frame.

EndoBeams format (bisighinibeatrice/EndoBeams.jl): ``positions`` one node "x y z" per line,
``connectivity`` one beam "i j" per line, ``constraints`` one tied pair "i j" per line,
indices 1-based. A VTK/VTP/VTU file of lines or polylines may replace positions and
connectivity. Coordinates are converted to mm, the axis is found by a least-squares
cylinder fit and the network is moved so the axis is +z and it starts at z = 0.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from biomech.errors import CaseError
from biomech.stent.materials import NITINOL_DEFAULTS, check_material
from biomech.stent.network import CIRCLE, BeamNetwork, radial_orientation
from biomech.units import length_factor

__all__ = ["ENDOBEAMS_WIRE_DIAMETER_MM", "fit_cylinder", "from_files"]

#: EndoBeams' braided stent (the one in ../shared/data/endobeams-stent/): its generator's
#: ``BraidedStent`` defaults (24 wires each way, rStent 2.3 mm, length 7.5 mm, 35 cells)
#: reproduce the shared file exactly and give rWireSection = 0.014 mm, the radius its
#: crimping script uses too (bisighinibeatrice/EndoBeams.jl, stent/crimping.jl).
ENDOBEAMS_WIRE_DIAMETER_MM = 0.028

_VTK_SUFFIXES = {".vtk", ".vtp", ".vtu"}


def from_files(positions: str | Path, connectivity: str | Path | None = None,
               constraints: str | Path | None = None, wire_diameter: float | None = None, *,
               units: str = "mm", diameter: float | None = None,
               material: dict[str, Any] | None = None, name: str | None = None) -> BeamNetwork:
    """A BeamNetwork from EndoBeams text files or a VTK polyline file, in the device frame (mm).

    ``wire_diameter`` (mm, circular section) is required: files carry no section. The
    fitted axis becomes +z and the lowest node z = 0; ``source_from_device`` maps back to
    the file's frame (in mm). ``diameter`` (mm) overrides the fitted nominal diameter.
    """
    if wire_diameter is None:
        raise CaseError(
            "wire_diameter is required for a beam network read from files (the files carry "
            "no section); give it in mm, e.g. wire_diameter = \"0.028 mm\" for EndoBeams' "
            "braided stent (wire radius 0.014 mm in EndoBeams.jl)"
        )
    if not (np.isfinite(wire_diameter) and wire_diameter > 0):
        raise CaseError(f"wire_diameter = {wire_diameter} mm must be positive")
    points, beams = _read_geometry(Path(positions), connectivity)
    points = points * length_factor(units)
    ties = _read_pairs(Path(constraints), len(points), "constraints") if constraints else None
    centre, axis, radius = fit_cylinder(points)
    nodes, source_from_device = _to_device_frame(points, centre, axis)
    net = BeamNetwork(
        nodes=nodes, beams=beams, orientation=radial_orientation(nodes, beams), section=CIRCLE,
        width=wire_diameter, thickness=wire_diameter,
        material=check_material(dict(NITINOL_DEFAULTS if material is None else material)),
        ties=ties if ties is not None else np.zeros((0, 2), np.int64),
        name=name or Path(positions).stem, kind="file",
        nominal_diameter_mm=float(diameter if diameter is not None else 2 * radius),
        length_mm=float(nodes[:, 2].max()), source_from_device=source_from_device,
    )
    return net.validate()


def _read_geometry(positions: Path, connectivity) -> tuple[np.ndarray, np.ndarray]:
    if positions.suffix.lower() in _VTK_SUFFIXES:
        if connectivity is not None:
            raise CaseError(f"{positions}: a VTK file carries its own lines; drop connectivity")
        return _read_polylines(positions)
    if connectivity is None:
        raise CaseError(f"{positions}: text positions need a connectivity file (1-based pairs)")
    points = _load(positions, float, "positions")
    if points.shape[1] != 3:
        raise CaseError(f"{positions}: positions need 3 columns (x y z), found {points.shape[1]}")
    return points, _read_pairs(Path(connectivity), len(points), "connectivity")


def _load(path: Path, dtype, what: str) -> np.ndarray:
    try:
        data = np.loadtxt(path, dtype=dtype, ndmin=2)
    except OSError:
        raise CaseError(f"{what} file {path} not found or unreadable") from None
    except ValueError as exc:
        raise CaseError(f"{what} file {path}: cannot read numbers ({exc})") from None
    if data.size == 0:
        raise CaseError(f"{what} file {path} is empty")
    if not np.isfinite(data).all():
        raise CaseError(f"{what} file {path}: non-finite values")
    return data


def _read_pairs(path: Path, n_nodes: int, what: str) -> np.ndarray:
    """1-based node pairs from a text file -> 0-based (k, 2) int64."""
    pairs = _load(path, np.int64, what)
    if pairs.shape[1] != 2:
        raise CaseError(f"{what} file {path}: need 2 columns (node pairs), found {pairs.shape[1]}")
    if pairs.min() < 1 or pairs.max() > n_nodes:
        raise CaseError(f"{what} file {path}: node indices must be 1-based within [1, {n_nodes}] "
                        f"(found {pairs.min()}..{pairs.max()})")
    return pairs - 1


def _read_polylines(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Points and 2-node segments of the lines/polylines in a VTK file."""
    import pyvista as pv

    try:
        mesh = pv.read(path)
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise CaseError(f"cannot read {path}: {exc}") from None
    if not isinstance(mesh, pv.PolyData):
        mesh = mesh.extract_geometry()
    flat, beams, i = np.asarray(mesh.lines), [], 0
    while i < len(flat):
        ids = flat[i + 1:i + 1 + flat[i]]
        beams.extend(itertools.pairwise(ids))
        i += flat[i] + 1
    if not beams:
        raise CaseError(f"{path}: no line or polyline cells (a stent needs beams)")
    return np.asarray(mesh.points, np.float64), np.asarray(beams, np.int64)


def fit_cylinder(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Least-squares cylinder through ``points`` (mm): (point on axis, unit axis, radius).

    Starts from each principal direction of the point cloud and keeps the best fit, so short
    rings (diameter > length) and long stents both work.
    """
    from scipy.optimize import least_squares

    centre = points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov((points - centre).T))
    best = None
    for start in vectors.T:
        e1, e2 = _perpendicular_basis(start)

        def residual(x, e1=e1, e2=e2, start=start):
            axis = start + x[0] * e1 + x[1] * e2
            axis = axis / np.linalg.norm(axis)
            d = points - (centre + x[2] * e1 + x[3] * e2)
            return np.linalg.norm(d - np.outer(d @ axis, axis), axis=1) - x[4]

        r0 = np.linalg.norm(np.cross(points - centre, start), axis=1).mean()
        fit = least_squares(residual, [0.0, 0.0, 0.0, 0.0, r0], x_scale="jac")
        if best is None or fit.cost < best[0].cost:
            best = (fit, start, e1, e2)
    fit, start, e1, e2 = best
    axis = start + fit.x[0] * e1 + fit.x[1] * e2
    return centre + fit.x[2] * e1 + fit.x[3] * e2, axis / np.linalg.norm(axis), float(abs(fit.x[4]))


def _perpendicular_basis(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(axis, e1)


def _to_device_frame(points: np.ndarray, on_axis: np.ndarray, axis: np.ndarray):
    """Rotate ``axis`` onto +z (smallest rotation), axis through x = y = 0, min z = 0.

    Returns the device-frame nodes and the 4x4 matrix mapping device -> source frame.
    """
    if axis[2] < 0 or (axis[2] == 0 and axis[np.flatnonzero(axis)[0]] < 0):
        axis = -axis
    rotation = _rotation_onto_z(axis)
    local = (points - on_axis) @ rotation.T
    origin = on_axis + rotation.T @ np.array([0.0, 0.0, local[:, 2].min()])
    nodes = (points - origin) @ rotation.T
    nodes[:, 2] -= nodes[:, 2].min()  # exactly 0 despite round-off
    source_from_device = np.eye(4)
    source_from_device[:3, :3], source_from_device[:3, 3] = rotation.T, origin
    return nodes, source_from_device


def _rotation_onto_z(axis: np.ndarray) -> np.ndarray:
    """Rotation matrix R with R @ axis = e_z, rotating about axis × e_z (Rodrigues)."""
    z = np.array([0.0, 0.0, 1.0])
    v, c = np.cross(axis, z), float(axis @ z)
    if np.linalg.norm(v) < 1e-15:
        return np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)
