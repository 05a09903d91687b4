"""Select boundary faces, their nodes, or cells of a region (coordinates in mm).

A face selector is a face-set name (``"inner"``) or a dict with exactly one shape key plus
an optional ``tol``::

    {"plane": {"point": [0, 0, 0], "normal": [0, 0, 1]}}
    {"cylinder": {"point": [0, 0, 0], "axis": [0, 0, 1], "radius": 5.0}}
    {"sphere": {"center": [0, 0, 0], "radius": "1 cm"}}
    {"box": {"min": [0, 0, 0], "max": [1, 1, 1]}, "tol": "0.01 mm"}

Numbers are mm; strings with length units ("2 cm") are accepted for coordinates, radius and
tol. The cylinder is infinite along its axis. A boundary face is selected when all its nodes
lie on the surface within ``tol`` (box: inside the box grown by ``tol``); the default tol is
1e-6 x the mesh bounding-box diagonal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from biomech.errors import MeshError
from biomech.mesh.boundary import boundary_faces
from biomech.mesh.core import Mesh
from biomech.units import parse_quantity

__all__ = ["select_faces", "select_nodes", "select_cells", "SHAPES"]

#: selector shape -> (required keys, vector keys, direction keys)
SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "plane": (("point", "normal"), ("point",), ("normal",)),
    "cylinder": (("point", "axis", "radius"), ("point",), ("axis",)),
    "sphere": (("center", "radius"), ("center",), ()),
    "box": (("min", "max"), ("min", "max"), ()),
}
DEFAULT_RELATIVE_TOL = 1e-6


def select_faces(
    mesh: Mesh, selector: Any, *, name: str = "faces", allow_empty: bool = False
) -> dict[str, np.ndarray]:
    """Outward boundary faces (node indices per face type) picked by ``selector``.

    ``name`` labels the selection in error messages (e.g. "pressure"). An empty selection
    raises MeshError unless ``allow_empty``; then types without faces are absent.
    """
    if isinstance(selector, str):
        faces = _face_set(mesh, selector, name)
        if not faces and not allow_empty:
            raise MeshError(
                f"{name}: face set {selector!r} of mesh {mesh.source} is empty; check the mesh "
                f"export (the physical surface / element set has no faces)"
            )
        return faces
    if not isinstance(selector, Mapping):
        raise MeshError(
            f"{name}: face selector {selector!r} must be a face-set name (one of "
            f"{_names(mesh)}) or a table with one of {', '.join(SHAPES)}"
        )
    on_surface = _node_predicate(mesh, selector, name)
    out = {}
    for ftype, faces in boundary_faces(mesh).items():
        keep = on_surface[faces].all(axis=1)
        if keep.any():
            out[ftype] = faces[keep]
    if not out and not allow_empty:
        lo, hi = mesh.points.min(axis=0), mesh.points.max(axis=0)
        raise MeshError(
            f"{name}: faces {dict(selector)!r} select no boundary face of mesh {mesh.source}; "
            f"the mesh spans bbox min {_fmt(lo)} max {_fmt(hi)} mm (tol "
            f"{_tolerance(mesh, selector, name):.3g} mm): check the coordinates, the units "
            f"(mesh units vs case units) and tol"
        )
    return out


def select_nodes(
    mesh: Mesh, selector: Any, *, name: str = "faces", allow_empty: bool = False
) -> np.ndarray:
    """Sorted unique node indices (int64) of the faces picked by :func:`select_faces`."""
    faces = select_faces(mesh, selector, name=name, allow_empty=allow_empty)
    if not faces:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate([f.ravel() for f in faces.values()])).astype(np.int64)


def select_cells(mesh: Mesh, region: str | int | None = "all") -> list[np.ndarray]:
    """Indices (int64) of the cells of each block in ``region`` (a name, a tag, or "all")."""
    if region is None or (isinstance(region, str) and region == "all"):
        return [np.arange(len(b.conn), dtype=np.int64) for b in mesh.blocks]
    try:
        tag = mesh.region_tag(region)
    except KeyError as err:
        raise MeshError(err.args[0]) from None
    return [np.flatnonzero(b.region == tag).astype(np.int64) for b in mesh.blocks]


# --- implementation ----------------------------------------------------------------------


def _names(mesh: Mesh) -> str:
    return ", ".join(repr(n) for n in sorted(mesh.face_sets)) or "none"


def _fmt(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{x:.4g}" for x in v) + "]"


def _face_set(mesh: Mesh, set_name: str, name: str) -> dict[str, np.ndarray]:
    if set_name not in mesh.face_sets:
        raise MeshError(
            f"{name}: face set {set_name!r} is not in mesh {mesh.source}; face sets present: "
            f"{_names(mesh)} (or select faces geometrically with plane/cylinder/sphere/box)"
        )
    return {t: f for t, f in mesh.face_sets[set_name].items() if len(f)}


def _tolerance(mesh: Mesh, selector: Mapping, name: str) -> float:
    if selector.get("tol") is None:
        return DEFAULT_RELATIVE_TOL * mesh.bounding_box_diagonal
    tol = parse_quantity(selector["tol"], "length", key=f"{name}.tol")
    if tol < 0:
        raise MeshError(f"{name}.tol = {selector['tol']!r} must not be negative")
    return tol


def _vector(value: Any, key: str, lengths: bool) -> np.ndarray:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 3:
        raise MeshError(f"{key} = {value!r} must be a list of 3 numbers, e.g. [0, 0, 1]")
    if lengths:
        return np.array([parse_quantity(v, "length", key=key) for v in value])
    out = np.array(
        [parse_quantity(v, "dimensionless", key=key) for v in value], dtype=np.float64
    )
    norm = np.linalg.norm(out)
    if norm == 0:
        raise MeshError(f"{key} = {value!r} is the zero vector; give a non-zero direction")
    return out / norm


def _node_predicate(mesh: Mesh, selector: Mapping, name: str) -> np.ndarray:
    shapes = [k for k in selector if k in SHAPES]
    unknown = [k for k in selector if k not in SHAPES and k != "tol"]
    if unknown or len(shapes) != 1:
        why = f"unknown key(s) {unknown}" if unknown else f"{len(shapes)} shapes {shapes}"
        raise MeshError(
            f"{name}: face selector {dict(selector)!r} has {why}; give exactly one of "
            f"{', '.join(SHAPES)} (plus optional tol), or a face-set name ({_names(mesh)})"
        )
    shape = shapes[0]
    spec = selector[shape]
    required, vectors, directions = SHAPES[shape]
    key = f"{name}.{shape}"
    if not isinstance(spec, Mapping) or set(spec) != set(required):
        got = sorted(spec) if isinstance(spec, Mapping) else repr(spec)
        raise MeshError(f"{key} needs exactly the keys {list(required)}, got {got}")
    v = {k: _vector(spec[k], f"{key}.{k}", lengths=True) for k in vectors}
    v.update({k: _vector(spec[k], f"{key}.{k}", lengths=False) for k in directions})
    tol = _tolerance(mesh, selector, name)
    x = mesh.points
    if shape == "plane":
        return np.abs((x - v["point"]) @ v["normal"]) <= tol
    if shape == "box":
        if (v["min"] > v["max"]).any():
            raise MeshError(f"{key}: min {spec['min']!r} exceeds max {spec['max']!r} somewhere")
        return ((x >= v["min"] - tol) & (x <= v["max"] + tol)).all(axis=1)
    radius = parse_quantity(spec["radius"], "length", key=f"{key}.radius")
    if radius <= 0:
        raise MeshError(f"{key}.radius = {spec['radius']!r} must be positive")
    if shape == "sphere":
        return np.abs(np.linalg.norm(x - v["center"], axis=1) - radius) <= tol
    r = x - v["point"]
    r -= np.outer(r @ v["axis"], v["axis"])
    return np.abs(np.linalg.norm(r, axis=1) - radius) <= tol
