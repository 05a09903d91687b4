"""Exception hierarchy of biomech: every error a user can cause derives from BiomechError.

Messages name the file, region, key or value at fault and say how to fix it.
"""

from __future__ import annotations

__all__ = [
    "BiomechError",
    "MeshError",
    "UnitError",
    "CaseError",
    "ConvergenceError",
    "MaterialError",
]


class BiomechError(Exception):
    """Base class of all errors raised deliberately by biomech."""


class MeshError(BiomechError, ValueError):
    """A mesh file or mesh object cannot be used: unreadable, wrong cell types, inverted cells,
    face sets off the boundary, selectors that select nothing."""


class UnitError(BiomechError, ValueError):
    """A quantity has a missing, unknown or wrong-kind unit, or is not a finite number."""


class CaseError(BiomechError, ValueError):
    """A case file (the simulation description) is invalid: unknown key, missing or bad value."""


class ConvergenceError(BiomechError):
    """The nonlinear solver did not converge (diverged, stagnated or hit its iteration limit).

    ``result`` carries the last converged state when there is one.
    """

    def __init__(self, message: str, result=None) -> None:
        super().__init__(message)
        self.result = result


class MaterialError(BiomechError):
    """A material model or its parameters are invalid (e.g. non-positive stiffness)."""
