"""Boundary faces of a volume mesh with outward orientation (node indices; geometry in mm).

A face is on the boundary when its sorted corner nodes occur exactly once among the faces
of all cells. Outward orientation is fixed geometrically per face (the face normal must point
away from the owning cell's centroid), so element tables with a different wedge convention
cannot flip it. Results are cached on the mesh until its ``points`` or any ``conn`` array is
replaced; call :func:`clear_boundary_cache` after editing connectivity in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biomech.errors import MeshError
from biomech.fem.elements import ELEMENTS
from biomech.mesh.core import FACE_CELL_TYPES, Mesh

__all__ = [
    "FLIP",
    "FACE_CORNERS",
    "boundary_faces",
    "boundary_face_owners",
    "face_area_vectors",
    "face_centroids",
    "locate_boundary_faces",
    "clear_boundary_cache",
]

#: node permutation reversing the orientation of each face type
FLIP = {"triangle": (0, 2, 1), "triangle6": (0, 2, 1, 5, 4, 3), "quad": (0, 3, 2, 1)}
#: number of corner nodes (the leading nodes) of each face type
FACE_CORNERS = {"triangle": 3, "triangle6": 3, "quad": 4}

_CACHE_ATTR = "_biomech_boundary_cache"


@dataclass(frozen=True)
class _Boundary:
    faces: dict[str, np.ndarray]  # face type -> (n, nodes) outward
    owners: dict[str, np.ndarray]  # face type -> (n, 3) (block, cell, local face)


def boundary_faces(mesh: Mesh) -> dict[str, np.ndarray]:
    """All boundary faces keyed by face type ("triangle", "triangle6", "quad"), outward normals.

    Each value is an (n, nodes) int64 array of node indices; face order follows
    (block, cell, local face). Types without boundary faces are absent.
    """
    return _boundary(mesh).faces


def boundary_face_owners(mesh: Mesh) -> dict[str, np.ndarray]:
    """For each face type, (n, 3) int64 rows (block index, cell index, local face index)
    of the cell owning each face returned by :func:`boundary_faces` (same order)."""
    return _boundary(mesh).owners


def clear_boundary_cache(mesh: Mesh) -> None:
    """Forget the cached boundary of ``mesh`` (needed only after in-place conn edits)."""
    if hasattr(mesh, _CACHE_ATTR):
        delattr(mesh, _CACHE_ATTR)


def face_area_vectors(points: np.ndarray, faces: np.ndarray, face_type: str) -> np.ndarray:
    """Area vectors (n, 3) in mm² of faces: unit normal (right-hand rule) times area.

    Exact for triangles and (even warped) bilinear quads; triangle6 faces use their
    corners (straight-sided approximation).
    """
    nc = _corners(face_type)
    p = points[faces[:, :nc]]
    if nc == 3:
        return 0.5 * np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    return 0.5 * np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 1])


def face_centroids(points: np.ndarray, faces: np.ndarray, face_type: str) -> np.ndarray:
    """Mean of the corner coordinates (n, 3) of each face, in mm."""
    return points[faces[:, : _corners(face_type)]].mean(axis=1)


def locate_boundary_faces(mesh: Mesh, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Find faces given by their corner nodes (m, 3) or (m, 4) among the boundary faces.

    Returns ``(type_code, index)``: ``FACE_CELL_TYPES[type_code[i]]`` is the type and
    ``boundary_faces(mesh)[type][index[i]]`` the outward face; both are -1 where the face
    is not on the boundary. Node order of ``corners`` does not matter.
    """
    corners = np.asarray(corners, dtype=np.int64)
    m, nc = corners.shape
    type_code = np.full(m, -1, dtype=np.int64)
    index = np.full(m, -1, dtype=np.int64)
    if m == 0:
        return type_code, index
    bnd = boundary_faces(mesh)
    cand_keys, cand_type, cand_index = [], [], []
    for code, ftype in enumerate(FACE_CELL_TYPES):
        if ftype in bnd and FACE_CORNERS[ftype] == nc:
            cand_keys.append(np.sort(bnd[ftype][:, :nc], axis=1))
            cand_type.append(np.full(len(bnd[ftype]), code))
            cand_index.append(np.arange(len(bnd[ftype])))
    if not cand_keys:
        return type_code, index
    n_cand = sum(len(k) for k in cand_keys)
    keys = np.concatenate(cand_keys + [np.sort(corners, axis=1)])
    gid, _ = _row_groups(keys, mesh.n_points)
    lookup = np.full(gid.max() + 1, -1, dtype=np.int64)
    lookup[gid[:n_cand]] = np.arange(n_cand)
    hit = lookup[gid[n_cand:]]
    found = hit >= 0
    all_type, all_index = np.concatenate(cand_type), np.concatenate(cand_index)
    type_code[found] = all_type[hit[found]]
    index[found] = all_index[hit[found]]
    return type_code, index


# --- implementation ----------------------------------------------------------------------


def _corners(face_type: str) -> int:
    try:
        return FACE_CORNERS[face_type]
    except KeyError:
        raise MeshError(
            f"face type {face_type!r} is not supported; supported: {', '.join(FACE_CORNERS)}"
        ) from None


def _pack(keys: np.ndarray, n_points: int) -> np.ndarray:
    """Pack sorted-corner rows (m, k) of non-negative ints < n_points into few int64 words."""
    bits = max(1, int(n_points - 1).bit_length())
    per_word = max(1, 63 // bits)
    words = []
    for start in range(0, keys.shape[1], per_word):
        word = np.zeros(len(keys), dtype=np.int64)
        for col in range(start, min(start + per_word, keys.shape[1])):
            word = (word << bits) | keys[:, col]
        words.append(word)
    return np.stack(words, axis=1)


def _row_groups(keys: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Group id per row (equal rows share an id) and the size of each group."""
    packed = _pack(keys, n_points)
    if packed.shape[1] == 1:
        order = np.argsort(packed[:, 0], kind="stable")
    else:
        order = np.lexsort(packed.T[::-1])
    sorted_rows = packed[order]
    new = np.ones(len(keys), dtype=bool)
    new[1:] = (sorted_rows[1:] != sorted_rows[:-1]).any(axis=1)
    gid_sorted = np.cumsum(new) - 1
    gid = np.empty(len(keys), dtype=np.int64)
    gid[order] = gid_sorted
    return gid, np.bincount(gid_sorted)


def _boundary(mesh: Mesh) -> _Boundary:
    refs = (mesh.points, *(b.conn for b in mesh.blocks))
    cached = getattr(mesh, _CACHE_ATTR, None)
    if cached is not None:
        old_refs, result = cached
        if len(old_refs) == len(refs) and all(a is b for a, b in zip(old_refs, refs)):
            return result
    result = _compute(mesh)
    setattr(mesh, _CACHE_ATTR, (refs, result))
    return result


def _compute(mesh: Mesh) -> _Boundary:
    faces: dict[str, list[np.ndarray]] = {t: [] for t in FACE_CELL_TYPES}
    owners: dict[str, list[np.ndarray]] = {t: [] for t in FACE_CELL_TYPES}
    for nc in (3, 4):
        # one entry per (block, local face) whose face has nc corners
        entries = []
        for bi, block in enumerate(mesh.blocks):
            for lf, (ftype, idx) in enumerate(ELEMENTS[block.type].faces):
                if FACE_CORNERS[ftype] == nc and len(block.conn):
                    entries.append((bi, lf, ftype, np.asarray(idx)))
        if not entries:
            continue
        sizes = [len(mesh.blocks[bi].conn) for bi, *_ in entries]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        keys = np.empty((offsets[-1], nc), dtype=np.int64)
        for (bi, _, _, idx), start, stop in zip(entries, offsets[:-1], offsets[1:]):
            keys[start:stop] = mesh.blocks[bi].conn[:, idx[:nc]]
        keys.sort(axis=1)
        gid, counts = _row_groups(keys, mesh.n_points)
        if (counts > 2).any():
            _raise_non_manifold(mesh, keys, gid, counts)
        rows = np.flatnonzero(counts[gid] == 1)
        del keys, gid
        entry_of_row = np.searchsorted(offsets, rows, side="right") - 1
        for e, (bi, lf, ftype, idx) in enumerate(entries):
            cells = rows[entry_of_row == e] - offsets[e]
            if len(cells) == 0:
                continue
            faces[ftype].append(mesh.blocks[bi].conn[cells][:, idx])
            owners[ftype].append(
                np.column_stack([np.full(len(cells), bi), cells, np.full(len(cells), lf)])
            )
    out_faces, out_owners = {}, {}
    for ftype in FACE_CELL_TYPES:
        if not faces[ftype]:
            continue
        f = np.concatenate(faces[ftype])
        o = np.concatenate(owners[ftype]).astype(np.int64)
        order = np.lexsort((o[:, 2], o[:, 1], o[:, 0]))
        f, o = f[order], o[order]
        _orient_outward(mesh, f, o, ftype)
        out_faces[ftype] = np.ascontiguousarray(f)
        out_owners[ftype] = o
    return _Boundary(out_faces, out_owners)


def _orient_outward(mesh: Mesh, faces: np.ndarray, owners: np.ndarray, ftype: str) -> None:
    """Flip, in place, faces whose normal points towards their owning cell's centroid."""
    cell_centroid = np.empty((len(faces), 3))
    for bi, block in enumerate(mesh.blocks):
        sel = owners[:, 0] == bi
        if sel.any():
            nc = ELEMENTS[block.type].corner_nodes
            cell_centroid[sel] = mesh.points[block.conn[owners[sel, 1], :nc]].mean(axis=1)
    outward = face_centroids(mesh.points, faces, ftype) - cell_centroid
    inward = np.einsum("ij,ij->i", face_area_vectors(mesh.points, faces, ftype), outward) < 0
    if inward.any():
        faces[inward] = faces[inward][:, FLIP[ftype]]


def _raise_non_manifold(mesh: Mesh, keys: np.ndarray, gid: np.ndarray, counts: np.ndarray) -> None:
    bad = np.flatnonzero(counts > 2)
    example = keys[np.flatnonzero(gid == bad[0])[0]]
    raise MeshError(
        f"mesh {mesh.source}: {len(bad)} faces are shared by more than two cells (e.g. the face "
        f"with nodes {example.tolist()} belongs to {counts[bad[0]]} cells); the mesh has duplicate "
        f"or overlapping cells - remove duplicates (e.g. gmsh 'Coherence Mesh') and re-export"
    )
