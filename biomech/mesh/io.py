"""Read and write tagged volume meshes through meshio (coordinates converted to mm).

Reading (:func:`read_mesh`, :func:`from_meshio`):

* Volume cells tetra, tetra10, hexahedron, wedge become ``Mesh.blocks`` (one block per type).
* Region tag per cell: the first cell-data array found among ``REGION_KEYS``; else Abaqus-style
  cell sets of volume cells (tags 1..k in file order; a cell in several sets belongs to the
  smallest); else region 1 everywhere.
* Names come from meshio ``field_data`` entries ``{name: [tag, dim]}`` (gmsh physical names;
  dim 3 = region, dim 2 = face set) and from cell sets (their names). Names of tags that no
  cell carries are dropped.
* Face sets: stored boundary cells (triangle, triangle6, quad; also triangle7/quad8/quad9
  matched by their corners) grouped by the first tag array among ``FACE_TAG_KEYS`` (tag 0 =
  no face set, as in gmsh), named from field data or ``faces_<tag>``; plus cell sets of 2-D
  cells. Each face is matched to a boundary face of the volume and takes its outward
  orientation (and, for tetra10, its mid-edge nodes).
* Every other cell-data array of the volume cells goes to ``Mesh.cell_data`` (e.g. a fibre
  ``basis``); point data to ``Mesh.point_data`` (not scaled by ``units``).

Writing (:func:`write_mesh`) by extension: ``.vtu`` (everything: regions, face sets, names
as VTK FieldData, cell and point data), ``.msh`` (gmsh 2.2 ascii: regions, face sets and
names as physical groups; no cell/point data - meshio 5.3 cannot round-trip gmsh
ElementData), ``.inp`` (Abaqus: regions and face sets as named ELSETs, region tags
renumbered 1..k in tag order; no cell/point data), ``.mesh`` (medit: tags only, names lost,
face sets come back as ``faces_<tag>``), ``.vtk`` (legacy: tags and data, names lost);
other extensions go to meshio as they are.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from xml.sax.saxutils import quoteattr

import meshio
import numpy as np

from biomech.errors import MeshError, UnitError
from biomech.mesh.boundary import boundary_faces, locate_boundary_faces
from biomech.mesh.core import FACE_CELL_TYPES, VOLUME_CELL_TYPES, CellBlock, Mesh
from biomech.units import length_factor

__all__ = [
    "REGION_KEYS",
    "FACE_TAG_KEYS",
    "read_mesh",
    "write_mesh",
    "from_meshio",
    "to_meshio",
]

REGION_KEYS = ("region", "gmsh:physical", "medit:ref", "CellEntityIds", "tag")
FACE_TAG_KEYS = ("face_set", "gmsh:physical", "medit:ref", "CellEntityIds", "tag", "region")
_TAG_KEYS = frozenset(REGION_KEYS + FACE_TAG_KEYS + ("gmsh:geometrical",))
_STORED_FACE_CORNERS = {
    "triangle": 3, "triangle6": 3, "triangle7": 3, "quad": 4, "quad8": 4, "quad9": 4,
}
_TYPE_ALIASES = {"tetra4": "tetra"}  # meshio's name for Abaqus C3D4H
_ABAQUS_TYPES = {
    "tetra": "C3D4", "tetra10": "C3D10", "hexahedron": "C3D8", "wedge": "C3D6",
    "triangle": "S3", "triangle6": "STRI65", "quad": "S4",
}
_FORMATS = {".vtu": "vtu", ".vtk": "vtk", ".msh": "gmsh22", ".inp": "abaqus", ".mesh": "medit"}
_UNUSED_POINTS_WARN = 0.1


# --- reading -----------------------------------------------------------------------------


def read_mesh(
    path: str | os.PathLike, units: str = "mm", *, file_format: str | None = None
) -> Mesh:
    """Read a volume mesh file meshio understands; coordinates in ``units`` are returned in mm.

    ``file_format`` overrides meshio's choice by extension (e.g. "gmsh", "abaqus").
    Raises MeshError naming the file for a missing, unreadable or unusable mesh.
    """
    path = Path(path)
    try:
        length_factor(units)
    except UnitError as err:
        raise UnitError(f"mesh {path}: {err}") from None
    if not path.exists():
        raise MeshError(
            f"mesh file {path} does not exist (resolved to {path.resolve()}); check the file "
            f"name and that relative paths start from the case file's folder"
        )
    if not path.is_file():
        raise MeshError(f"mesh file {path} is not a regular file; give the path of a mesh file")
    said = io.StringIO()  # meshio prints some read errors, then calls sys.exit
    try:
        with warnings.catch_warnings(), redirect_stdout(said), redirect_stderr(said):
            warnings.simplefilter("ignore")
            raw = meshio.read(path, file_format=file_format)
    except ModuleNotFoundError as err:
        raise MeshError(
            f"cannot read mesh file {path}: meshio needs the Python package {err.name!r} for "
            f"{path.suffix or 'this'} files, which is not installed; convert the mesh to .vtu "
            f"or .msh elsewhere, or install {err.name}"
        ) from None
    except (Exception, SystemExit) as err:  # meshio raises many types, or exits
        if isinstance(err, SystemExit):
            detail = " ".join(said.getvalue().split()) or "meshio gave up"
        else:
            detail = f"{type(err).__name__}: {err}"
        raise MeshError(
            f"cannot read mesh file {path}: {detail.rstrip('.')}. Check that the file is "
            f"complete and in a format meshio reads (chosen from the extension "
            f"{path.suffix!r}; e.g. .vtu, .vtk, .msh, .inp, .mesh, .xdmf), or pass file_format"
        ) from None
    return from_meshio(raw, units=units, source=str(path))


def from_meshio(m: meshio.Mesh, units: str = "mm", source: str = "<memory>") -> Mesh:
    """Convert a meshio mesh (coordinates in ``units``) to a tagged :class:`Mesh` in mm."""
    try:
        factor = length_factor(units)
    except UnitError as err:
        raise UnitError(f"mesh {source}: {err}") from None
    points = _checked_points(m.points, source)

    volume, faces, unsupported = [], [], {}
    for i, cb in enumerate(m.cells):
        ctype = _TYPE_ALIASES.get(cb.type, cb.type)
        data = np.asarray(cb.data)
        if ctype in VOLUME_CELL_TYPES:
            volume.append((i, ctype, data))
        elif ctype in _STORED_FACE_CORNERS:
            faces.append((i, ctype, data))
        elif _dimension(ctype) == 3:
            unsupported[ctype] = unsupported.get(ctype, 0) + len(data)
    if unsupported:
        found = ", ".join(f"{t} ({n} cells)" for t, n in unsupported.items())
        raise MeshError(
            f"mesh {source}: volume cell type(s) {found} are not supported; supported volume "
            f"types: {', '.join(VOLUME_CELL_TYPES)}. Remesh with these types (in gmsh: "
            f"tetrahedra of order 1 or 2, or first-order hexahedra/prisms, and no pyramids)"
        )
    if not any(len(d) for _, _, d in volume):
        if any(len(d) for _, _, d in faces):
            kinds = ", ".join(sorted({t for _, t, _ in faces}))
            raise MeshError(
                f"mesh {source} holds only surface cells ({kinds}) and no volume cells; biomech "
                f"needs a volume mesh (tetra, tetra10, hexahedron or wedge): mesh the volume "
                f"(e.g. gmsh 'Mesh 3', tetgen or fTetWild) and export it"
            )
        raise MeshError(
            f"mesh {source} is empty: it holds no volume cells (types found: "
            f"{', '.join(sorted({c.type for c in m.cells})) or 'none'}); export the volume mesh"
        )
    for i, ctype, data in volume + faces:
        _check_connectivity(data, len(points), ctype, source)

    cell_data = dict(m.cell_data)
    cell_sets = _valid_cell_sets(m, source)
    field_names = _field_names(m.field_data)

    region_key = next((k for k in REGION_KEYS if k in cell_data), None)
    set_names: dict[str, int] = {}
    if region_key is not None:
        tags = {i: _tag_array(cell_data[region_key][i], region_key, source) for i, _, _ in volume}
    else:
        tags, set_names = _regions_from_cell_sets(cell_sets, volume, source)

    blocks, extra = _merge_blocks(volume, tags, cell_data, source)
    present = {int(t) for b in blocks for t in np.unique(b.region)}
    region_names = {n: t for (n, (t, dim)) in field_names.items() if dim == 3 and t in present}
    region_names.update(set_names)

    point_data = {}
    for key, value in m.point_data.items():
        value = np.asarray(value)
        if key not in _TAG_KEYS and key != "gmsh:dim_tags" and len(value) == len(points):
            point_data[key] = value
    mesh = Mesh(
        points * factor, blocks, region_names=region_names, cell_data=extra,
        point_data=point_data, source=source,
    )
    mesh.face_sets = _face_sets(mesh, faces, cell_data, cell_sets, field_names)
    _warn_unused_points(mesh)
    return mesh


def _checked_points(points: np.ndarray, source: str) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.size == 0:
        raise MeshError(f"mesh {source} is empty: it has no points; export the volume mesh")
    if points.ndim != 2 or points.shape[1] != 3:
        raise MeshError(
            f"mesh {source}: points have shape {points.shape}; biomech needs 3-D coordinates "
            f"(n, 3) - export the mesh in 3-D"
        )
    bad = ~np.isfinite(points).all(axis=1)
    if bad.any():
        raise MeshError(
            f"mesh {source}: {int(bad.sum())} points have NaN or infinite coordinates (first: "
            f"point {int(np.flatnonzero(bad)[0])}, 0-based); repair or regenerate the mesh"
        )
    return points


def _dimension(cell_type: str) -> int:
    try:
        from meshio._mesh import topological_dimension

        if cell_type in topological_dimension:
            return int(topological_dimension[cell_type])
    except ImportError:  # pragma: no cover - meshio internals moved
        pass
    if cell_type.startswith(("tetra", "hexahedron", "wedge", "pyramid", "polyhedron")):
        return 3
    if cell_type.startswith(("triangle", "quad", "polygon")):
        return 2
    return 1


def _check_connectivity(data: np.ndarray, n_points: int, ctype: str, source: str) -> None:
    if data.size == 0:
        return
    bad = (data < 0) | (data >= n_points)
    if bad.any():
        cell = int(np.flatnonzero(bad.any(axis=1))[0])
        raise MeshError(
            f"mesh {source}: {ctype} cell {cell} refers to node {int(data[cell][bad[cell]][0])}, "
            f"but the mesh has nodes 0..{n_points - 1}; the file is inconsistent - re-export it"
        )


def _tag_array(values: np.ndarray, key: str, source: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise MeshError(
            f"mesh {source}: cell data {key!r} has shape {values.shape}; a tag array needs "
            f"one integer per cell"
        )
    is_float = values.dtype.kind == "f"
    as_int = (np.rint(values) if is_float else values).astype(np.int64)
    if is_float and not np.array_equal(as_int, values):
        raise MeshError(
            f"mesh {source}: cell data {key!r} holds non-integer values (e.g. "
            f"{values[as_int != values][0]!r}); region and face tags must be integers"
        )
    return as_int


def _field_names(field_data: Mapping) -> dict[str, tuple[int, int]]:
    """Names of the form {name: [tag, dim]} with dim 2 or 3 (gmsh physical names)."""
    out = {}
    for name, value in field_data.items():
        try:
            v = np.asarray(value, dtype=float).ravel()
        except (TypeError, ValueError):
            continue  # e.g. string field data written by other tools
        if v.size == 2 and np.isfinite(v).all() and v[1] in (2, 3) and v[0].is_integer():
            out[str(name)] = (int(v[0]), int(v[1]))
    return out


def _valid_cell_sets(m: meshio.Mesh, source: str) -> dict[str, list[np.ndarray]]:
    """Cell sets as {name: [indices per cell block]}; malformed entries are skipped."""
    out = {}
    for name, per_block in (m.cell_sets or {}).items():
        if name.startswith("gmsh:"):
            continue
        try:
            arrays = [
                np.zeros(0, np.int64) if a is None else np.asarray(a, dtype=np.int64).ravel()
                for a in per_block
            ]
        except (TypeError, ValueError):
            arrays = []
        ok = len(arrays) == len(m.cells) and all(
            a.size == 0 or (a.min() >= 0 and a.max() < len(c.data)) for a, c in zip(arrays, m.cells)
        )
        if not ok:
            warnings.warn(f"mesh {source}: cell set {name!r} is malformed in the file and ignored")
            continue
        out[name] = arrays
    return out


def _regions_from_cell_sets(
    cell_sets: dict[str, list[np.ndarray]], volume: list, source: str
) -> tuple[dict[int, np.ndarray], dict[str, int]]:
    tags = {i: np.zeros(len(d), dtype=np.int64) for i, _, d in volume}
    sets = [
        (name, arrays) for name, arrays in cell_sets.items()
        if any(arrays[i].size for i, _, _ in volume)
    ]
    if not sets:
        return {i: np.ones(len(d), dtype=np.int64) for i, _, d in volume}, {}
    tag_of = {name: t + 1 for t, (name, _) in enumerate(sets)}
    size = {name: sum(arrays[i].size for i, _, _ in volume) for name, arrays in sets}
    for name, arrays in sorted(sets, key=lambda s: -size[s[0]]):  # smaller sets win
        for i, _, _ in volume:
            tags[i][arrays[i]] = tag_of[name]
    present = {int(t) for a in tags.values() for t in np.unique(a)}
    names = {name: t for name, t in tag_of.items() if t in present}
    hidden = [name for name in tag_of if name not in names]
    if hidden:
        warnings.warn(
            f"mesh {source}: cell set(s) {hidden} are fully covered by smaller sets and are not "
            f"used as regions (each cell belongs to the smallest set containing it)"
        )
    n_free = sum(int((a == 0).sum()) for a in tags.values())
    if n_free:
        warnings.warn(
            f"mesh {source}: {n_free} volume cells are in no element set; they get region tag 0"
        )
    return tags, names


def _merge_blocks(
    volume: list, tags: dict[int, np.ndarray], cell_data: dict, source: str
) -> tuple[list[CellBlock], dict[str, list[np.ndarray]]]:
    """One CellBlock per volume type (file order), with the extra cell data concatenated."""
    types = list(dict.fromkeys(t for _, t, d in volume if len(d)))
    extra_keys = [k for k in cell_data if k not in _TAG_KEYS]
    blocks, extra = [], {k: [] for k in extra_keys}
    for ctype in types:
        parts = [(i, d) for i, t, d in volume if t == ctype and len(d)]
        conn = np.concatenate([d for _, d in parts])
        region = np.concatenate([tags[i] for i, _ in parts])
        blocks.append(CellBlock(ctype, conn, region))
        for key in extra_keys:
            arrays = [np.asarray(cell_data[key][i]) for i, _ in parts]
            if len({a.shape[1:] for a in arrays}) != 1:
                raise MeshError(
                    f"mesh {source}: cell data {key!r} has different shapes per {ctype} block "
                    f"({[a.shape for a in arrays]}); give one shape for all cells"
                )
            extra[key].append(np.concatenate(arrays))
    return blocks, extra


def _face_sets(
    mesh: Mesh, faces: list, cell_data: dict, cell_sets: dict, field_names: dict
) -> dict[str, dict[str, np.ndarray]]:
    """Face sets from tagged stored faces and 2-D cell sets, matched to the boundary."""
    tag_names = {t: n for n, (t, dim) in field_names.items() if dim == 2}
    groups: dict[str, list[np.ndarray]] = {}  # name -> list of corner arrays
    face_key = next((k for k in FACE_TAG_KEYS if k in cell_data), None)
    if face_key is not None:
        for i, ctype, data in faces:
            tags = _tag_array(cell_data[face_key][i], face_key, mesh.source)
            corners = data[:, : _STORED_FACE_CORNERS[ctype]]
            for tag in np.unique(tags[tags > 0]):
                name = tag_names.get(int(tag), f"faces_{int(tag)}")
                groups.setdefault(name, []).append(corners[tags == tag])
    from_sets: dict[str, list[np.ndarray]] = {}
    for name, arrays in cell_sets.items():
        for i, ctype, data in faces:
            if arrays[i].size and name not in groups:
                from_sets.setdefault(name, []).append(
                    data[arrays[i], : _STORED_FACE_CORNERS[ctype]]
                )
    groups.update(from_sets)
    return {name: _match_faces(mesh, name, parts) for name, parts in groups.items()}


def _match_faces(mesh: Mesh, name: str, parts: list[np.ndarray]) -> dict[str, np.ndarray]:
    bnd = boundary_faces(mesh)
    picked: dict[str, list[np.ndarray]] = {}
    for corners in parts:
        code, index = locate_boundary_faces(mesh, corners)
        missing = code < 0
        if missing.any():
            example = corners[np.flatnonzero(missing)[0]].tolist()
            raise MeshError(
                f"mesh {mesh.source}: face set {name!r} has {int(missing.sum())} of "
                f"{len(corners)} faces that are not on the boundary of the volume mesh (e.g. "
                f"the face with nodes {example}, 0-based); face sets must lie on the outer "
                f"surface - remove interior surfaces from this physical group / set, or "
                f"check that surface and volume mesh share nodes"
            )
        for c in np.unique(code):
            picked.setdefault(FACE_CELL_TYPES[c], []).append(index[code == c])
    out = {}
    for ftype, idx in picked.items():
        idx = np.concatenate(idx)
        _, first = np.unique(idx, return_index=True)
        out[ftype] = bnd[ftype][idx[np.sort(first)]]
    return out


def _warn_unused_points(mesh: Mesh) -> None:
    used = np.zeros(mesh.n_points, dtype=bool)
    for b in mesh.blocks:
        used[b.conn.ravel()] = True
    unused = int((~used).sum())
    if unused > max(100, _UNUSED_POINTS_WARN * mesh.n_points):
        warnings.warn(
            f"mesh {mesh.source}: {unused} of {mesh.n_points} points belong to no volume cell; "
            f"they are kept but carry no stiffness (fine if intended, e.g. geometry points)"
        )


# --- writing -----------------------------------------------------------------------------


def to_meshio(mesh: Mesh) -> meshio.Mesh:
    """meshio mesh with volume blocks, face sets as boundary cells (cell data ``face_set``),
    regions as cell data ``region``, names in ``field_data`` as {name: [tag, dim]}
    (dim 3 region, dim 2 face set), extra cell data (zero on face cells; (n, 3, 3) arrays are
    flattened to (n, 9) because file formats store at most 2-D arrays) and point data."""
    face_tags = _face_set_tags(mesh)
    _check_name_clash(mesh)
    cells, region, face_set = [], [], []
    for b in mesh.blocks:
        cells.append((b.type, b.conn))
        region.append(b.region)
        face_set.append(np.zeros(len(b.conn), dtype=np.int64))
    for name, tag in face_tags.items():
        for ftype, conn in mesh.face_sets[name].items():
            if len(conn):
                cells.append((ftype, conn))
                region.append(np.zeros(len(conn), dtype=np.int64))
                face_set.append(np.full(len(conn), tag, dtype=np.int64))
    cell_data = {"region": region, "face_set": face_set}
    for key, arrays in mesh.cell_data.items():
        if len(arrays) != len(mesh.blocks) or any(
            len(a) != len(b.conn) for a, b in zip(arrays, mesh.blocks)
        ):
            raise MeshError(
                f"mesh {mesh.source}: cell data {key!r} needs one array per block with one row "
                f"per cell ({[len(b.conn) for b in mesh.blocks]} rows), got "
                f"{[np.shape(a) for a in arrays]}"
            )
        volume = [np.asarray(a) for a in arrays]
        volume = [a.reshape(len(a), -1) if a.ndim > 2 else a for a in volume]
        shape, dtype = volume[0].shape[1:], volume[0].dtype
        pad = [np.zeros((len(c),) + shape, dtype) for _, c in cells[len(volume) :]]
        cell_data[key] = volume + pad
    field_data = {name: np.array([tag, 3]) for name, tag in mesh.region_names.items()}
    field_data.update({name: np.array([tag, 2]) for name, tag in face_tags.items()})
    return meshio.Mesh(
        mesh.points, cells, point_data=dict(mesh.point_data), cell_data=cell_data,
        field_data=field_data,
    )


def write_mesh(mesh: Mesh, path: str | os.PathLike, *, file_format: str | None = None) -> Path:
    """Write ``mesh`` (mm) atomically so that :func:`read_mesh` restores it; returns the path.

    The format follows the extension (see the module docstring for what each keeps) unless
    ``file_format`` (a meshio format name) is given.
    """
    path = Path(path)
    fmt = file_format or _FORMATS.get(path.suffix.lower())
    if not path.parent.is_dir():
        raise MeshError(f"cannot write mesh {path}: folder {path.parent} does not exist")
    m = to_meshio(mesh)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    try:
        if fmt == "vtu":
            meshio.write(tmp, m, file_format="vtu")
            _add_vtu_field_data(tmp, m.field_data)
        elif fmt in ("gmsh22", "gmsh"):
            _warn_lost(mesh, path, names=False, data=True)
            _as_gmsh(m)
            meshio.write(tmp, m, file_format="gmsh22", binary=False)
        elif fmt == "abaqus":
            _warn_lost(mesh, path, names=False, data=True)
            _write_abaqus(mesh, tmp)
        elif fmt == "medit":
            _warn_lost(mesh, path, names=True, data=True)
            tags = [r + f for r, f in zip(m.cell_data["region"], m.cell_data["face_set"])]
            m.cell_data = {"medit:ref": tags}
            m.point_data = {}
            meshio.write(tmp, m, file_format="medit")
        elif fmt == "vtk":
            _warn_lost(mesh, path, names=True, data=False)
            m.field_data = {}
            meshio.write(tmp, m, file_format="vtk")
        else:
            meshio.write(tmp, m, file_format=fmt)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except Exception as err:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, MeshError):
            raise
        raise MeshError(
            f"cannot write mesh {path} ({fmt or path.suffix or 'unknown format'}): "
            f"{type(err).__name__}: {err}; use .vtu, .msh, .inp or .mesh"
        ) from None
    return path


def _face_set_tags(mesh: Mesh) -> dict[str, int]:
    """Tag per non-empty face set: faces_<n> keeps n when free, others get the next free tag."""
    names = [n for n, d in mesh.face_sets.items() if any(len(c) for c in d.values())]
    tags: dict[str, int] = {}
    for name in names:
        match = re.fullmatch(r"faces_(\d+)", name)
        if match and int(match[1]) > 0 and int(match[1]) not in tags.values():
            tags[name] = int(match[1])
    nxt = 1
    for name in names:
        if name not in tags:
            while nxt in tags.values():
                nxt += 1
            tags[name] = nxt
    return {n: tags[n] for n in names}


def _check_name_clash(mesh: Mesh) -> None:
    clash = sorted(set(mesh.region_names) & set(mesh.face_sets))
    if clash:
        raise MeshError(
            f"mesh {mesh.source}: name(s) {clash} are used for both a region and a face set; "
            f"mesh files keep names in one table - rename the face set or the region"
        )


def _warn_lost(mesh: Mesh, path: Path, *, names: bool, data: bool) -> None:
    lost = []
    if names and (mesh.region_names or mesh.face_sets):
        lost.append("region and face-set names (face sets come back as faces_<tag>)")
    if data and (mesh.cell_data or mesh.point_data):
        lost.append(f"cell/point data {sorted(mesh.cell_data) + sorted(mesh.point_data)}")
    if lost:
        warnings.warn(
            f"writing {path}: the {path.suffix} format does not keep {' and '.join(lost)}; "
            f"write .vtu to keep everything"
        )


def _as_gmsh(m: meshio.Mesh) -> None:
    tags = [r + f for r, f in zip(m.cell_data["region"], m.cell_data["face_set"])]
    m.cell_data = {"gmsh:physical": tags, "gmsh:geometrical": [t.copy() for t in tags]}
    m.point_data = {}


def _add_vtu_field_data(path: str, field_data: Mapping[str, np.ndarray]) -> None:
    """Insert {name: [tag, dim]} as VTK FieldData (meshio 5.3 reads but never writes it)."""
    if not field_data:
        return
    arrays = "".join(
        f'<DataArray type="Int64" Name={quoteattr(name)} NumberOfTuples="{len(v)}" '
        f'format="ascii">{" ".join(str(int(x)) for x in v)}</DataArray>\n'
        for name, v in field_data.items()
    )
    with open(path, "rb") as fh:
        text = fh.read()
    anchor = b"<UnstructuredGrid>"
    if text.count(anchor) != 1:
        raise MeshError(f"cannot add region names to {path}: unexpected VTU layout from meshio")
    text = text.replace(anchor, anchor + b"\n<FieldData>\n" + arrays.encode() + b"</FieldData>", 1)
    with open(path, "wb") as fh:
        fh.write(text)


def _write_abaqus(mesh: Mesh, path: str) -> None:
    """Abaqus input: nodes, elements, one ELSET per region (tag order) and per face set.

    Face sets are written as S3/S4/STRI65 elements so that meshio can read them back; Abaqus
    itself would treat those as shells (it describes loaded surfaces with *SURFACE instead).
    """
    bad = [n for n in list(mesh.region_names) + list(mesh.face_sets) if re.search(r"[\s,=*]", n)]
    if bad:
        raise MeshError(
            f"cannot write {path}: Abaqus set names cannot contain spaces, ',', '=' or '*': {bad}"
        )
    names = {tag: name for name, tag in mesh.region_names.items()}
    sets: dict[str, list[np.ndarray]] = {}
    lines = ["*HEADING", f"biomech mesh from {mesh.source}", "*NODE"]
    lines += [f"{k + 1}, {x!r}, {y!r}, {z!r}" for k, (x, y, z) in enumerate(mesh.points.tolist())]
    eid = 0
    blocks = [(b.type, b.conn, b.region, None) for b in mesh.blocks]
    for name, tag in _face_set_tags(mesh).items():
        blocks += [(t, c, None, name) for t, c in mesh.face_sets[name].items() if len(c)]
    for ctype, conn, region, set_name in blocks:
        ids = np.arange(eid + 1, eid + len(conn) + 1)
        eid += len(conn)
        lines.append(f"*ELEMENT, TYPE={_ABAQUS_TYPES[ctype]}")
        lines += [",".join(map(str, row)) for row in np.column_stack([ids, conn + 1]).tolist()]
        if set_name is not None:
            sets.setdefault(set_name, []).append(ids)
            continue
        for tag in np.unique(region):
            name = names.get(int(tag), f"region_{int(tag)}")
            sets.setdefault(name, []).append(ids[region == tag])
    region_sets = [names.get(t, f"region_{t}") for t in sorted(mesh.region_tags())]
    for name in region_sets + [n for n in sets if n not in region_sets]:
        ids = np.concatenate(sets[name]).tolist()
        lines.append(f"*ELSET, ELSET={name}")
        lines += [",".join(map(str, ids[i : i + 16])) for i in range(0, len(ids), 16)]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
