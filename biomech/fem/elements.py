"""Element catalogue: reference nodes, shape functions, gradients, quadrature, faces.

Node orders follow VTK/meshio. Each element is plain data (numpy), evaluated once per
mesh; the numba kernels receive the tabulated arrays ``N`` (nq, nn), ``dN`` (nq, nn, dim)
and weights ``w`` (nq,) and never see these classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

_G2 = 1.0 / np.sqrt(3.0)
_G3 = np.sqrt(0.6)


def _tensor_gauss(n: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre rule on [-1, 1]^dim with n points per direction."""
    x, w = np.polynomial.legendre.leggauss(n)
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    wgrids = np.meshgrid(*([w] * dim), indexing="ij")
    pts = np.stack([g.ravel() for g in grids], axis=1)
    wts = np.prod(np.stack([g.ravel() for g in wgrids], axis=1), axis=1)
    return pts, wts


def _triangle_rule(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric rules on the unit triangle (area 1/2), positive weights."""
    if degree <= 1:
        return np.array([[1 / 3, 1 / 3]]), np.array([0.5])
    if degree == 2:
        p = np.array([[1 / 6, 1 / 6], [2 / 3, 1 / 6], [1 / 6, 2 / 3]])
        return p, np.full(3, 1 / 6)
    # degree 4, 6 points (Dunavant 1985)
    a, b = 0.445948490915965, 0.091576213509771
    wa, wb = 0.223381589678011 / 2, 0.109951743655322 / 2
    p = np.array([[a, a], [1 - 2 * a, a], [a, 1 - 2 * a], [b, b], [1 - 2 * b, b], [b, 1 - 2 * b]])
    return p, np.array([wa, wa, wa, wb, wb, wb])


def _tet_rule(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Rules on the unit tetrahedron (volume 1/6), positive weights."""
    if degree <= 1:
        return np.array([[0.25, 0.25, 0.25]]), np.array([1 / 6])
    if degree == 2:
        a, b = 0.1381966011250105, 0.5854101966249685
        p = np.array([[a, a, a], [b, a, a], [a, b, a], [a, a, b]])
        return p, np.full(4, 1 / 24)
    # degree 5, 15 points, positive weights (Keast 1986 / Stroud T3:5-1)
    a1, w1 = 0.25, 0.030283678097089
    b = [0.0, 1 / 3, 0.727272727272727, 0.090909090909091]
    wb = [0.006026785714286, 0.011645249086029]
    c, wc = 0.066550153573664, 0.010949141561386
    pts = [[a1, a1, a1]]
    wts = [w1]
    for alpha, w in ((0.0, wb[0]), (0.727272727272727, wb[1])):
        beta = (1 - alpha) / 3
        for k in range(4):
            lam = np.full(4, beta)
            lam[k] = alpha
            pts.append(lam[1:])
            wts.append(w)
    d = 0.5 - c
    for i, j in ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)):
        lam = np.full(4, c)
        lam[i] = lam[j] = d
        pts.append(lam[1:])
        wts.append(wc)
    return np.array(pts), np.array(wts)


def _wedge_rule(degree: int) -> tuple[np.ndarray, np.ndarray]:
    tp, tw = _triangle_rule(max(degree, 2))
    gx, gw = np.polynomial.legendre.leggauss(2 if degree <= 3 else 3)
    gx, gw = 0.5 * (gx + 1.0), 0.5 * gw  # t in [0, 1]
    pts = np.array([[r, s, t] for (r, s) in tp for t in gx])
    wts = np.array([a * b for a in tw for b in gw])
    return pts, wts


@dataclass(frozen=True)
class Element:
    """A reference element: ``shape(xi)`` -> (nq, nn), ``grad(xi)`` -> (nq, nn, dim)."""

    name: str  # meshio cell type
    dim: int
    reference_nodes: np.ndarray
    shape: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    rule: Callable[[int], tuple[np.ndarray, np.ndarray]]
    default_degree: int
    faces: tuple[tuple[str, tuple[int, ...]], ...] = ()
    corner_nodes: int = 0

    @property
    def n_nodes(self) -> int:
        return len(self.reference_nodes)

    def quadrature(self, degree: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.rule(self.default_degree if degree is None else degree)

    def tabulate(self, degree: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shape values N (nq, nn), gradients dN (nq, nn, dim) and weights w (nq,)."""
        xi, w = self.quadrature(degree)
        return (
            np.ascontiguousarray(self.shape(xi)),
            np.ascontiguousarray(self.grad(xi)),
            np.ascontiguousarray(w),
        )


# --- simplices -------------------------------------------------------------------------


def _bary(xi: np.ndarray) -> np.ndarray:
    xi = np.atleast_2d(xi)
    return np.column_stack([1.0 - xi.sum(axis=1), xi])


def _bary_grad(dim: int) -> np.ndarray:
    g = np.zeros((dim + 1, dim))
    g[0] = -1.0
    g[1:] = np.eye(dim)
    return g


def _p1_shape(xi):
    return _bary(xi)


def _p1_grad(xi):
    xi = np.atleast_2d(xi)
    g = _bary_grad(xi.shape[1])
    return np.broadcast_to(g, (len(xi),) + g.shape).copy()


def _p2_factory(edges: tuple[tuple[int, int], ...]):
    def shape(xi):
        L = _bary(xi)
        corners = L * (2 * L - 1)
        mids = np.column_stack([4 * L[:, i] * L[:, j] for i, j in edges])
        return np.hstack([corners, mids])

    def grad(xi):
        L = _bary(xi)
        dim = L.shape[1] - 1
        gL = _bary_grad(dim)
        out = np.empty((len(L), dim + 1 + len(edges), dim))
        for a in range(dim + 1):
            out[:, a, :] = (4 * L[:, a] - 1)[:, None] * gL[a]
        for k, (i, j) in enumerate(edges):
            out[:, dim + 1 + k, :] = 4 * (L[:, i][:, None] * gL[j] + L[:, j][:, None] * gL[i])
        return out

    return shape, grad


_TRI6_EDGES = ((0, 1), (1, 2), (2, 0))
_TET10_EDGES = ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))
_tri6_shape, _tri6_grad = _p2_factory(_TRI6_EDGES)
_tet10_shape, _tet10_grad = _p2_factory(_TET10_EDGES)

# --- tensor-product and prism elements --------------------------------------------------

_QUAD_NODES = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=float)
_HEX_NODES = np.array(
    [[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1],
     [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], dtype=float,
)


def _lagrange1_factory(nodes: np.ndarray):
    def shape(xi):
        xi = np.atleast_2d(xi)
        return np.prod(1 + xi[:, None, :] * nodes[None, :, :], axis=2) / 2 ** nodes.shape[1]

    def grad(xi):
        xi = np.atleast_2d(xi)
        f = 1 + xi[:, None, :] * nodes[None, :, :]  # (nq, nn, dim)
        out = np.empty_like(f)
        for d in range(nodes.shape[1]):
            others = np.prod(np.delete(f, d, axis=2), axis=2)
            out[:, :, d] = nodes[None, :, d] * others
        return out / 2 ** nodes.shape[1]

    return shape, grad


_quad_shape, _quad_grad = _lagrange1_factory(_QUAD_NODES)
_hex_shape, _hex_grad = _lagrange1_factory(_HEX_NODES)


def _wedge_shape(xi):
    xi = np.atleast_2d(xi)
    L = _bary(xi[:, :2])
    t = xi[:, 2:3]
    return np.hstack([L * (1 - t), L * t])


def _wedge_grad(xi):
    xi = np.atleast_2d(xi)
    L = _bary(xi[:, :2])
    t = xi[:, 2]
    gL = _bary_grad(2)
    out = np.empty((len(xi), 6, 3))
    for a in range(3):
        out[:, a, :2] = (1 - t)[:, None] * gL[a]
        out[:, a, 2] = -L[:, a]
        out[:, a + 3, :2] = t[:, None] * gL[a]
        out[:, a + 3, 2] = L[:, a]
    return out


ELEMENTS: dict[str, Element] = {
    "triangle": Element(
        "triangle", 2, np.array([[0, 0], [1, 0], [0, 1]], float),
        _p1_shape, _p1_grad, _triangle_rule, 2, corner_nodes=3,
    ),
    "triangle6": Element(
        "triangle6", 2,
        np.array([[0, 0], [1, 0], [0, 1], [0.5, 0], [0.5, 0.5], [0, 0.5]], float),
        _tri6_shape, _tri6_grad, _triangle_rule, 4, corner_nodes=3,
    ),
    "quad": Element(
        "quad", 2, _QUAD_NODES, _quad_shape, _quad_grad,
        lambda d: _tensor_gauss(2 if d <= 3 else 3, 2), 3, corner_nodes=4,
    ),
    "tetra": Element(
        "tetra", 3, np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float),
        _p1_shape, _p1_grad, _tet_rule, 1,
        faces=(("triangle", (0, 2, 1)), ("triangle", (0, 1, 3)),
               ("triangle", (1, 2, 3)), ("triangle", (0, 3, 2))),
        corner_nodes=4,
    ),
    "tetra10": Element(
        "tetra10", 3,
        np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0, 0], [0.5, 0.5, 0],
                  [0, 0.5, 0], [0, 0, 0.5], [0.5, 0, 0.5], [0, 0.5, 0.5]], float),
        _tet10_shape, _tet10_grad, _tet_rule, 2,
        faces=(("triangle6", (0, 2, 1, 6, 5, 4)), ("triangle6", (0, 1, 3, 4, 8, 7)),
               ("triangle6", (1, 2, 3, 5, 9, 8)), ("triangle6", (0, 3, 2, 7, 9, 6))),
        corner_nodes=4,
    ),
    "hexahedron": Element(
        "hexahedron", 3, _HEX_NODES, _hex_shape, _hex_grad,
        lambda d: _tensor_gauss(2 if d <= 3 else 3, 3), 3,
        faces=(("quad", (0, 3, 2, 1)), ("quad", (4, 5, 6, 7)), ("quad", (0, 1, 5, 4)),
               ("quad", (1, 2, 6, 5)), ("quad", (2, 3, 7, 6)), ("quad", (3, 0, 4, 7))),
        corner_nodes=8,
    ),
    "wedge": Element(
        "wedge", 3,
        np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1]], float),
        _wedge_shape, _wedge_grad, _wedge_rule, 2,
        faces=(("triangle", (0, 2, 1)), ("triangle", (3, 4, 5)), ("quad", (0, 1, 4, 3)),
               ("quad", (1, 2, 5, 4)), ("quad", (2, 0, 3, 5))),
        corner_nodes=6,
    ),
}


def element(name: str) -> Element:
    """The element for a meshio cell type; ValueError naming the supported ones."""
    try:
        return ELEMENTS[name]
    except KeyError:
        raise ValueError(
            f"cell type {name!r} is not supported; supported: {', '.join(ELEMENTS)}"
        ) from None
