"""Probabilistic rupture risk: Latin hypercube design, Clopper–Pearson interval, PRCC, the
parallel sample runner, and P(PWRI > 1) against an exact lognormal answer."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from biomech.aaa.probabilistic import (
    InputDistribution,
    clopper_pearson,
    default_distributions,
    latin_hypercube,
    latin_hypercube_unit,
    run_samples,
    rupture_probability,
    sensitivity,
    summarize,
    thickness_stress_scale,
)
from biomech.errors import CaseError

NORMAL = InputDistribution("x", "normal", 2.0, 0.5)
LOGNORMAL = InputDistribution("s", "lognormal", 0.4, 0.1)
TRUNC = InputDistribution("t", "truncnormal", 1.5, 0.3, low=1.0, high=2.5)
UNIFORM = InputDistribution.uniform("u", -1.0, 3.0)
ALL = [NORMAL, LOGNORMAL, TRUNC, UNIFORM]


def _lognormal_log_params(mean: float, sd: float) -> tuple[float, float]:
    """μ and σ of ln X for a lognormal X with the given mean and sd (textbook moments)."""
    s2 = math.log(1.0 + (sd / mean) ** 2)
    return math.log(mean) - 0.5 * s2, math.sqrt(s2)


def _independent_cdf(d: InputDistribution, x: np.ndarray) -> np.ndarray:
    """CDFs written out here from the definitions, not through the module's scipy objects."""
    if d.kind == "normal":
        return stats.norm.cdf((x - d.mean) / d.sd)
    if d.kind == "lognormal":
        mu, sigma = _lognormal_log_params(d.mean, d.sd)
        return stats.norm.cdf((np.log(x) - mu) / sigma)
    if d.kind == "truncnormal":
        lo, hi = (stats.norm.cdf((b - d.mean) / d.sd) for b in (d.low, d.high))
        return (stats.norm.cdf((x - d.mean) / d.sd) - lo) / (hi - lo)
    return (x - d.low) / (d.high - d.low)


# --- Latin hypercube --------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 100, 1000])
def test_each_stratum_hit_exactly_once_per_input(n):
    unit = latin_hypercube_unit(n, [d.name for d in ALL], seed=3)
    phys = latin_hypercube(n, ALL, seed=3)
    for d in ALL:
        u = unit[d.name]
        assert np.all((u > 0.0) & (u < 1.0))
        assert np.array_equal(np.sort(np.floor(u * n)), np.arange(n))
        # the physical values, mapped back through an independently written CDF
        back = _independent_cdf(d, phys[d.name])
        assert np.allclose(back, u, rtol=0.0, atol=1e-9)
        assert np.array_equal(np.sort(np.floor(back * n)), np.arange(n))


def test_deterministic_per_seed_and_per_input_name():
    a = latin_hypercube(50, ALL, seed=11)
    b = latin_hypercube(50, ALL, seed=11)
    c = latin_hypercube(50, ALL, seed=12)
    for d in ALL:
        assert np.array_equal(a[d.name], b[d.name])  # bitwise
        assert not np.array_equal(a[d.name], c[d.name])
    # a column depends only on (n, seed, name): dropping or reordering inputs leaves it alone
    sub = latin_hypercube(50, [UNIFORM, NORMAL], seed=11)
    assert np.array_equal(sub["x"], a["x"]) and np.array_equal(sub["u"], a["u"])
    # distinct names get distinct streams (no two columns share a permutation)
    unit = latin_hypercube_unit(50, ["p", "q"], seed=11)
    assert not np.array_equal(np.argsort(unit["p"]), np.argsort(unit["q"]))


def test_marginal_moments_of_a_normal_n2000():
    # For a smooth monotone function LHS makes the sample mean's error O(n^-1.5) instead of
    # random sampling's σ/√n = 0.022σ at n = 2000: over 200 seeds the largest |mean error| was
    # 7e-4σ and the largest relative sd error 0.4 %. Tolerances 5e-3σ and 1 % are several times
    # those, and a plain random sample would fail the mean one most of the time.
    x = latin_hypercube(2000, [NORMAL], seed=2024)["x"]
    assert abs(x.mean() - NORMAL.mean) < 5e-3 * NORMAL.sd
    assert x.std(ddof=1) == pytest.approx(NORMAL.sd, rel=0.01)


def test_lognormal_moments_are_those_of_the_variable_not_its_log():
    s = latin_hypercube(4000, [LOGNORMAL], seed=5)["s"]
    assert s.mean() == pytest.approx(0.4, rel=5e-3)
    assert s.std(ddof=1) == pytest.approx(0.1, rel=0.03)  # heavier tail: looser than normal


@pytest.mark.parametrize("n, seed", [(0, 1), (-3, 1), (2.5, 1), (10, -1), (10, 1.5), (True, 1)])
def test_bad_n_or_seed(n, seed):
    with pytest.raises(CaseError):
        latin_hypercube(n, [NORMAL], seed)


# --- distributions ----------------------------------------------------------------------------


def test_default_distributions_documented_and_well_formed():
    dists = default_distributions(120.0, 1.5)
    names = [d.name for d in dists]
    assert names == [
        "wall_thickness_mm",
        "alpha_MPa",
        "beta_MPa",
        "strength_factor",
        "systolic_mmHg",
    ]
    q = np.linspace(1e-6, 1.0 - 1e-6, 2001)
    for d in dists:
        assert d.source.strip(), d.name
        x = d.ppf(q)
        assert np.all(np.isfinite(x)) and np.all(np.diff(x) > 0.0), d.name  # monotone
        if d.low is not None:
            assert x.min() >= d.low
        if d.high is not None:
            assert x.max() <= d.high
        assert d.cdf(d.ppf(0.3)) == pytest.approx(0.3)
    by = {d.name: d for d in dists}
    assert by["wall_thickness_mm"].low == 0.5 and by["wall_thickness_mm"].mean == 1.5
    assert by["alpha_MPa"].mean == 0.174 and by["beta_MPa"].mean == 1.881  # reference §1
    assert by["strength_factor"].mean == 1.0
    assert by["systolic_mmHg"].mean == 120.0 and by["systolic_mmHg"].sd == 8.0
    assert [d.name for d in dists if d.confirmed] == ["systolic_mmHg"]
    thin = {d.name: d for d in default_distributions(120.0, 0.6)}["wall_thickness_mm"]
    assert thin.low == pytest.approx(0.3)  # half the nominal when that is below 0.5 mm


def test_distribution_validation():
    with pytest.raises(CaseError, match="kind"):
        InputDistribution("a", "weibull", 1.0, 0.1)
    with pytest.raises(CaseError, match="sd"):
        InputDistribution("a", "normal", 1.0, 0.0)
    with pytest.raises(CaseError, match="truncnormal"):
        InputDistribution("a", "normal", 1.0, 0.1, low=0.0)
    with pytest.raises(CaseError, match="mean > 0"):
        InputDistribution("a", "lognormal", -1.0, 0.1)
    with pytest.raises(CaseError, match="low and/or high"):
        InputDistribution("a", "truncnormal", 1.0, 0.1)
    with pytest.raises(CaseError, match="uniform"):
        InputDistribution("a", "uniform", 0.0, 1.0, low=0.0, high=1.0)
    with pytest.raises(CaseError, match="unique"):
        latin_hypercube(5, [NORMAL, NORMAL], seed=0)
    with pytest.raises(CaseError):
        default_distributions(-5.0, 1.5)


# --- Clopper–Pearson --------------------------------------------------------------------------


def test_clopper_pearson_textbook_values():
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1.0 - 0.025**0.1, abs=1e-12)  # closed form
    assert round(hi, 4) == 0.3085
    lo, hi = clopper_pearson(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.1871, 0.8129)
    lo, hi = clopper_pearson(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.025**0.1, abs=1e-12)


@pytest.mark.parametrize("x, n", [(0, 1), (1, 3), (7, 40), (39, 400), (400, 400), (13, 2000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_against_scipy_binomtest(x, n, confidence):
    ref = stats.binomtest(x, n).proportion_ci(confidence_level=confidence, method="exact")
    lo, hi = clopper_pearson(x, n, confidence)
    assert lo == pytest.approx(ref.low, abs=1e-12)
    assert hi == pytest.approx(ref.high, abs=1e-12)


def test_rupture_probability_counts_failures_and_is_strict():
    r = rupture_probability([0.5, 1.0, 1.2, np.nan, 2.0, np.inf], threshold=1.0)
    assert (r["n"], r["n_exceed"], r["n_failed"]) == (4, 2, 2)  # 1.0 is not > 1
    assert r["p"] == 0.5
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(clopper_pearson(2, 4))
    assert r["ci_high_if_failed_exceed"] == pytest.approx(clopper_pearson(4, 6)[1])
    none = rupture_probability([np.nan, np.nan])
    assert none["p"] is None and none["n"] == 0 and none["n_failed"] == 2
    json.dumps(none, allow_nan=False)


# --- sensitivity ------------------------------------------------------------------------------


def _prcc_by_inverse_correlation(cols: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """PRCC from the inverse of the rank correlation matrix: −P_jy / √(P_jj P_yy)."""
    ranks = np.column_stack([stats.rankdata(c) for c in [*cols, y]])
    p = np.linalg.inv(np.corrcoef(ranks, rowvar=False))
    k = len(cols)
    return np.array([-p[j, k] / math.sqrt(p[j, j] * p[k, k]) for j in range(k)])


def test_sensitivity_finds_the_dominant_input():
    dists = [
        InputDistribution("a", "normal", 0.0, 1.0),
        InputDistribution("b", "normal", 0.0, 1.0),
        InputDistribution.uniform("c", 0.0, 1.0),
        InputDistribution.uniform("noise", -1.0, 1.0),
    ]
    s = latin_hypercube(500, dists, seed=7)
    y = 3.0 * s["a"] + 0.1 * s["b"] + 0.5 * s["noise"]
    inputs = {k: s[k] for k in ("a", "b", "c")}
    r = sensitivity(inputs, y)
    assert r["dominant_input"] == "a"
    assert abs(r["prcc"]["a"]) > 0.9 and r["prcc"]["a"] > 0.0
    assert abs(r["prcc"]["c"]) < 0.15  # no effect: PRCC ~ N(0, 1/√n)
    assert r["spearman"]["a"] == pytest.approx(stats.spearmanr(s["a"], y)[0], abs=1e-12)
    ref = _prcc_by_inverse_correlation([s["a"], s["b"], s["c"]], y)
    assert [r["prcc"][k] for k in ("a", "b", "c")] == pytest.approx(ref, abs=1e-10)


def test_sensitivity_drops_failed_samples_and_constant_inputs():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=60), rng.normal(size=60)
    y = a - 0.2 * b
    y[[3, 10]] = np.nan
    r = sensitivity({"a": a, "b": b, "fixed": np.full(60, 1.5)}, y)
    assert r["n"] == 58 and r["prcc"]["fixed"] is None and r["dominant_input"] == "a"
    tiny = sensitivity({"a": a[:4], "b": b[:4]}, y[:4])
    assert tiny["dominant_input"] is None  # too few samples for partial correlations


# --- the parallel runner ----------------------------------------------------------------------

_STATE: dict = {}


def _init_worker(offset: float) -> None:
    """What the pipeline's initializer does: build the shared state once per process."""
    _STATE["offset"] = offset
    _STATE["inits"] = _STATE.get("inits", 0) + 1


def _solve_analytic(sample: dict) -> dict:
    """A cheap deterministic 'solve' using the per-process state; raises on a marked sample."""
    if sample["x"] < 0.0:
        raise RuntimeError(f"did not converge at x = {sample['x']:.3f}")
    v = math.sin(sample["x"]) * math.exp(sample["y"]) + _STATE["offset"]
    return {"pwri": v, "pws_MPa": 0.1 * v, "inits": _STATE["inits"]}


def _solve_or_die(sample: dict) -> dict:
    """Kills its worker process on the marked sample (an out-of-memory kill, say)."""
    if sample["x"] > 100.0:
        os._exit(3)
    return {"pwri": sample["x"]}


def _runner_samples() -> dict[str, np.ndarray]:
    s = latin_hypercube(
        12,
        [InputDistribution.uniform("x", 0.1, 3.0), InputDistribution("y", "normal", 0.0, 0.2)],
        seed=1,
    )
    s["x"][[2, 9]] = -1.0  # these two samples fail
    return s


def test_run_samples_workers_give_bitwise_the_same_list():
    s = _runner_samples()
    _STATE.clear()
    serial = run_samples(_solve_analytic, s, workers=1, initializer=_init_worker, initargs=(0.5,))
    parallel = run_samples(_solve_analytic, s, workers=2, initializer=_init_worker, initargs=(0.5,))
    assert parallel == serial  # same floats bit for bit, same order
    assert [r["status"] for r in serial].count("failed") == 2
    for i, r in enumerate(serial):
        if i in (2, 9):
            assert r["status"] == "failed" and "did not converge" in r["error"]
        else:
            expect = math.sin(s["x"][i]) * math.exp(s["y"][i]) + 0.5
            assert r["status"] == "ok" and r["pwri"] == expect  # in sample order
            assert r["inits"] == 1  # the initializer ran once per process, not per sample


def test_run_samples_survives_a_dying_worker():
    s = {"x": np.array([1.0, 2.0, 200.0, 3.0, 4.0, 5.0])}
    out = run_samples(_solve_or_die, s, workers=2)
    assert len(out) == 6
    assert out[2]["status"] == "failed" and "worker process died" in out[2]["error"]
    for i, r in enumerate(out):  # samples that finished before the crash keep their result
        assert r["status"] in ("ok", "failed")
        if r["status"] == "ok":
            assert r["pwri"] == s["x"][i]


def test_run_samples_needs_picklable_functions_for_workers():
    with pytest.raises(CaseError, match="module-level"):
        run_samples(lambda row: {"pwri": 1.0}, {"x": np.ones(3)}, workers=2)
    with pytest.raises(CaseError, match="workers"):
        run_samples(_solve_analytic, {"x": np.ones(3)}, workers=0)


# --- P(PWRI > 1) against an exact answer ------------------------------------------------------

STRESS = InputDistribution("stress_MPa", "lognormal", 0.30, 0.09)
STRENGTH = InputDistribution("strength_MPa", "lognormal", 0.40, 0.10)


def _exact_p_ratio_exceeds_one() -> float:
    """PWRI = R/S with lognormal R and S: ln PWRI ~ N(μR − μS, σR² + σS²), so
    P(PWRI > 1) = Φ((μR − μS)/√(σR² + σS²)) (≈ 0.216 here)."""
    mr, sr = _lognormal_log_params(STRESS.mean, STRESS.sd)
    ms, ss = _lognormal_log_params(STRENGTH.mean, STRENGTH.sd)
    return float(stats.norm.cdf((mr - ms) / math.hypot(sr, ss)))


def _solve_ratio(sample: dict) -> dict:
    return {"pwri": sample["stress_MPa"] / sample["strength_MPa"], "pws_MPa": sample["stress_MPa"]}


def test_rupture_probability_of_an_analytic_model_end_to_end():
    exact = _exact_p_ratio_exceeds_one()
    dists = [STRESS, STRENGTH]
    samples = latin_hypercube(400, dists, seed=20240611)
    results = run_samples(_solve_ratio, samples)
    block = summarize(samples, results, dists, seed=20240611)
    assert block["ci_low"] <= exact <= block["ci_high"]
    assert block["ci_high"] - block["ci_low"] < 0.1  # ≈ 2·1.96·√(p(1−p)/n) = 0.08
    assert abs(block["p"] - exact) < 0.05
    assert block["n"] == 400 and block["n_failed"] == 0 and block["failures"] == []
    assert block["seed"] == 20240611 and block["n_samples"] == 400
    # PWRI = R/S: R (CoV 0.30) moves it more than S (CoV 0.25), and S the other way
    assert block["dominant_input"] == "stress_MPa"
    assert block["sensitivity"]["prcc"]["strength_MPa"] < -0.5
    med = math.exp(_lognormal_log_params(0.3, 0.09)[0] - _lognormal_log_params(0.4, 0.1)[0])
    assert block["pwri_quantiles"]["p50"] == pytest.approx(med, rel=0.03)
    assert block["pws_MPa_quantiles"]["p5"] < 0.3 < block["pws_MPa_quantiles"]["p95"]
    assert [d["name"] for d in block["distributions"]] == ["stress_MPa", "strength_MPa"]
    json.dumps(block, allow_nan=False)


def test_interval_coverage_over_seeds():
    # Clopper–Pearson is exact for random sampling; LHS lowers the variance of the estimate
    # for a monotone model, so the 95 % interval should cover the exact P at least 95 % of
    # the time (it covered it for all of 500 seeds when this test was written).
    exact = _exact_p_ratio_exceeds_one()
    hits = 0
    for seed in range(200):
        s = latin_hypercube(400, [STRESS, STRENGTH], seed=seed)
        r = rupture_probability(s["stress_MPa"] / s["strength_MPa"])
        hits += r["ci_low"] <= exact <= r["ci_high"]
    assert hits / 200 >= 0.95


def test_summary_lists_failures_with_their_inputs():
    s = _runner_samples()
    _STATE.clear()
    results = run_samples(_solve_analytic, s, initializer=_init_worker, initargs=(0.0,))
    block = summarize(s, results, [], seed=1)
    assert block["n_failed"] == 2 and [f["index"] for f in block["failures"]] == [2, 9]
    assert block["failures"][0]["inputs"]["x"] == -1.0
    json.dumps(block, allow_nan=False)


# --- thickness scaling ------------------------------------------------------------------------


def test_thickness_stress_scale_is_the_laplace_ratio():
    p, r = 0.016, 27.5  # MPa, mm: 120 mmHg in a 55 mm sac

    def laplace(t):  # cylinder hoop stress
        return p * r / t

    assert thickness_stress_scale(1.5, 1.2) == pytest.approx(laplace(1.2) / laplace(1.5))
    assert np.allclose(thickness_stress_scale(1.5, np.array([1.5, 3.0])), [1.0, 0.5])
    with pytest.raises(CaseError):
        thickness_stress_scale(1.5, 0.0)
