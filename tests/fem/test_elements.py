"""Element catalogue: interpolation, gradients and quadrature exactness vs exact integrals."""

from math import factorial

import numpy as np
import pytest

from biomech.fem.elements import ELEMENTS, element


def _simplex_monomial(powers):
    """∫ x^p y^q (z^r) over the unit simplex = p! q! r! / (p + q + r + d)!."""
    d = len(powers)
    return np.prod([factorial(p) for p in powers]) / factorial(sum(powers) + d)


def _exact(name, powers):
    if name in ("triangle", "triangle6", "tetra", "tetra10"):
        return _simplex_monomial(powers)
    if name in ("quad", "hexahedron"):  # [-1, 1]^d
        return np.prod([0.0 if p % 2 else 2.0 / (p + 1) for p in powers])
    # wedge: triangle (r, s) x [0, 1] in t
    return _simplex_monomial(powers[:2]) / (powers[2] + 1)


def _monomials(dim, degree, tensor):
    out = []
    for p in np.ndindex(*([degree + 1] * dim)):
        if (max(p) if tensor else sum(p)) <= degree:
            out.append(p)
    return out


@pytest.mark.parametrize("name", list(ELEMENTS))
def test_shape_functions_interpolate_and_sum_to_one(name):
    e = ELEMENTS[name]
    assert np.allclose(e.shape(e.reference_nodes), np.eye(e.n_nodes), atol=1e-14)
    xi = e.quadrature()[0]
    assert np.allclose(e.shape(xi).sum(axis=1), 1.0)
    assert np.allclose(e.grad(xi).sum(axis=1), 0.0, atol=1e-13)


@pytest.mark.parametrize("name", list(ELEMENTS))
def test_gradients_match_finite_differences(name):
    e = ELEMENTS[name]
    xi = e.quadrature()[0]
    h = 1e-6
    for d in range(e.dim):
        step = np.zeros(e.dim)
        step[d] = h
        fd = (e.shape(xi + step) - e.shape(xi - step)) / (2 * h)
        assert np.allclose(fd, e.grad(xi)[:, :, d], atol=1e-8)


@pytest.mark.parametrize("name", list(ELEMENTS))
def test_linear_fields_reproduced(name):
    """Isoparametric completeness: interpolating x reproduces x and its gradient."""
    e = ELEMENTS[name]
    xi = e.quadrature()[0]
    assert np.allclose(e.shape(xi) @ e.reference_nodes, xi, atol=1e-14)
    G = np.einsum("qad,ae->qde", e.grad(xi), e.reference_nodes)
    assert np.allclose(G, np.eye(e.dim), atol=1e-13)


RULES = [
    ("triangle", d) for d in (1, 2, 4)
] + [("tetra", d) for d in (1, 2, 3)] + [("quad", 3), ("quad", 5), ("hexahedron", 3), ("hexahedron", 5), ("wedge", 2)]


@pytest.mark.parametrize("name, degree", RULES)
def test_quadrature_exact_to_its_degree(name, degree):
    e = element(name)
    xi, w = e.quadrature(degree)
    tensor = name in ("quad", "hexahedron")
    exact_degree = {("tetra", 3): 5}.get((name, degree), degree)
    assert (w > 0).all()
    for p in _monomials(e.dim, exact_degree, tensor):
        got = np.sum(w * np.prod(xi ** np.array(p), axis=1))
        assert got == pytest.approx(_exact(name, p), rel=1e-10, abs=1e-13), p


def test_unknown_cell_type_named():
    with pytest.raises(ValueError, match="pyramid"):
        element("pyramid")
