"""Material dictionaries of stent wires and graft fabrics (MPa, dimensionless).

A material is a plain dict with a ``model`` key, the form the beam solver consumes:
``{"model": "linear-elastic", "E": MPa, "nu": -}`` or the superelastic nitinol set
``{"model": "nitinol", "E_A", "E_M", "nu", "sigma_AS_s", "sigma_AS_f", "sigma_SA_s",
"sigma_SA_f", "eps_L"}`` (Auricchio-type; A→S loading plateau start/finish, S→A
unloading plateau start/finish, transformation strain).
"""

from __future__ import annotations

import math
from typing import Any

from biomech.errors import CaseError

__all__ = [
    "GRAFT_MATERIALS",
    "MATERIAL_MODELS",
    "NITINOL_DEFAULTS",
    "check_material",
    "graft_material",
    "linear_elastic",
    "nitinol",
]

#: Typical superelastic nitinol (../shared/reference/README.md §1): E_A = E_M = 50 GPa,
#: ν = 0.33, loading plateau 520 → 600 MPa, unloading 300 → 200 MPa, ε_L = 0.05.
NITINOL_DEFAULTS: dict[str, Any] = {
    "model": "nitinol",
    "E_A": 50e3,
    "E_M": 50e3,
    "nu": 0.33,
    "sigma_AS_s": 520.0,
    "sigma_AS_f": 600.0,
    "sigma_SA_s": 300.0,
    "sigma_SA_f": 200.0,
    "eps_L": 0.05,
}

#: Parameters each model needs (besides ``model``); stresses in MPa.
MATERIAL_MODELS: dict[str, tuple[str, ...]] = {
    "linear-elastic": ("E", "nu"),
    "nitinol": tuple(k for k in NITINOL_DEFAULTS if k != "model"),
}
STRESS_KEYS = {"E", "E_A", "E_M", "sigma_AS_s", "sigma_AS_f", "sigma_SA_s", "sigma_SA_f"}

#: Graft fabrics as linear-elastic membranes (the solver drops compression: wrinkling).
#: Values are order-of-magnitude ASSUMPTIONS, not measured data: woven polyester (PET,
#: Dacron) is stiff in its weave directions (~1 GPa, strongly anisotropic and nonlinear,
#: Bustos et al., J Biomech 2016); ePTFE 55 MPa, ν 0.46 as used by Kleinstreuer et al.,
#: J Biomech 41:2370, 2008 *(unconfirmed)*. Replace with the manufacturer's data.
GRAFT_MATERIALS: dict[str, dict[str, Any]] = {
    "polyester": {
        "model": "linear-elastic", "E": 1000.0, "nu": 0.35,
        "source": "assumption: woven PET order of magnitude (Bustos et al. 2016), unconfirmed",
    },
    "eptfe": {
        "model": "linear-elastic", "E": 55.0, "nu": 0.46,
        "source": "assumption: ePTFE as in Kleinstreuer et al. 2008, unconfirmed",
    },
}


def linear_elastic(E: float, nu: float) -> dict[str, Any]:
    """Linear-elastic wire (steel, CoCr): E in MPa, nu dimensionless."""
    return check_material({"model": "linear-elastic", "E": float(E), "nu": float(nu)})


def nitinol(**overrides: float) -> dict[str, Any]:
    """Superelastic nitinol: ``NITINOL_DEFAULTS`` with some parameters replaced (MPa)."""
    unknown = sorted(set(overrides) - set(NITINOL_DEFAULTS) - {"model"})
    if unknown:
        raise CaseError(f"nitinol: unknown parameter(s) {unknown}; known: "
                        f"{', '.join(MATERIAL_MODELS['nitinol'])}")
    material = dict(NITINOL_DEFAULTS)
    material.update({k: float(v) for k, v in overrides.items() if k != "model"})
    return check_material(material)


def graft_material(name_or_dict: str | dict[str, Any]) -> dict[str, Any]:
    """A graft fabric material: a preset name ("polyester", "eptfe") or a dict (MPa)."""
    if isinstance(name_or_dict, dict):
        return check_material(dict(name_or_dict), allowed_models=("linear-elastic",))
    key = str(name_or_dict).lower().replace("-", "").replace(" ", "")
    key = {"pet": "polyester", "dacron": "polyester", "ptfe": "eptfe"}.get(key, key)
    if key not in GRAFT_MATERIALS:
        raise CaseError(f"graft_material = {name_or_dict!r} is unknown; use one of "
                        f"{sorted(GRAFT_MATERIALS)} or a table {{ E = \"...\", nu = ... }}")
    return dict(GRAFT_MATERIALS[key])


def check_material(material: dict[str, Any],
                   allowed_models: tuple[str, ...] = tuple(MATERIAL_MODELS)) -> dict[str, Any]:
    """Validate a material dict (model known, parameters present, finite, admissible)."""
    model = material.get("model")
    if model not in allowed_models:
        raise CaseError(f"material model {model!r} is unknown; use one of {list(allowed_models)}")
    for key in MATERIAL_MODELS[model]:
        value = material.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise CaseError(f"material {model}: {key} must be a finite number, got {value!r}")
        if (key in STRESS_KEYS or key == "eps_L") and value <= 0:
            raise CaseError(f"material {model}: {key} = {value} must be positive")
    if not -1.0 < material["nu"] < 0.5:
        raise CaseError(f"material {model}: nu = {material['nu']} must lie in (-1, 0.5)")
    if model == "nitinol":
        _check_plateaus(material)
    return material


def _check_plateaus(m: dict[str, Any]) -> None:
    if not m["sigma_AS_s"] < m["sigma_AS_f"]:
        raise CaseError("material nitinol: sigma_AS_s must be below sigma_AS_f "
                        "(the loading plateau rises from start to finish)")
    if not (m["sigma_SA_f"] < m["sigma_SA_s"] and m["sigma_SA_f"] <= m["sigma_AS_s"]
            and m["sigma_SA_s"] <= m["sigma_AS_f"]):
        raise CaseError("material nitinol: need sigma_SA_f < sigma_SA_s, sigma_SA_f <= "
                        "sigma_AS_s and sigma_SA_s <= sigma_AS_f (the unloading plateau falls "
                        "and lies below the loading one)")
    if not m["eps_L"] < 0.2:
        raise CaseError(f"material nitinol: eps_L = {m['eps_L']} is not a transformation "
                        "strain (expected about 0.03-0.08)")
