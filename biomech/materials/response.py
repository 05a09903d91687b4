"""Python-level evaluation of a resolved material for one homogeneous deformation."""

from __future__ import annotations

import numpy as np

from biomech.materials._tensor import VI, VJ
from biomech.materials.base import ResolvedMaterial
from biomech.materials.kernel import material_response
from biomech.materials.volumetric import volumetric_response


def evaluate(resolved: ResolvedMaterial, F: np.ndarray, basis: np.ndarray | None = None) -> dict:
    """Total response at deformation gradient F (3, 3): ``S`` (3, 3) 2nd Piola–Kirchhoff and
    ``sigma`` (3, 3) Cauchy stress in MPa, ``CC`` (6, 6) material tangent 4 ∂²W/∂C∂C (Voigt
    11, 22, 33, 12, 23, 13; plain components), ``W`` (MPa) and ``J``.

    Uncoupled models include the volumetric part U(J) = bulk/4 (J² − 1 − 2 ln J) at this J
    (for a homogeneous deformation the element-mean dilatation equals J). ``basis`` rows
    are the local unit vectors in the reference configuration (identity when None).
    """
    F = np.ascontiguousarray(F, dtype=np.float64)
    if F.shape != (3, 3):
        raise ValueError(f"F must be (3, 3), got {F.shape}")
    J = float(np.linalg.det(F))
    if not J > 0.0:
        raise ValueError(f"det F = {J:g} must be positive")
    basis = np.eye(3) if basis is None else np.ascontiguousarray(basis, dtype=np.float64)
    C = np.ascontiguousarray(F.T @ F)
    S = np.zeros(6)
    CC = np.zeros((6, 6))
    W = material_response(resolved.spec.model_id, C, resolved.params, basis, S, CC)
    if not resolved.spec.coupled:
        W += volumetric_response(C, resolved.bulk, S, CC)
    Sm = np.empty((3, 3))
    Sm[VI, VJ] = S
    Sm[VJ, VI] = S
    return {"S": Sm, "CC": CC, "W": float(W), "sigma": F @ Sm @ F.T / J, "J": J}


def small_strain_shear_modulus(resolved: ResolvedMaterial) -> float:
    """Small-strain shear modulus μ0 (MPa) of a resolved material (per model; see its spec)."""
    return float(resolved.spec.shear_modulus(resolved.values))
