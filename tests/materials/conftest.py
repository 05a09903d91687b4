"""Shared parameter sets for the material tests (internal units: MPa, rad)."""

from __future__ import annotations

import numpy as np
import pytest

from biomech.materials import get_material


def rotation(seed: int) -> np.ndarray:
    """A random proper rotation (rows = rotated basis vectors)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


# name -> (values, basis); bulk moderate so that the isochoric part is not swamped
CASES = {
    "neo-hookean": ({"mu": 0.06, "bulk": 6.0}, None),
    "neo-hookean-compressible": ({"mu": 0.4225, "nu": 0.3}, None),
    "mooney-rivlin": ({"c10": 0.05, "c01": 0.02, "bulk": 5.0}, None),
    "yeoh": ({"c10": 0.05, "c20": -0.01, "c30": 0.005, "bulk": 5.0}, None),
    "raghavan-vorp": ({"alpha": 0.174, "beta": 1.881, "bulk": 10.0}, None),
    "hgo": (
        # published adventitia set (GOH 2006)
        {"mu": 0.00764, "k1": 0.9966, "k2": 524.6, "kappa": 0.226, "angle": np.radians(49.98),
         "bulk": 1.0},
        rotation(7),
    ),
    "guccione": ({"C": 0.002, "bf": 8.0, "bt": 2.0, "bfs": 4.0, "bulk": 0.5}, rotation(11)),
    "ilt": ({"c": 0.00262, "bulk": 0.3}, None),
    "linear-elastic": ({"E": 1.0, "nu": 0.3}, None),
}


@pytest.fixture
def all_cases():
    return CASES


@pytest.fixture(params=sorted(CASES))
def case(request):
    """(resolved material, basis (3, 3)) for every registered model."""
    values, basis = CASES[request.param]
    return get_material(request.param).resolve(values), (np.eye(3) if basis is None else basis)
