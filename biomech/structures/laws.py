"""The 1-D section laws of the beams: parameters from a material dict, one scalar dispatch.

Law ids: 0 linear elastic (``E``, ``nu``), 1 superelastic nitinol (Auricchio–Taylor, see
:mod:`biomech.structures.uniaxial`). ``params[0]`` is always the (austenite) Young's modulus
in MPa; shear and torsion stay elastic with ``G = params[0] / (2 (1 + nu))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from biomech.errors import CaseError
from biomech.structures.uniaxial import (
    LAW_ELASTIC,
    LAW_NITINOL,
    elastic_params,
    elastic_stress,
    nitinol_params,
    nitinol_stress,
)

LINEAR_ELASTIC, NITINOL = LAW_ELASTIC, LAW_NITINOL
NITINOL_KEYS = ("E_A", "E_M", "sigma_AS_s", "sigma_AS_f", "sigma_SA_s", "sigma_SA_f", "eps_L")


def law_parameters(material: dict[str, Any]) -> tuple[int, np.ndarray]:
    """(law id, float64 parameters) of a material dict in MPa (``model`` = linear-elastic
    with ``E``, or nitinol with the keys of :data:`NITINOL_KEYS`)."""
    model = str(material.get("model", "")).lower()
    try:
        if model == "linear-elastic":
            return LINEAR_ELASTIC, elastic_params(float(material["E"]))
        if model == "nitinol":
            return NITINOL, nitinol_params(**{k: float(material[k]) for k in NITINOL_KEYS
                                               if k in material})
    except (KeyError, ValueError) as exc:
        raise CaseError(f"beam material {material!r}: {exc}") from None
    raise CaseError(f"beam material model {model!r}: use 'linear-elastic' or 'nitinol'")


@njit(cache=True)
def law_stress(law, eps, state, params):
    """Normal stress (MPa), tangent (MPa) and trial history variable at strain ``eps``."""
    if law == 1:
        return nitinol_stress(eps, state, params)
    return elastic_stress(eps, state, params)
