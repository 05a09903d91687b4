"""The one numba entry point of the material catalogue: ``material_response``.

Adding a material: write its family file (an @njit kernel with the signature
``kernel(C, params, basis, S, CC) -> W`` and a ``MaterialSpec``), add one branch here and
one line to the registry in ``biomech/materials/__init__.py``.

Note: numba's on-disk cache (``cache=True``) only watches this file; after editing a
family kernel, touch this file (or clear ``__pycache__``) so the dispatcher recompiles.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from biomech.materials.guccione import GUCCIONE_ID, guccione
from biomech.materials.hgo import HGO_ID, hgo
from biomech.materials.ilt import ILT_ID, ilt
from biomech.materials.linear_elastic import LINEAR_ELASTIC_ID, linear_elastic
from biomech.materials.mooney_rivlin import MOONEY_RIVLIN_ID, mooney_rivlin
from biomech.materials.neo_hookean import (
    NEO_HOOKEAN_COMPRESSIBLE_ID,
    NEO_HOOKEAN_ID,
    neo_hookean,
    neo_hookean_compressible,
)
from biomech.materials.raghavan_vorp import RAGHAVAN_VORP_ID, raghavan_vorp
from biomech.materials.yeoh import YEOH_ID, yeoh


@njit(cache=True, error_model="numpy")
def material_response(model_id, C, params, basis, S, CC):
    """2nd Piola–Kirchhoff stress S (6,) and tangent CC = 4 ∂²W/∂C∂C (6, 6) of one model.

    ``model_id`` from the registry; ``C`` (3, 3) right Cauchy–Green tensor; ``params``
    (MAX_PARAMS,) kernel parameters in MPa/rad; ``basis`` (3, 3) with rows the local unit
    vectors in the reference configuration. Voigt order (11, 22, 33, 12, 23, 13), plain
    tensor components. Uncoupled models give the isochoric part only. Returns W (MPa);
    an unknown ``model_id`` fills S, CC with NaN and returns NaN. Raises nothing
    (``error_model="numpy"``: a singular C gives inf/NaN, not ZeroDivisionError).
    """
    if model_id == NEO_HOOKEAN_ID:
        return neo_hookean(C, params, basis, S, CC)
    elif model_id == NEO_HOOKEAN_COMPRESSIBLE_ID:
        return neo_hookean_compressible(C, params, basis, S, CC)
    elif model_id == MOONEY_RIVLIN_ID:
        return mooney_rivlin(C, params, basis, S, CC)
    elif model_id == YEOH_ID:
        return yeoh(C, params, basis, S, CC)
    elif model_id == RAGHAVAN_VORP_ID:
        return raghavan_vorp(C, params, basis, S, CC)
    elif model_id == HGO_ID:
        return hgo(C, params, basis, S, CC)
    elif model_id == GUCCIONE_ID:
        return guccione(C, params, basis, S, CC)
    elif model_id == ILT_ID:
        return ilt(C, params, basis, S, CC)
    elif model_id == LINEAR_ELASTIC_ID:
        return linear_elastic(C, params, basis, S, CC)
    S[:] = np.nan
    CC[:, :] = np.nan
    return np.nan
