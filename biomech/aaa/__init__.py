"""AAA rupture risk and calculation verification: wall strength (Vande Geest 2006), PWS/PWRI,
the clinical diameter rule, and Roache's GCI (Celik et al. 2008). Units: mm, MPa.
"""

from biomech.aaa.gci import GCIResult, gci_verdict, grid_convergence, observed_order
from biomech.aaa.indices import (
    annual_rupture_risk_band,
    diameter_rule,
    rred_mm,
    rupture_indices,
    weighted_percentile,
)
from biomech.aaa.patient import require_family_history, require_sex
from biomech.aaa.strength import (
    DEFAULT_FLOOR_N_CM2,
    HIST_CODE,
    SEX_CODE,
    strength_extrapolation_flags,
    vande_geest_raw_N_cm2,
    vande_geest_strength,
)

__all__ = [
    "DEFAULT_FLOOR_N_CM2",
    "GCIResult",
    "HIST_CODE",
    "SEX_CODE",
    "annual_rupture_risk_band",
    "diameter_rule",
    "gci_verdict",
    "grid_convergence",
    "observed_order",
    "require_family_history",
    "require_sex",
    "rred_mm",
    "rupture_indices",
    "strength_extrapolation_flags",
    "vande_geest_raw_N_cm2",
    "vande_geest_strength",
    "weighted_percentile",
]
