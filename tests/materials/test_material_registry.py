"""The registry: names, ids, parameter checking and the nu → bulk conversion."""

from __future__ import annotations

import numpy as np
import pytest

from biomech.errors import MaterialError
from biomech.materials import MATERIALS, MAX_PARAMS, get_material
from biomech.materials.kernel import material_response

HGO = {"mu": 0.01, "k1": 1.0, "k2": 10.0, "angle": 0.7, "bulk": 1.0}
NAMES = {
    "neo-hookean": ("mu", "bulk"),
    "neo-hookean-compressible": ("mu", "bulk"),
    "mooney-rivlin": ("c10", "c01", "bulk"),
    "yeoh": ("c10", "c20", "c30", "bulk"),
    "raghavan-vorp": ("alpha", "beta", "bulk"),
    "hgo": ("mu", "k1", "k2", "kappa", "angle", "bulk"),
    "guccione": ("C", "bf", "bt", "bfs", "bulk"),
    "ilt": ("c", "bulk"),
    "linear-elastic": ("E", "nu"),
}


def test_names_and_parameters(all_cases):
    assert set(MATERIALS) == set(NAMES) == set(all_cases)
    for name, params in NAMES.items():
        spec = get_material(name)
        assert spec.name == name
        assert spec.parameter_names == params
        assert spec.citation and spec.basis in ("none", "vessel", "fibre-sheet")
        assert len(spec.kernel_parameters) <= MAX_PARAMS
        assert all(p.kind in ("stress", "dimensionless", "angle") for p in spec.parameters)
    assert len({s.model_id for s in MATERIALS.values()}) == len(MATERIALS)
    coupled = [n for n, s in MATERIALS.items() if s.coupled]
    assert coupled == ["neo-hookean-compressible", "linear-elastic"]


def test_resolve_builds_kernel_array(case):
    resolved, _ = case
    assert resolved.params.shape == (MAX_PARAMS,) and resolved.params.dtype == np.float64
    assert np.all(resolved.params[len(resolved.spec.kernel_parameters):] == 0.0)
    assert (resolved.bulk == 0.0) == resolved.spec.coupled
    assert set(resolved.values) == set(resolved.spec.parameter_names)


def test_nu_instead_of_bulk():
    """bulk = 2 μ0 (1 + ν) / (3 (1 − 2ν)); Raghavan–Vorp μ0 = 2α."""
    r = get_material("raghavan-vorp").resolve({"alpha": 0.174, "beta": 1.881, "nu": 0.45})
    assert r.bulk == pytest.approx(2 * 0.348 * 1.45 / (3 * 0.1), rel=1e-14)
    c = get_material("neo-hookean-compressible").resolve({"mu": 0.4225, "nu": 0.3})
    assert c.bulk == 0.0
    assert c.params[1] == pytest.approx(0.4225 * 2 * 0.3 / (1 - 2 * 0.3), rel=1e-13)  # Lamé λ


def test_hgo_default_kappa():
    r = get_material("hgo").resolve(HGO)
    assert r.values["kappa"] == 0.0


@pytest.mark.parametrize(
    "name, values, key",
    [
        ("neo-hookean", {"mu": 0.1, "bulk": 1.0, "mu2": 3.0}, "mu2"),
        ("neo-hookean", {"bulk": 1.0}, "mu"),
        ("mooney-rivlin", {"c10": 0.1, "bulk": 1.0}, "c01"),
        ("guccione", {"C": 0.002, "bf": 8, "bt": 2, "bfs": 4}, "bulk"),
        ("hgo", HGO | {"kappa": 0.4}, "kappa"),
        ("hgo", HGO | {"kappa": -0.01}, "kappa"),
        ("hgo", HGO | {"angle": -0.1}, "angle"),
        ("raghavan-vorp", {"alpha": 0.17, "beta": 1.9, "bulk": 1.0, "nu": 0.49}, "nu"),
        ("ilt", {"c": 0.002, "nu": 0.5}, "nu"),
        ("ilt", {"c": -0.002, "bulk": 1.0}, "c"),
        ("linear-elastic", {"E": 1.0, "nu": -1.0}, "nu"),
        ("linear-elastic", {"E": 1.0, "nu": 0.3, "bulk": 2.0}, "bulk"),
        ("yeoh", {"c10": 0.1, "c20": float("nan"), "c30": 0.0, "bulk": 1.0}, "c20"),
    ],
)
def test_bad_parameters_name_the_key(name, values, key):
    with pytest.raises(ValueError, match=f"'{key}'") as err:
        get_material(name).resolve(values)
    assert isinstance(err.value, MaterialError)


def test_unknown_key_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown parameter 'k3'.*mu, k1, k2, kappa, angle, bulk"):
        get_material("hgo").resolve({"k3": 1.0})


def test_unknown_material():
    with pytest.raises(ValueError, match=r"unknown material 'fung'; known: neo-hookean"):
        get_material("fung")


def test_unknown_model_id_gives_nan():
    S, CC = np.zeros(6), np.zeros((6, 6))
    W = material_response(999, np.eye(3), np.zeros(MAX_PARAMS), np.eye(3), S, CC)
    assert np.isnan(W) and np.isnan(S).all() and np.isnan(CC).all()
