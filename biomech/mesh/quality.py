"""Element validity and shape quality: Jacobian determinants, scaled Jacobian, edge ratio.

det J is the volume ratio physical/reference (mm³ per reference unit volume); the scaled
Jacobian (1 = ideal shape, <= 0 = inverted) and the aspect ratio (longest / shortest corner
edge, 1 = ideal) are dimensionless.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from biomech.errors import MeshError
from biomech.fem.elements import ELEMENTS
from biomech.mesh.boundary import clear_boundary_cache
from biomech.mesh.core import Mesh

__all__ = [
    "BlockQuality",
    "QualityReport",
    "element_jacobians",
    "check_mesh",
    "assert_valid",
    "WEDGE_FLIP",
]

#: wedge node permutation that mirrors the reference (swaps nodes 1<->2 and 4<->5)
WEDGE_FLIP = (0, 2, 1, 3, 5, 4)

_S3 = np.sqrt(3.0)
# columns map the reference element onto the ideal (equilateral) element
_IDEAL = {
    "tetra": np.array([[1.0, 0.5, 0.5], [0.0, _S3 / 2, _S3 / 6], [0.0, 0.0, np.sqrt(2 / 3)]]),
    "wedge": np.array([[1.0, 0.5, 0.0], [0.0, _S3 / 2, 0.0], [0.0, 0.0, 1.0]]),
    "hexahedron": np.eye(3),
}
_IDEAL["tetra10"] = _IDEAL["tetra"]
_EDGES = {
    "tetra": ((0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)),
    "hexahedron": ((0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4),
                   (0, 4), (1, 5), (2, 6), (3, 7)),
    "wedge": ((0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3), (0, 3), (1, 4), (2, 5)),
}
_EDGES["tetra10"] = _EDGES["tetra"]
_CHUNK = 200_000


@dataclass
class BlockQuality:
    """Quality of one cell block; ``inverted`` holds cell indices with det J <= 0."""

    type: str
    n_cells: int
    min_det_j: float
    min_scaled_jacobian: float
    max_aspect_ratio: float
    inverted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reordered: bool = False  # wedges renumbered with WEDGE_FLIP by check_mesh


@dataclass
class QualityReport:
    """Per-block quality of a mesh, see :func:`check_mesh`."""

    blocks: list[BlockQuality]
    source: str = "<memory>"

    @property
    def n_inverted(self) -> int:
        return int(sum(len(b.inverted) for b in self.blocks))

    @property
    def min_scaled_jacobian(self) -> float:
        return min((b.min_scaled_jacobian for b in self.blocks), default=float("nan"))

    @property
    def max_aspect_ratio(self) -> float:
        return max((b.max_aspect_ratio for b in self.blocks), default=float("nan"))

    @property
    def reordered_blocks(self) -> list[int]:
        return [i for i, b in enumerate(self.blocks) if b.reordered]

    def __str__(self) -> str:
        lines = [f"mesh quality of {self.source}:"]
        for i, b in enumerate(self.blocks):
            note = ", wedges renumbered (1<->2, 4<->5)" if b.reordered else ""
            lines.append(
                f"  block {i} {b.type}: {b.n_cells} cells, min scaled Jacobian "
                f"{b.min_scaled_jacobian:.3g}, max aspect ratio {b.max_aspect_ratio:.3g}, "
                f"{len(b.inverted)} inverted{note}"
            )
        return "\n".join(lines)


def element_jacobians(mesh: Mesh, *, at: str = "quadrature") -> list[np.ndarray]:
    """det J per block, shape (n_cells, n_points): at the element quadrature points
    (``at="quadrature"``, default rule of the element) or at the corner nodes
    (``at="corners"``). Units: mm³ per reference volume."""
    if at not in ("quadrature", "corners"):
        raise ValueError(f"element_jacobians: at={at!r}; use 'quadrature' or 'corners'")
    return [_dets(mesh.points, b.conn, _grads(b.type, at)) for b in mesh.blocks]


def check_mesh(mesh: Mesh, *, fix_wedges: bool = True) -> QualityReport:
    """Quality report per block; cells with det J <= 0 at a quadrature point or corner are
    inverted. A wedge block whose cells are ALL inverted uses the mirrored wedge convention:
    with ``fix_wedges`` its connectivity is renumbered in place (nodes 1<->2, 4<->5) and the
    block is marked ``reordered``."""
    blocks = []
    for block in mesh.blocks:
        reordered = False
        if block.type == "wedge" and fix_wedges and len(block.conn):
            det = _all_dets(mesh.points, block.conn, block.type)
            if (det < 0).all():
                block.conn = np.ascontiguousarray(block.conn[:, WEDGE_FLIP])
                clear_boundary_cache(mesh)
                reordered = True
        blocks.append(_block_quality(mesh.points, block.conn, block.type, reordered))
    return QualityReport(blocks, mesh.source)


def assert_valid(mesh: Mesh, *, fix_wedges: bool = True) -> QualityReport:
    """:func:`check_mesh`, raising MeshError naming the inverted cells (type, index, region)."""
    report = check_mesh(mesh, fix_wedges=fix_wedges)
    if report.n_inverted == 0:
        return report
    names = {tag: name for name, tag in mesh.region_names.items()}
    examples = []
    for bi, (block, q) in enumerate(zip(mesh.blocks, report.blocks)):
        for cell in q.inverted[: 5 - len(examples)]:
            tag = int(block.region[cell])
            region = f"{names[tag]!r} (tag {tag})" if tag in names else f"tag {tag}"
            examples.append(f"{block.type} #{cell} of block {bi} in region {region}")
    per_type = ", ".join(
        f"{len(q.inverted)} {q.type}" for q in report.blocks if len(q.inverted)
    )
    raise MeshError(
        f"mesh {mesh.source}: {report.n_inverted} inverted cells ({per_type}; det J <= 0 at a "
        f"quadrature point or corner), e.g. {'; '.join(examples)}. Fix the node ordering of "
        f"these cells or remesh (check for zero-volume or tangled elements)."
    )


# --- implementation ----------------------------------------------------------------------


def _grads(cell_type: str, at: str) -> np.ndarray:
    elem = ELEMENTS[cell_type]
    if at == "quadrature":
        return elem.tabulate()[1]
    return elem.grad(elem.reference_nodes[: elem.corner_nodes])


def _jacobians(x: np.ndarray, dN: np.ndarray) -> list[list[np.ndarray]]:
    """J[i][j] (c, q) = sum_a x[c, a, i] dN[q, a, j] for x (c, nn, 3): 3x3 nested list."""
    return [[np.ascontiguousarray(x[:, :, i]) @ dN[:, :, j].T for j in range(3)] for i in range(3)]


def _det3(J: list[list[np.ndarray]]) -> np.ndarray:
    return (
        J[0][0] * (J[1][1] * J[2][2] - J[1][2] * J[2][1])
        - J[0][1] * (J[1][0] * J[2][2] - J[1][2] * J[2][0])
        + J[0][2] * (J[1][0] * J[2][1] - J[1][1] * J[2][0])
    )


def _dets(points: np.ndarray, conn: np.ndarray, dN: np.ndarray) -> np.ndarray:
    out = np.empty((len(conn), len(dN)))
    for start in range(0, len(conn), _CHUNK):
        out[start : start + _CHUNK] = _det3(_jacobians(points[conn[start : start + _CHUNK]], dN))
    return out


def _all_dets(points: np.ndarray, conn: np.ndarray, cell_type: str) -> np.ndarray:
    dN = np.concatenate([_grads(cell_type, "quadrature"), _grads(cell_type, "corners")])
    return _dets(points, conn, dN)


def _scaled_jacobian(J: list[list[np.ndarray]], w_inv: np.ndarray) -> np.ndarray:
    """det(T) / product of T's column lengths, T = J W^-1 (W: reference -> ideal element)."""
    T = [[sum(J[i][j] * w_inv[j, k] for j in range(3) if w_inv[j, k] != 0) for k in range(3)]
         for i in range(3)]
    norms = np.ones_like(J[0][0])
    for k in range(3):
        norms *= np.sqrt(T[0][k] ** 2 + T[1][k] ** 2 + T[2][k] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(norms > 0, _det3(T) / norms, -1.0)


def _block_quality(
    points: np.ndarray, conn: np.ndarray, cell_type: str, reordered: bool
) -> BlockQuality:
    n = len(conn)
    if n == 0:
        nan = float("nan")
        return BlockQuality(cell_type, 0, nan, nan, nan, reordered=reordered)
    dc = _grads(cell_type, "corners")
    dN = np.concatenate([_grads(cell_type, "quadrature"), dc])
    w_inv = np.linalg.inv(_IDEAL[cell_type])
    edges = np.array(_EDGES[cell_type])
    det = np.empty((n, len(dN)))
    scaled = np.empty(n)
    ratio = np.empty(n)
    for start in range(0, n, _CHUNK):
        chunk = slice(start, start + _CHUNK)
        x = points[conn[chunk]]
        det[chunk] = _det3(_jacobians(x, dN))
        scaled[chunk] = _scaled_jacobian(_jacobians(x, dc), w_inv).min(axis=1)
        d = x[:, edges[:, 1]] - x[:, edges[:, 0]]
        squared = np.einsum("cek,cek->ce", d, d)
        shortest, longest = squared.min(axis=1), squared.max(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio[chunk] = np.where(shortest > 0, np.sqrt(longest / shortest), np.inf)
    inverted = np.flatnonzero((det <= 0).any(axis=1)).astype(np.int64)
    return BlockQuality(
        cell_type, n, float(det.min()), float(scaled.min()), float(ratio.max()), inverted, reordered
    )
