"""Probabilistic rupture risk: sample the uncertain inputs, solve each sample, report
P(PWRI > 1) with a confidence interval and which input dominates (after Polzer & Gasser,
J R Soc Interface 2015: strength, thickness, material and pressure treated as random).

The steps, each a function that knows nothing of the FE code (so it is testable with a cheap
analytic model; the ``biomech aaa --samples N --seed S`` pipeline supplies the solver):

1. ``default_distributions``: the documented scatter of each input (``InputDistribution``,
   every one with its ``source``; ``confirmed`` says whether its numbers were checked).
2. ``latin_hypercube``: a Latin hypercube design, each of the n equal-probability strata of
   every input hit exactly once, mapped through the inverse CDF. Inputs are independent.
3. ``run_samples``: ``solve_one(sample)`` for each sample, in worker processes when
   ``workers > 1``; results in sample order; a sample that raises is recorded as failed.
4. ``rupture_probability``: P(PWRI > threshold) with the exact Clopper–Pearson interval.
5. ``sensitivity``: Spearman rank correlation and PRCC (partial rank correlation) per input.
6. ``summarize``: the JSON-able block for summary.json.

Determinism: input ``name``'s column depends only on (seed, name, n), through a
``numpy.random.SeedSequence`` keyed by the seed and a SHA-256 of the name; so a seed gives
the same samples whatever the number of workers, and adding or removing one input leaves the
other columns unchanged. The results are the same whatever the number of workers as long as
``solve_one`` depends only on its sample (fix solver thread counts in the initializer: a
threaded sparse solver may round differently with a different number of threads).

The worker pattern (the expensive shared state built once per process, not once per sample)::

    _STATE = {}

    def init_worker(case_path):                  # module level, so that it pickles
        _STATE["problem"] = build_problem(case_path)   # mesh, assembly pattern, ...

    def solve_one(sample):                       # module level too
        res = _STATE["problem"].solve(pressure_mmHg=sample["systolic_mmHg"], ...)
        return {"pwri": ..., "pws_MPa": ...}

    results = run_samples(solve_one, samples, workers=4,
                          initializer=init_worker, initargs=(case_path,))

With ``workers == 1`` the initializer runs once in the calling process.

Wall thickness without re-meshing: ``thickness_stress_scale`` (Laplace law, thin wall).

The interval is exact for simple random sampling. For Latin hypercube sampling it is
conservative when the output is monotone in each input (McKay, Beckman & Conover,
Technometrics 21:239, 1979: LHS variance of a mean is then no larger than random sampling's).
Failed samples are excluded from P; if failure correlates with high stress this biases P
low, so ``ci_high_if_failed_exceed`` gives the upper bound counting every failure as an
exceedance.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing as mp
import pickle
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from biomech.errors import CaseError

__all__ = [
    "ALPHA_COV",
    "BETA_COV",
    "STRENGTH_COV",
    "SYSTOLIC_SD_MMHG",
    "THICKNESS_COV",
    "InputDistribution",
    "clopper_pearson",
    "default_distributions",
    "latin_hypercube",
    "latin_hypercube_unit",
    "run_samples",
    "rupture_probability",
    "sample_rows",
    "sensitivity",
    "summarize",
    "thickness_stress_scale",
]

KINDS = ("normal", "lognormal", "truncnormal", "uniform")

# Spreads of the default distributions (coefficients of variation, CoV = sd/mean), with the
# reasoning in ``default_distributions``. Only SYSTOLIC_SD_MMHG has been checked at its source.
ALPHA_COV = 0.35  # Raghavan & Vorp 2000 spread, recalled, unconfirmed
BETA_COV = 0.80  # idem
STRENGTH_COV = 0.20  # assumption
THICKNESS_COV = 0.20  # assumption
THICKNESS_MIN_MM = 0.5  # truncation: thinner is below what a wall model should be fed
SYSTOLIC_SD_MMHG = 8.0  # ANSI/AAMI/ISO 81060-2 acceptance limit on device error SD
SYSTOLIC_TRUNCATION_SD = 4.0  # ± 4 sd: bounded samples, moments changed by < 1e-3


@dataclass(frozen=True)
class InputDistribution:
    """One uncertain input.

    ``kind``: "normal" (``mean``, ``sd``); "truncnormal" (the normal N(``mean``, ``sd``)
    restricted to [``low``, ``high``], either bound may be None; ``mean`` and ``sd`` are
    those of the parent normal, not of the truncated one); "lognormal" (``mean`` and ``sd``
    of the variable itself, not of its logarithm; positive); "uniform" on [``low``,
    ``high``] (build it with ``InputDistribution.uniform``, which fills ``mean`` and ``sd``).
    ``source``: the citation or justification shown in the report; ``confirmed``: whether its
    numbers were checked against that source (False: recalled or assumed).
    """

    name: str
    kind: str
    mean: float
    sd: float
    low: float | None = None
    high: float | None = None
    source: str = ""
    confirmed: bool = False

    def __post_init__(self) -> None:
        where = f"distribution {self.name!r}"
        if not self.name or not isinstance(self.name, str):
            raise CaseError("an input distribution needs a non-empty name")
        if self.kind not in KINDS:
            raise CaseError(f"{where}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        for key in ("mean", "sd", "low", "high"):
            v = getattr(self, key)
            if v is not None and not math.isfinite(float(v)):
                raise CaseError(f"{where}: {key} must be finite, got {v!r}")
        if not self.sd > 0.0:
            raise CaseError(f"{where}: sd must be > 0, got {self.sd!r} (fix the input instead)")
        bounded = self.low is not None or self.high is not None
        if self.kind in ("normal", "lognormal") and bounded:
            raise CaseError(f"{where}: {self.kind} takes no bounds; use truncnormal")
        if self.kind == "lognormal" and not self.mean > 0.0:
            raise CaseError(f"{where}: a lognormal needs mean > 0, got {self.mean!r}")
        if self.kind == "truncnormal" and not bounded:
            raise CaseError(f"{where}: truncnormal needs low and/or high")
        if self.kind == "uniform":
            if self.low is None or self.high is None:
                raise CaseError(f"{where}: uniform needs low and high")
            mean, sd = 0.5 * (self.low + self.high), (self.high - self.low) / math.sqrt(12.0)
            if not (math.isclose(self.mean, mean) and math.isclose(self.sd, sd)):
                raise CaseError(
                    f"{where}: uniform mean/sd must be {mean:g}/{sd:g}; "
                    "build it with InputDistribution.uniform"
                )
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise CaseError(f"{where}: low {self.low!r} must be < high {self.high!r}")
        if self.kind == "truncnormal" and not (self._mass() > 1e-12):
            raise CaseError(f"{where}: the bounds leave no probability mass")

    @classmethod
    def uniform(
        cls, name: str, low: float, high: float, source: str = "", confirmed: bool = False
    ) -> InputDistribution:
        """A uniform input on [low, high]; mean and sd follow from the bounds."""
        if not low < high:
            raise CaseError(f"distribution {name!r}: low {low!r} must be < high {high!r}")
        return cls(
            name, "uniform", 0.5 * (low + high), (high - low) / math.sqrt(12.0),
            low, high, source, confirmed,
        )  # fmt: skip

    def _frozen(self):
        """The scipy distribution (for truncnormal: the truncated one)."""
        if self.kind == "normal":
            return stats.norm(loc=self.mean, scale=self.sd)
        if self.kind == "truncnormal":
            a = -np.inf if self.low is None else (self.low - self.mean) / self.sd
            b = np.inf if self.high is None else (self.high - self.mean) / self.sd
            return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)
        if self.kind == "lognormal":
            s2 = math.log1p((self.sd / self.mean) ** 2)  # variance of ln X
            return stats.lognorm(s=math.sqrt(s2), scale=self.mean * math.exp(-0.5 * s2))
        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def _mass(self) -> float:
        """Probability of the parent normal inside [low, high] (truncnormal)."""
        lo = 0.0 if self.low is None else stats.norm.cdf((self.low - self.mean) / self.sd)
        hi = 1.0 if self.high is None else stats.norm.cdf((self.high - self.mean) / self.sd)
        return float(hi - lo)

    def ppf(self, q) -> np.ndarray:
        """Inverse CDF at probabilities q in [0, 1]."""
        q = np.asarray(q, dtype=float)
        if np.any((q < 0.0) | (q > 1.0)) or not np.all(np.isfinite(q)):
            raise CaseError(f"distribution {self.name!r}: probabilities must lie in [0, 1]")
        return np.asarray(self._frozen().ppf(q), dtype=float)

    def cdf(self, x) -> np.ndarray:
        """CDF at x."""
        return np.asarray(self._frozen().cdf(np.asarray(x, dtype=float)), dtype=float)

    def as_dict(self) -> dict:
        """The JSON-able record shown in the report."""
        return asdict(self)


def default_distributions(
    systolic_mmHg: float,
    wall_thickness_mm: float,
    *,
    alpha_MPa: float = 0.174,
    beta_MPa: float = 1.881,
) -> list[InputDistribution]:
    """The documented scatter of the five inputs, centred on the case's nominal values.

    - ``wall_thickness_mm``: truncnormal, mean the nominal thickness (reference §1: 1.5 mm
      when the image does not resolve it), CoV ``THICKNESS_COV`` = 0.2, truncated below at
      0.5 mm (or half the nominal if that is thinner). The CoV is an assumption: measured AAA
      walls vary far more from place to place (of the order 0.2–4 mm within one sac, Raghavan
      et al. 2006, recalled), but one sample here scales the whole wall.
    - ``alpha_MPa``, ``beta_MPa``: lognormal (positive, right-skewed), means the population
      values of Raghavan & Vorp 2000 (reference §1, 0.174 and 1.881 MPa). Spreads: the paper
      reports α = 17.4 ± 1.5 and β = 188.1 ± 37.2 N/cm² (recalled, not checked); read as
      mean ± SEM over 16 patients, SD = SEM·√16 gives CoV 0.35 and 0.8 (``ALPHA_COV``,
      ``BETA_COV``). Unconfirmed, both the numbers and the reading; sampled independently,
      though fitted α and β are likely correlated. The peak stress of a nearly statically
      determinate wall depends weakly on them, so the choice matters less than the others.
    - ``strength_factor``: lognormal, mean 1, CoV ``STRENGTH_COV`` = 0.2, multiplying the
      Vande Geest 2006 strength field (its residual scatter about the regression). An
      assumption: the residual standard error of that regression was not found here; 0.2 is of
      the order of the strength scatter used in probabilistic AAA analyses (Polzer & Gasser
      2015, value unconfirmed).
    - ``systolic_mmHg``: truncnormal (± 4 sd), mean the nominal pressure, sd
      ``SYSTOLIC_SD_MMHG`` = 8 mmHg: the largest device-error SD that ANSI/AAMI/ISO
      81060-2:2013 accepts for a validated cuff (mean error ≤ 5 mmHg, SD ≤ 8 mmHg; confirmed).
      Measurement error only; visit-to-visit variability would add to it.
    """
    p = float(systolic_mmHg)
    t = float(wall_thickness_mm)
    if not (math.isfinite(p) and p > 0.0):
        raise CaseError(f"systolic_mmHg must be a positive number, got {systolic_mmHg!r}")
    if not (math.isfinite(t) and t > 0.0):
        raise CaseError(f"wall_thickness_mm must be a positive number, got {wall_thickness_mm!r}")
    t_low = min(THICKNESS_MIN_MM, 0.5 * t)
    k = SYSTOLIC_TRUNCATION_SD
    return [
        InputDistribution(
            "wall_thickness_mm", "truncnormal", t, THICKNESS_COV * t, low=t_low,
            source=(
                f"ASSUMPTION: CoV {THICKNESS_COV:g} about the nominal thickness (reference §1: "
                f"1.5 mm when unresolved), truncated at {t_low:g} mm; scales the whole wall"
            ),
        ),
        InputDistribution(
            "alpha_MPa", "lognormal", float(alpha_MPa), ALPHA_COV * float(alpha_MPa),
            source=(
                "mean: Raghavan & Vorp 2000 population α (reference §1); "
                f"CoV {ALPHA_COV:g} UNCONFIRMED, from α = 17.4 ± 1.5 N/cm² read as mean ± SEM "
                "over 16 patients"
            ),
        ),
        InputDistribution(
            "beta_MPa", "lognormal", float(beta_MPa), BETA_COV * float(beta_MPa),
            source=(
                "mean: Raghavan & Vorp 2000 population β (reference §1); "
                f"CoV {BETA_COV:g} UNCONFIRMED, from β = 188.1 ± 37.2 N/cm² read as "
                "mean ± SEM over 16 patients"
            ),
        ),
        InputDistribution(
            "strength_factor", "lognormal", 1.0, STRENGTH_COV,
            source=(
                f"ASSUMPTION: multiplicative scatter, CoV {STRENGTH_COV:g}, about the Vande "
                "Geest 2006 strength (its residual error not found); order of Polzer & Gasser "
                "2015's strength scatter (unconfirmed)"
            ),
        ),
        InputDistribution(
            "systolic_mmHg", "truncnormal", p, SYSTOLIC_SD_MMHG,
            low=max(p - k * SYSTOLIC_SD_MMHG, 0.5 * p), high=p + k * SYSTOLIC_SD_MMHG,
            source=(
                f"cuff measurement error: SD {SYSTOLIC_SD_MMHG:g} mmHg, the ANSI/AAMI/ISO "
                "81060-2:2013 limit for a validated device (mean ≤ 5, SD ≤ 8 mmHg); "
                f"truncated at ± {k:g} SD"
            ),
            confirmed=True,
        ),
    ]  # fmt: skip


def _check_n_seed(n: int, seed: int) -> tuple[int, int]:
    """n >= 1 and seed >= 0 as ints; CaseError otherwise."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise CaseError(f"the number of samples must be an integer >= 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CaseError(f"the seed must be an integer >= 0, got {seed!r}")
    return int(n), int(seed)


def _column_rng(seed: int, name: str) -> np.random.Generator:
    """The random stream of input ``name``: keyed by the seed and a SHA-256 of the name."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed, *words]))


def latin_hypercube_unit(n: int, names: Sequence[str], seed: int) -> dict[str, np.ndarray]:
    """A Latin hypercube on (0, 1) per name: u = (π(i) + v_i)/n, π a random permutation of
    0..n−1 and v_i uniform on [0, 1), so each stratum [k/n, (k+1)/n) holds exactly one sample.
    Column ``name`` depends only on (n, seed, name)."""
    n, seed = _check_n_seed(n, seed)
    if len(set(names)) != len(names):
        raise CaseError(f"input names must be unique, got {list(names)}")
    tiny, below_one = np.finfo(float).tiny, 1.0 - np.finfo(float).epsneg
    out = {}
    for name in names:
        rng = _column_rng(seed, name)
        u = (rng.permutation(n) + rng.random(n)) / n
        out[name] = np.clip(u, tiny, below_one)  # keep ppf finite (u = 0 has chance 2^-53)
    return out


def latin_hypercube(n: int, dists: Sequence[InputDistribution], seed: int) -> dict[str, np.ndarray]:
    """n samples of each input, a Latin hypercube mapped through each inverse CDF."""
    unit = latin_hypercube_unit(n, [d.name for d in dists], seed)
    return {d.name: d.ppf(unit[d.name]) for d in dists}


def sample_rows(samples: Mapping[str, np.ndarray]) -> list[dict[str, float]]:
    """The samples as one {name: float} dict per sample, in sample order."""
    cols = {k: np.asarray(v, dtype=float) for k, v in samples.items()}
    sizes = {v.shape for v in cols.values()}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise CaseError(f"samples must be 1-D arrays of one length, got shapes {sorted(sizes)}")
    n = next(iter(sizes))[0]
    return [{k: float(v[i]) for k, v in cols.items()} for i in range(n)]


def _failed(exc: BaseException) -> dict:
    """The record of a sample whose solve raised."""
    return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def _guarded(solve_one: Callable[[dict], Mapping], sample: dict) -> dict:
    """solve_one(sample) as a dict with status "ok", or the failure record if it raised."""
    try:
        result = solve_one(sample)
        if not isinstance(result, Mapping):
            raise TypeError(f"solve_one returned {type(result).__name__}, not a dict")
        return {"status": "ok", **result}
    except Exception as exc:  # noqa: BLE001 - one failed sample must not stop the run
        return _failed(exc)


def _progress_bar(total: int, enabled: bool):
    """A tqdm bar on stderr when asked for and stderr is a terminal; else None."""
    if not (enabled and sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="samples", unit="solve", file=sys.stderr)


def run_samples(
    solve_one: Callable[[dict[str, float]], Mapping],
    samples: Mapping[str, np.ndarray],
    *,
    workers: int = 1,
    initializer: Callable | None = None,
    initargs: tuple = (),
    progress: bool = False,
    mp_context: str = "spawn",
) -> list[dict]:
    """``solve_one({name: value})`` for every sample; the results in sample order.

    Each result is ``{"status": "ok", **solve_one(sample)}``, or ``{"status": "failed",
    "error": "Type: message"}`` if the solve raised (non-convergence, say); the run goes on.
    ``workers > 1``: a ``ProcessPoolExecutor`` of that many processes (start method
    ``mp_context``; "spawn" is the default because forking a process that has started solver
    threads can deadlock), each running ``initializer(*initargs)`` once; ``solve_one`` and
    ``initializer`` must then be module-level functions so that they pickle. If a worker
    process dies (killed for memory, say), the samples it left unfinished are recorded as
    failed. ``workers == 1``: ``initializer`` runs once here, then the samples in order.
    """
    rows = sample_rows(samples)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise CaseError(f"workers must be an integer >= 1, got {workers!r}")
    workers = min(int(workers), max(len(rows), 1))
    bar = _progress_bar(len(rows), progress)
    results: list[dict | None] = [None] * len(rows)
    try:
        if workers == 1:
            if initializer is not None:
                initializer(*initargs)
            for i, row in enumerate(rows):
                results[i] = _guarded(solve_one, row)
                if bar is not None:
                    bar.update()
            return results  # type: ignore[return-value]
        for what, obj in (("solve_one", solve_one), ("initializer", initializer)):
            try:
                pickle.dumps(obj)
            except Exception as exc:  # noqa: BLE001 - any pickling failure means the same
                raise CaseError(
                    f"{what} must be a module-level function to run in worker processes "
                    f"({type(exc).__name__}: {exc})"
                ) from None
        ctx = mp.get_context(mp_context)
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=initializer, initargs=initargs
        ) as pool:
            futures = {pool.submit(_guarded, solve_one, row): i for i, row in enumerate(rows)}
            try:
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        results[i] = fut.result()
                    except BrokenProcessPool as exc:
                        results[i] = {
                            "status": "failed",
                            "error": f"worker process died before this sample finished ({exc})",
                        }
                    except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
                        results[i] = _failed(exc)
                    if bar is not None:
                        bar.update()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return results  # type: ignore[return-value]
    finally:
        if bar is not None:
            bar.close()


def clopper_pearson(x: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson 1934) two-sided interval for a binomial proportion x/n:
    low = B⁻¹(a/2; x, n−x+1), high = B⁻¹(1−a/2; x+1, n−x), a = 1 − confidence,
    B⁻¹ the beta quantile; low = 0 at x = 0 and high = 1 at x = n."""
    if not (0 <= x <= n and n >= 1):
        raise CaseError(f"need 0 <= x <= n and n >= 1, got x = {x!r}, n = {n!r}")
    if not 0.0 < confidence < 1.0:
        raise CaseError(f"confidence must lie in (0, 1), got {confidence!r}")
    a = 1.0 - confidence
    low = 0.0 if x == 0 else float(stats.beta.ppf(0.5 * a, x, n - x + 1))
    high = 1.0 if x == n else float(stats.beta.ppf(1.0 - 0.5 * a, x + 1, n - x))
    return low, high


def rupture_probability(pwri, *, threshold: float = 1.0, confidence: float = 0.95) -> dict:
    """P(PWRI > threshold) over the finite values of ``pwri`` (NaN marks a failed sample),
    with the Clopper–Pearson interval; ``p`` and the bounds are None when nothing succeeded.
    ``ci_high_if_failed_exceed``: the upper bound if every failed sample had exceeded."""
    v = np.asarray(pwri, dtype=float).ravel()
    ok = np.isfinite(v)
    n, n_failed = int(ok.sum()), int((~ok).sum())
    x = int(np.sum(v[ok] > threshold))
    out = {
        "p": None,
        "ci_low": None,
        "ci_high": None,
        "n": n,
        "n_exceed": x,
        "n_failed": n_failed,
        "threshold": float(threshold),
        "confidence": float(confidence),
        "method": "Clopper-Pearson exact binomial interval (failed samples excluded)",
        "ci_high_if_failed_exceed": None,
    }
    if n + n_failed >= 1:
        out["ci_high_if_failed_exceed"] = clopper_pearson(x + n_failed, n + n_failed, confidence)[1]
    if n >= 1:
        out["p"] = x / n
        out["ci_low"], out["ci_high"] = clopper_pearson(x, n, confidence)
    return out


def sensitivity(samples: Mapping[str, np.ndarray], output) -> dict:
    """Which input drives ``output``: per input the Spearman rank correlation and the PRCC.

    PRCC of input j (Marino et al., J Theor Biol 254:178, 2008): rank-transform inputs and
    output, regress rank(x_j) and rank(y) each on the other ranked inputs (with intercept),
    correlate the two residuals. It measures the monotone effect of x_j with the others held
    fixed, so it is not fooled by chance correlation between sampled inputs. Samples with a
    non-finite output are dropped; constant inputs get None. ``dominant_input``: the largest
    |PRCC|.
    """
    y = np.asarray(output, dtype=float).ravel()
    cols = {k: np.asarray(v, dtype=float).ravel() for k, v in samples.items()}
    if any(c.size != y.size for c in cols.values()):
        raise CaseError("every input needs one value per output value")
    keep = np.isfinite(y)
    names = [k for k, c in cols.items() if np.ptp(c[keep]) > 0.0] if keep.any() else []
    result = {
        "spearman": {k: None for k in cols},
        "prcc": {k: None for k in cols},
        "dominant_input": None,
        "n": int(keep.sum()),
        "method": "Spearman rank correlation; PRCC (partial rank correlation coefficient)",
    }
    n, k = int(keep.sum()), len(names)
    if n < k + 3 or np.ptp(y[keep]) == 0.0:
        return result  # too few samples for k partial correlations, or a constant output
    ranks = np.column_stack([stats.rankdata(cols[c][keep]) for c in names])
    ry = stats.rankdata(y[keep])
    for j, name in enumerate(names):
        rho = np.corrcoef(ranks[:, j], ry)[0, 1]
        result["spearman"][name] = float(rho)
        z = np.column_stack([np.ones(n), np.delete(ranks, j, axis=1)])
        rx = ranks[:, j] - z @ np.linalg.lstsq(z, ranks[:, j], rcond=None)[0]
        r_y = ry - z @ np.linalg.lstsq(z, ry, rcond=None)[0]
        denom = math.sqrt(float(rx @ rx) * float(r_y @ r_y))
        result["prcc"][name] = float(rx @ r_y) / denom if denom > 0.0 else None
    scored = {k: abs(v) for k, v in result["prcc"].items() if v is not None}
    if scored:
        result["dominant_input"] = max(scored, key=scored.get)
    return result


def thickness_stress_scale(t_nominal_mm, t_sample_mm):
    """Factor t_nominal/t_sample on the wall stress when only the thickness changes.

    Laplace law, σ = p r/(k t) (k = 1 cylinder, 2 sphere): at fixed geometry and pressure the
    membrane stress scales as 1/t, whatever the material. An approximation: it ignores the
    change of the deformed geometry with a thinner wall and the through-thickness gradient
    (error of order t/r, a few per cent for t/r ≈ 0.05); re-mesh where that matters.
    """
    t0 = np.asarray(t_nominal_mm, dtype=float)
    t1 = np.asarray(t_sample_mm, dtype=float)
    if np.any(~np.isfinite(t0) | (t0 <= 0.0)) or np.any(~np.isfinite(t1) | (t1 <= 0.0)):
        raise CaseError("wall thicknesses must be positive finite numbers of mm")
    scale = t0 / t1
    return float(scale) if scale.ndim == 0 else scale


def _quantiles(values: np.ndarray) -> dict | None:
    """The 5th, 50th and 95th percentiles of the finite values, or None."""
    v = values[np.isfinite(values)]
    if v.size == 0:
        return None
    q = np.percentile(v, [5.0, 50.0, 95.0])
    return {"p5": float(q[0]), "p50": float(q[1]), "p95": float(q[2])}


def _output(results: Sequence[Mapping], key: str) -> np.ndarray:
    """results[i][key] as floats, NaN where the sample failed or lacks the key."""
    out = np.full(len(results), np.nan)
    for i, r in enumerate(results):
        if r.get("status", "ok") == "ok" and r.get(key) is not None:
            out[i] = float(r[key])
    return out


def summarize(
    samples: Mapping[str, np.ndarray],
    results: Sequence[Mapping],
    dists: Sequence[InputDistribution],
    *,
    seed: int,
    threshold: float = 1.0,
    confidence: float = 0.95,
    pwri_key: str = "pwri",
    pws_key: str = "pws_MPa",
    max_failures_listed: int = 20,
) -> dict:
    """The JSON-able "rupture_probability" block of summary.json.

    Keys: p, ci_low, ci_high, n, n_exceed, n_failed, … (``rupture_probability``), seed,
    n_samples, design, dominant_input, sensitivity (of PWRI), pwri and pws quantiles
    (5/50/95), distributions, and the first ``max_failures_listed`` failures with their inputs.
    """
    rows = sample_rows(samples)
    if len(rows) != len(results):
        raise CaseError(f"{len(rows)} samples but {len(results)} results")
    pwri = _output(results, pwri_key)
    block = rupture_probability(pwri, threshold=threshold, confidence=confidence)
    sens = sensitivity(samples, pwri)
    failures = [
        {"index": i, "error": str(r.get("error", f"no {pwri_key!r} in result")), "inputs": row}
        for i, (r, row) in enumerate(zip(results, rows))
        if not np.isfinite(pwri[i])
    ]
    block.update(
        {
            "seed": int(seed),
            "n_samples": len(rows),
            "design": "Latin hypercube, independent inputs",
            "dominant_input": sens["dominant_input"],
            "sensitivity": sens,
            "pwri_quantiles": _quantiles(pwri),
            "pws_MPa_quantiles": _quantiles(_output(results, pws_key)),
            "distributions": [d.as_dict() for d in dists],
            "failures": failures[:max_failures_listed],
        }
    )
    return block
