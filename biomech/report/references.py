"""Default formulas and sources of the AAA report, as cited in the project's reference notes.

``AAA_FORMULAS``: (quantity, formula, source key); ``AAA_SOURCES``: (key, citation).
Units as in the report: stress and strength in MPa unless stated, lengths in mm.
"""

from __future__ import annotations

__all__ = ["AAA_FORMULAS", "AAA_SOURCES"]

AAA_SOURCES: list[tuple[str, str]] = [
    ("Vande Geest 2006", "Vande Geest et al., J Vasc Surg 44:1213, 2006."),
    ("Raghavan & Vorp 2000", "Raghavan & Vorp, J Biomech 33:475, 2000."),
    ("Gasser 2008", "Gasser et al., J Vasc Surg 48, 2008."),
    ("Chandra 2016", "Chandra et al., J Biomech Eng 138:101005, 2016."),
    ("Bols 2013", "Bols et al., ESAIM M2AN 47:1059, 2013."),
    (
        "Celik 2008",
        (
            "Celik et al., J Fluids Eng 130:078001, 2008 (Roache's grid convergence "
            "index, three-grid procedure)."
        ),
    ),
    ("Polzer & Gasser 2015", "Polzer & Gasser, J R Soc Interface, 2015."),
    (
        "Clinical rule",
        (
            "Repair at maximum diameter > 55 mm (men), > 50 mm (women) or growth "
            "> 10 mm/year; annual rupture risk < 1 % below 55 mm, ~10 % at 55–70 mm, "
            "~33 % above (the thresholds of current AAA guidelines). Below 30 mm the aorta "
            "is not aneurysmal (ESVS 2019 guidelines, Wanhainen et al., Eur J Vasc Endovasc "
            "Surg 57:8)."
        ),
    ),
]

AAA_FORMULAS: list[tuple[str, str, str]] = [
    (
        "Wall strength",
        (
            "STRENGTH [N/cm²] = 71.9 − 37.9 (ILT^½ − 0.81) − 15.6 (NORD − 2.46) − 21.3 HIST + 19.3 SEX; "
            "ILT local thrombus thickness [cm] clamped to [0, 3.6], NORD = local / neck diameter clamped "
            "to [1, 3.9], HIST = ±0.5 (family history yes/no), SEX = ±0.5 (male/female); floored at "
            "10 N/cm² (0.1 MPa)"
        ),
        "Vande Geest 2006",
    ),
    (
        "Rupture potential index",
        ("RPI(x) = σ₁(x) / STRENGTH(x), σ₁ the first principal Cauchy stress"),
        "Vande Geest 2006",
    ),
    ("Peak wall rupture index", "PWRI = max over the wall of RPI(x)", "Vande Geest 2006"),
    ("Peak wall stress", "PWS = max over the wall of σ₁ (also von Mises where reported)", ""),
    (
        "PWS99",
        (
            "99th percentile of σ₁ over the wall elements, volume-weighted plotting positions "
            "(robust to single-element stress singularities)"
        ),
        "",
    ),
    (
        "Diameter rule",
        "repair if D_max > 55 mm (men) / > 50 mm (women), or growth > 10 mm/year",
        "Clinical rule",
    ),
    (
        "AAA wall",
        (
            "W = α (I₁ − 3) + β (I₁ − 3)², α = 0.174 MPa, β = 1.881 MPa (population mean), "
            "nearly incompressible"
        ),
        "Raghavan & Vorp 2000",
    ),
    (
        "Intraluminal thrombus",
        (
            "W = c (Ī₁² − 2 Ī₂ − 3), c = 2.62 / 2.13 / 1.98 kPa (luminal / "
            "medial / abluminal), linear in normalised depth"
        ),
        "Gasser 2008",
    ),
    (
        "Zero-pressure geometry",
        (
            "X_{k+1} = x_img − u(X_k) (backward displacement) until the "
            "loaded geometry matches the image; ignoring it underestimates PWS by ~15 % on average"
        ),
        "Bols 2013; Chandra 2016",
    ),
    (
        "Grid convergence index",
        ("GCI_fine = 1.25 |(φ₁ − φ₂)/φ₁| / (r₂₁^p − 1), p the observed order from three grids"),
        "Celik 2008",
    ),
    (
        "Rupture probability",
        (
            "P = P(PWRI > 1), i.e. σ > STRENGTH somewhere on the wall, over samples of strength, "
            "wall thickness, material "
            "and pressure as random inputs"
        ),
        "Polzer & Gasser 2015",
    ),
]
