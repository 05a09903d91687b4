"""Materials against independent closed forms: the small-strain limit and homogeneous
(nearly) incompressible uniaxial / equibiaxial deformations.

Incompressible principal Cauchy stresses: σᵢ = λᵢ ∂W/∂λᵢ − p (Holzapfel 2000, §6.3).
For Ψ(Ī1, Ī2) this reads σᵢ = 2(Ψ1 + Ī1 Ψ2) λᵢ² − 2Ψ2 λᵢ⁴ − p, so in uniaxial tension
(λ, λ^-½, λ^-½) with σ2 = σ3 = 0: σ = 2(λ² − 1/λ)(Ψ1 + Ψ2/λ), and in equibiaxial tension
(λ, λ, λ⁻²) with σ3 = 0: σ = 2(λ² − λ⁻⁴)(Ψ1 + λ² Ψ2).

For an uncoupled material at J ≠ 1 the deviatoric Cauchy stress is J⁻¹ times the
incompressible one at F̄ = J^-⅓ F, so with σ2 = σ3 = 0 solved for numerically the axial
stress is exactly σ_inc(λ̄)/J with λ̄ = λ J^-⅓ (checked to 1e-9), and it tends to
σ_inc(λ) as bulk/μ0 → ∞ (checked with bulk/μ0 ≥ 1e4 to a tolerance of 1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from biomech.materials import evaluate, get_material, small_strain_shear_modulus

# --- small-strain limit ---------------------------------------------------------------

# small-strain shear modulus μ0, derived by hand: with logarithmic isochoric strains hᵢ
# (Σhᵢ = 0) linear elasticity stores μ0 Σhᵢ²; λ̄ᵢ² = e^{2hᵢ} gives Ī1 − 3 ≈ 2Σhᵢ²,
# Ī2 − 3 = Σλ̄ᵢ⁻² − 3 ≈ 2Σhᵢ², Σ(λ̄ᵢ⁴ − 1) ≈ 8Σhᵢ².
ISOTROPIC = {
    "neo-hookean": ({"mu": 0.06, "bulk": 6.0}, lambda v: v["mu"]),
    "neo-hookean-compressible": ({"mu": 0.4225, "bulk": 1.2}, lambda v: v["mu"]),
    "mooney-rivlin": ({"c10": 0.05, "c01": 0.02, "bulk": 5.0}, lambda v: 2 * (v["c10"] + v["c01"])),
    "yeoh": ({"c10": 0.05, "c20": -0.01, "c30": 0.005, "bulk": 5.0}, lambda v: 2 * v["c10"]),
    "raghavan-vorp": ({"alpha": 0.174, "beta": 1.881, "bulk": 10.0}, lambda v: 2 * v["alpha"]),
    "ilt": ({"c": 0.00262, "bulk": 0.3}, lambda v: 8 * v["c"]),
    # HGO with k1 = 0 is its neo-Hookean matrix
    "hgo": (
        {"mu": 0.00764, "k1": 0.0, "k2": 524.6, "kappa": 0.2, "angle": 0.8, "bulk": 1.0},
        lambda v: v["mu"],
    ),
    # Guccione with bf = bt = bfs = b: Ψ ≈ C b/2 Ē:Ē, μ0 = C b/2
    "guccione": (
        {"C": 0.002, "bf": 3.0, "bt": 3.0, "bfs": 3.0, "bulk": 0.5},
        lambda v: v["C"] * v["bf"] / 2,
    ),
    "linear-elastic": ({"E": 1.0, "nu": 0.3}, lambda v: v["E"] / (2 * (1 + v["nu"]))),
}
EPS = 1e-7


def linear_sigma(eps: np.ndarray, mu0: float, bulk: float) -> np.ndarray:
    """Isotropic linear elasticity σ = K tr ε I + 2 μ0 dev ε."""
    e = 0.5 * (eps + eps.T)
    return bulk * np.trace(e) * np.eye(3) + 2 * mu0 * (e - np.trace(e) / 3 * np.eye(3))


def bulk_of(resolved) -> float:
    v = resolved.values
    return v["E"] / (3 * (1 - 2 * v["nu"])) if "E" in v else v["bulk"]


@pytest.mark.parametrize("name", sorted(ISOTROPIC))
def test_small_strain_limit_is_linear_elasticity(name, all_cases):
    values, mu0 = ISOTROPIC[name]
    resolved = get_material(name).resolve(values)
    assert small_strain_shear_modulus(resolved) == pytest.approx(mu0(values), rel=1e-14)
    basis = all_cases[name][1] if all_cases[name][1] is not None else np.eye(3)
    rng = np.random.default_rng(3)
    for _ in range(3):
        G = rng.uniform(-1, 1, (3, 3))
        sigma = evaluate(resolved, np.eye(3) + EPS * G, basis)["sigma"]
        ref = linear_sigma(EPS * G, mu0(values), bulk_of(resolved))
        assert np.abs(sigma - ref).max() < 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("name", sorted(n for n in ISOTROPIC if n != "linear-elastic"))
def test_nu_gives_poisson_ratio(name):
    """bulk from nu uses the right μ0: a uniaxial small strain (e, −νe, −νe) is stress-free
    laterally and carries σ11 = E e = 2 μ0 (1 + ν) e."""
    values, mu0 = ISOTROPIC[name]
    nu = 0.3
    values = {k: v for k, v in values.items() if k != "bulk"} | {"nu": nu}
    resolved = get_material(name).resolve(values)
    e = 1e-7
    sigma = evaluate(resolved, np.diag([1 + e, 1 - nu * e, 1 - nu * e]))["sigma"]
    E = 2 * mu0(values) * (1 + nu)
    assert sigma[0, 0] == pytest.approx(E * e, rel=1e-5)
    assert abs(sigma[1, 1]) < 1e-5 * E * e and abs(sigma[2, 2]) < 1e-5 * E * e


def test_hgo_fibres_in_compression_carry_nothing(all_cases):
    """Small strain compressing both fibre directions (Īᵢ < 1, classic switch): the
    response is that of the matrix, linear elasticity with μ0 = μ."""
    values = dict(all_cases["hgo"][0], kappa=0.0)
    basis = all_cases["hgo"][1]
    resolved = get_material("hgo").resolve(values)
    G = basis.T @ np.array([[-1.0, 0.1, 0.2], [0.0, -1.0, 0.1], [0.3, 0.0, 1.5]]) @ basis
    sigma = evaluate(resolved, np.eye(3) + EPS * G, basis)["sigma"]
    ref = linear_sigma(EPS * G, values["mu"], values["bulk"])
    assert np.abs(sigma - ref).max() < 1e-5 * np.abs(ref).max()


def test_guccione_small_strain_anisotropic(all_cases):
    """Ψ ≈ C/2 Q(dev ε) at small strain, so σ = K tr ε I + dev(C/2 ∂Q/∂ε), with ∂Q/∂E in the
    local basis: [[2bf E_ff, 2bfs E_fs, 2bfs E_fn], [., 2bt E_ss, 2bt E_sn], [., ., 2bt E_nn]]."""
    values, basis = all_cases["guccione"]
    resolved = get_material("guccione").resolve(values)
    C, bf, bt, bfs = (values[k] for k in ("C", "bf", "bt", "bfs"))
    G = np.random.default_rng(9).uniform(-1, 1, (3, 3))
    eps = 0.5 * EPS * (G + G.T)
    dev = eps - np.trace(eps) / 3 * np.eye(3)
    El = basis @ dev @ basis.T
    b = np.array([[bf, bfs, bfs], [bfs, bt, bt], [bfs, bt, bt]])
    dQ = basis.T @ (2 * b * El) @ basis
    ref = values["bulk"] * np.trace(eps) * np.eye(3) + 0.5 * C * (dQ - np.trace(dQ) / 3 * np.eye(3))
    sigma = evaluate(resolved, np.eye(3) + EPS * G, basis)["sigma"]
    assert np.abs(sigma - ref).max() < 1e-5 * np.abs(ref).max()


# --- large homogeneous deformations ---------------------------------------------------


def solve_lateral(resolved, make_F, lam0, axis, basis=None):
    """Stretch x with σ[axis] = 0 in the state make_F(x), bracketed around lam0."""
    def f(x):
        s = evaluate(resolved, make_F(x), basis)["sigma"]
        a = basis[axis] if basis is not None else np.eye(3)[axis]
        return a @ s @ a

    x = brentq(f, 0.8 * lam0, 1.25 * lam0, xtol=1e-15, rtol=1e-15)
    return make_F(x)


def uniaxial_iso(psi):
    """σ(λ) = 2(λ² − 1/λ)(Ψ1 + Ψ2/λ) with (Ψ1, Ψ2) = psi(Ī1, Ī2)."""
    def sigma(lam):
        p1, p2 = psi(lam**2 + 2 / lam, 2 * lam + 1 / lam**2)
        return 2 * (lam**2 - 1 / lam) * (p1 + p2 / lam)

    return sigma


def equibiaxial_iso(psi):
    """σ(λ) = 2(λ² − λ⁻⁴)(Ψ1 + λ² Ψ2)."""
    def sigma(lam):
        p1, p2 = psi(2 * lam**2 + lam**-4, lam**4 + 2 / lam**2)
        return 2 * (lam**2 - lam**-4) * (p1 + lam**2 * p2)

    return sigma


NH = {"mu": 0.06}
MR = {"c10": 0.05, "c01": 0.02}
YEOH = {"c10": 0.05, "c20": -0.01, "c30": 0.005}
RV = {"alpha": 0.174, "beta": 1.881}
ILT = {"c": 0.00262}

UNIAXIAL = {
    # σ = μ(λ² − 1/λ)
    "neo-hookean": (NH, lambda lam: NH["mu"] * (lam**2 - 1 / lam)),
    "mooney-rivlin": (MR, uniaxial_iso(lambda i1, i2: (MR["c10"], MR["c01"]))),
    # Ψ1 = c10 + 2 c20 x + 3 c30 x², x = Ī1 − 3
    "yeoh": (
        YEOH,
        uniaxial_iso(
            lambda i1, i2: (
                YEOH["c10"] + 2 * YEOH["c20"] * (i1 - 3) + 3 * YEOH["c30"] * (i1 - 3) ** 2,
                0.0,
            )
        ),
    ),
    # σ = 2(λ² − 1/λ)(α + 2β(λ² + 2/λ − 3))
    "raghavan-vorp": (
        RV,
        lambda lam: 2
        * (lam**2 - 1 / lam)
        * (RV["alpha"] + 2 * RV["beta"] * (lam**2 + 2 / lam - 3)),
    ),
    # W = c Σ(λᵢ⁴ − 1): σ = 4c(λ⁴ − λ⁻²)
    "ilt": (ILT, lambda lam: 4 * ILT["c"] * (lam**4 - lam**-2)),
}
EQUIBIAXIAL = {
    # σ = μ(λ² − λ⁻⁴)
    "neo-hookean": (NH, lambda lam: NH["mu"] * (lam**2 - lam**-4)),
    # σ = 2(λ² − λ⁻⁴)(α + 2β(2λ² + λ⁻⁴ − 3))
    "raghavan-vorp": (
        RV,
        lambda lam: 2
        * (lam**2 - lam**-4)
        * (RV["alpha"] + 2 * RV["beta"] * (2 * lam**2 + lam**-4 - 3)),
    ),
    "mooney-rivlin": (MR, equibiaxial_iso(lambda i1, i2: (MR["c10"], MR["c01"]))),
}


def nearly_incompressible(name, values):
    spec = get_material(name)
    mu0 = spec.shear_modulus(values)
    return spec.resolve(values | {"bulk": 1e5 * mu0})


def check_against(sigma11, J, lam, closed_form):
    assert sigma11 == pytest.approx(closed_form(lam * J ** (-1 / 3)) / J, rel=1e-9)
    assert sigma11 == pytest.approx(closed_form(lam), rel=1e-3)


@pytest.mark.parametrize("name", sorted(UNIAXIAL))
@pytest.mark.parametrize("lam", [0.8, 1.3])
def test_uniaxial_tension(name, lam):
    values, closed_form = UNIAXIAL[name]
    resolved = nearly_incompressible(name, values)
    F = solve_lateral(resolved, lambda x: np.diag([lam, x, x]), lam**-0.5, axis=1)
    out = evaluate(resolved, F)
    assert abs(out["sigma"][2, 2]) < 1e-9 * abs(out["sigma"][0, 0])
    check_against(out["sigma"][0, 0], out["J"], lam, closed_form)


@pytest.mark.parametrize("name", sorted(EQUIBIAXIAL))
@pytest.mark.parametrize("lam", [0.9, 1.2])
def test_equibiaxial_tension(name, lam):
    values, closed_form = EQUIBIAXIAL[name]
    resolved = nearly_incompressible(name, values)
    F = solve_lateral(resolved, lambda x: np.diag([lam, lam, x]), lam**-2, axis=2)
    out = evaluate(resolved, F)
    assert out["sigma"][1, 1] == pytest.approx(out["sigma"][0, 0], rel=1e-12)
    check_against(out["sigma"][0, 0], out["J"], lam, closed_form)


def test_hgo_equibiaxial_in_the_vessel_plane(all_cases):
    """Equibiaxial stretch λ in the circumferential (θ) / axial (z) plane, λ_r = λ⁻².

    C̄ = diag(λ², λ², λ⁻⁴) in (θ, z, r); both fibres a = cos γ e_θ ± sin γ e_z have
    Ī4 = Ī6 = λ² > 1 (active) and Ē = κ(2λ² + λ⁻⁴ − 3) + (1 − 3κ)(λ² − 1).
    2∂Ψ/∂C = μ I + Σᵢ 2ψ'(Ē)[κ I + (1 − 3κ) aᵢ⊗aᵢ], ψ' = k1 Ē exp(k2 Ē²); the two
    families add up to 2 diag(cos²γ, sin²γ, 0). With σ = −p I + F (2∂Ψ/∂C) Fᵀ, σ_rr = 0:
      σ_θθ = μ(λ² − λ⁻⁴) + 4ψ'[κ(λ² − λ⁻⁴) + (1 − 3κ) λ² cos²γ],
      σ_zz = μ(λ² − λ⁻⁴) + 4ψ'[κ(λ² − λ⁻⁴) + (1 − 3κ) λ² sin²γ].
    """
    values, basis = all_cases["hgo"]
    mu, k1, k2, kappa, g = (values[k] for k in ("mu", "k1", "k2", "kappa", "angle"))

    def closed_form(lam, trig):
        E = kappa * (2 * lam**2 + lam**-4 - 3) + (1 - 3 * kappa) * (lam**2 - 1)
        dpsi = k1 * E * np.exp(k2 * E**2)
        fibres = kappa * (lam**2 - lam**-4) + (1 - 3 * kappa) * lam**2 * trig
        return mu * (lam**2 - lam**-4) + 4 * dpsi * fibres

    resolved = get_material("hgo").resolve(values | {"bulk": 1e4 * k1})  # bulk/μ ≈ 1.3e6
    lam = 1.06
    F = solve_lateral(
        resolved, lambda x: basis.T @ np.diag([lam, lam, x]) @ basis, lam**-2, 2, basis
    )
    out = evaluate(resolved, F, basis)
    s = basis @ out["sigma"] @ basis.T  # local components (θ, z, r)
    assert abs(s[0, 1]) < 1e-10 * abs(s[0, 0])
    for k, trig in ((0, np.cos(g) ** 2), (1, np.sin(g) ** 2)):
        check_against(s[k, k], out["J"], lam, lambda x: closed_form(x, trig))


def test_guccione_uniaxial_along_fibre(all_cases):
    """Uniaxial stretch λ along f; Q is transversely isotropic about f, so λ_s = λ_n = λ^-½.
    E_ff = ½(λ² − 1), E_ss = E_nn = ½(1/λ − 1), Q = bf E_ff² + 2 bt E_ss².
    σᵢ = λᵢ² ∂Ψ/∂E_ii − p with ∂Ψ/∂E_ff = C e^Q bf E_ff, ∂Ψ/∂E_ss = C e^Q bt E_ss; σ_ss = 0:
      σ_ff = C e^Q (bf λ² E_ff − bt E_ss / λ).
    """
    values, basis = all_cases["guccione"]
    C, bf, bt = values["C"], values["bf"], values["bt"]

    def closed_form(lam):
        Eff, Ess = 0.5 * (lam**2 - 1), 0.5 * (1 / lam - 1)
        return C * np.exp(bf * Eff**2 + 2 * bt * Ess**2) * (bf * lam**2 * Eff - bt * Ess / lam)

    resolved = nearly_incompressible("guccione", values)
    for lam in (1.15, 0.9):
        F = solve_lateral(
            resolved, lambda x: basis.T @ np.diag([lam, x, x]) @ basis, lam**-0.5, 1, basis
        )
        out = evaluate(resolved, F, basis)
        s = basis @ out["sigma"] @ basis.T
        # σ_nn = σ_ss (zeroed by the root find) up to round-off in the rotated basis, where the
        # volumetric pressure is a difference of large terms (1.3e-10 seen with numba 0.68, numpy 2.4)
        assert abs(s[2, 2]) < 1e-8 * abs(s[0, 0])
        check_against(s[0, 0], out["J"], lam, closed_form)


def test_linear_elastic_is_saint_venant_kirchhoff_in_uniaxial_stress():
    """S = λ tr E I + 2μ E is linear in E: with S22 = S33 = 0, E22 = −ν E11 and
    S11 = E_Young E11 exactly, σ11 = λ1² S11 / J."""
    resolved = get_material("linear-elastic").resolve({"E": 2.0, "nu": 0.3})
    lam = 1.2
    E11 = 0.5 * (lam**2 - 1)
    lat = np.sqrt(1 - 2 * 0.3 * E11)
    out = evaluate(resolved, np.diag([lam, lat, lat]))
    assert out["S"][0, 0] == pytest.approx(2.0 * E11, rel=1e-12)
    assert abs(out["S"][1, 1]) < 1e-12
    assert out["sigma"][0, 0] == pytest.approx(lam**2 * 2.0 * E11 / (lam * lat**2), rel=1e-12)


@pytest.mark.parametrize("a", [0.9, 1.1])
def test_pure_dilatation(a):
    """F = a I, J = a³. Uncoupled: σ = U'(J) I = k/2 (J − 1/J) I (the isochoric part vanishes);
    compressible neo-Hookean: σ = [μ(a² − 1) + λ ln J] / J I."""
    J = a**3
    nh = get_material("neo-hookean").resolve({"mu": 0.06, "bulk": 6.0})
    ref = 3.0 * (J - 1 / J) * np.eye(3)  # k/2 = 3
    assert np.allclose(evaluate(nh, a * np.eye(3))["sigma"], ref, rtol=1e-12, atol=0)
    nhc = get_material("neo-hookean-compressible").resolve({"mu": 0.06, "bulk": 6.0})
    lam = 6.0 - 2 * 0.06 / 3
    ref = (0.06 * (a**2 - 1) + lam * np.log(J)) / J * np.eye(3)
    assert np.allclose(evaluate(nhc, a * np.eye(3))["sigma"], ref, rtol=1e-12, atol=1e-16)


def test_neo_hookean_closed_form_equals_the_generic_isochoric_projection():
    """Mooney–Rivlin with c01 = 0 is neo-Hookean with μ = 2 c10; it goes through the
    generic isochoric projection (Holzapfel 2000, §6.4) while neo-Hookean has its own
    closed-form S and CC, so the two derivations check each other."""
    nh = get_material("neo-hookean").resolve({"mu": 0.06, "bulk": 6.0})
    mr = get_material("mooney-rivlin").resolve({"c10": 0.03, "c01": 0.0, "bulk": 6.0})
    rng = np.random.default_rng(7)
    for _ in range(20):
        F = np.eye(3) + 0.3 * rng.normal(size=(3, 3))
        if np.linalg.det(F) < 0.2:
            continue
        a, b = evaluate(nh, F), evaluate(mr, F)
        np.testing.assert_allclose(a["S"], b["S"], rtol=0, atol=1e-12 * np.abs(b["S"]).max())
        np.testing.assert_allclose(a["CC"], b["CC"], rtol=0, atol=1e-12 * np.abs(b["CC"]).max())
