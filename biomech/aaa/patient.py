"""Patient covariates of the rupture-risk models: sex and family history, never guessed."""

from __future__ import annotations

import numpy as np

from biomech.errors import CaseError

__all__ = ["SEXES", "require_sex", "require_family_history"]

SEXES = ("male", "female")

_SEX_MISSING = (
    "sex is required (male/female): the strength model and the diameter rule depend on it; "
    "it is not guessed"
)


def require_sex(sex: str | None) -> str:
    """``"male"`` or ``"female"`` (case and surrounding blanks ignored); CaseError otherwise."""
    if sex is None or (isinstance(sex, str) and not sex.strip()):
        raise CaseError(_SEX_MISSING)
    if not isinstance(sex, str) or sex.strip().lower() not in SEXES:
        raise CaseError(f"sex must be 'male' or 'female', got {sex!r}")
    return sex.strip().lower()


def require_family_history(family_history: bool | None) -> bool:
    """The family-history flag as a bool; CaseError if missing or not a bool."""
    if family_history is None:
        raise CaseError(
            "family_history is required (true/false): it shifts the Vande Geest strength by "
            "21.3 N/cm²; it is not guessed"
        )
    if not isinstance(family_history, (bool, np.bool_)):  # 0/1 or "yes" are not accepted
        raise CaseError(f"family_history must be true or false, got {family_history!r}")
    return bool(family_history)
