"""The material catalogue: one family per module, one registry read by case files and API.

``MATERIALS`` maps the case-file name to its ``MaterialSpec``; ``spec.resolve(values)``
checks values in internal units (MPa, rad) and returns a ``ResolvedMaterial`` whose
``params`` feed the numba kernel ``biomech.materials.kernel.material_response``.
"""

from __future__ import annotations

from biomech.materials import (
    guccione,
    hgo,
    ilt,
    linear_elastic,
    mooney_rivlin,
    neo_hookean,
    raghavan_vorp,
    yeoh,
)
from biomech.materials.base import (
    MAX_PARAMS,
    Bounds,
    MaterialSpec,
    MaterialValueError,
    Parameter,
    ResolvedMaterial,
)
from biomech.materials.response import evaluate, small_strain_shear_modulus

_SPECS = (
    neo_hookean.SPEC,
    neo_hookean.SPEC_COMPRESSIBLE,
    mooney_rivlin.SPEC,
    yeoh.SPEC,
    raghavan_vorp.SPEC,
    hgo.SPEC,
    guccione.SPEC,
    ilt.SPEC,
    linear_elastic.SPEC,
)

MATERIALS: dict[str, MaterialSpec] = {s.name: s for s in _SPECS}
if len(MATERIALS) != len(_SPECS) or len({s.model_id for s in _SPECS}) != len(_SPECS):
    raise RuntimeError("material registry: duplicate name or model_id")


def get_material(name: str) -> MaterialSpec:
    """The spec registered under ``name``; ValueError listing the known names otherwise."""
    try:
        return MATERIALS[name]
    except KeyError:
        known = ", ".join(MATERIALS)
        raise MaterialValueError(f"unknown material {name!r}; known: {known}") from None


__all__ = [
    "MATERIALS",
    "MAX_PARAMS",
    "Bounds",
    "MaterialSpec",
    "MaterialValueError",
    "Parameter",
    "ResolvedMaterial",
    "evaluate",
    "get_material",
    "small_strain_shear_modulus",
]
