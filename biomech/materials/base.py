"""Plain-Python description of a material model: its parameters and how they are checked.

A ``MaterialSpec`` names a model as it appears in a case file, lists its user-visible
parameters and maps checked values (internal units: MPa, rad, dimensionless) to the
(MAX_PARAMS,) float64 array that the numba kernel ``material_response`` reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, NoReturn

import numpy as np

from biomech.errors import MaterialError

MAX_PARAMS = 8
KINDS = ("stress", "dimensionless", "angle")
BASES = ("none", "vessel", "fibre-sheet")


@dataclass(frozen=True)
class Bounds:
    """Admissible interval for a parameter; each end open or closed."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False

    def __contains__(self, x: float) -> bool:
        above = x > self.lo if self.lo_open else x >= self.lo
        below = x < self.hi if self.hi_open else x <= self.hi
        return above and below

    def __str__(self) -> str:
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        return f"{left}{self.lo:g}, {self.hi:g}{right}"


POSITIVE = Bounds(0.0, math.inf, lo_open=True, hi_open=True)
NONNEGATIVE = Bounds(0.0, math.inf, hi_open=True)
REAL = Bounds(-math.inf, math.inf, lo_open=True, hi_open=True)
POISSON = Bounds(-1.0, 0.5, lo_open=True, hi_open=True)


@dataclass(frozen=True)
class Parameter:
    """A user-visible parameter; kind is "stress" (MPa), "dimensionless" or "angle" (rad)."""

    name: str
    kind: str
    default: float | None = None
    bounds: Bounds | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: kind {self.kind!r} not in {KINDS}")


class MaterialValueError(MaterialError, ValueError):
    """An unknown material or invalid parameters (unknown, missing, out of bounds, conflicting)."""


BULK = Parameter("bulk", "stress", bounds=POSITIVE, doc="bulk modulus κ (or give nu instead)")


@dataclass(frozen=True)
class MaterialSpec:
    """A model of the catalogue.

    ``parameters`` are the user-visible ones; ``kernel_parameters`` name the slots of the
    kernel array in order; ``to_kernel`` maps the checked user values to those slots and
    ``shear_modulus`` gives the small-strain shear modulus μ0 (MPa) from the user values.
    Uncoupled models (``coupled=False``) have a ``bulk`` parameter that is not a kernel
    slot: the element adds U(J) = bulk/4 (J² − 1 − 2 ln J) itself. For any model with a
    ``bulk`` parameter, Poisson's ratio ``nu`` may be given instead:
    bulk = 2 μ0 (1 + ν) / (3 (1 − 2ν)).
    """

    name: str
    model_id: int
    parameters: tuple[Parameter, ...]
    coupled: bool
    basis: str
    citation: str
    kernel_parameters: tuple[str, ...]
    to_kernel: Callable[[Mapping[str, float]], tuple[float, ...]] = field(repr=False)
    shear_modulus: Callable[[Mapping[str, float]], float] = field(repr=False)
    doc: str = ""

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise ValueError(f"material {self.name!r}: basis {self.basis!r} not in {BASES}")
        if len(self.kernel_parameters) > MAX_PARAMS:
            raise ValueError(f"material {self.name!r}: more than {MAX_PARAMS} kernel parameters")

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def accepts_nu(self) -> bool:
        """True when ``nu`` may replace ``bulk``."""
        return "bulk" in self.parameter_names

    def resolve(self, values: Mapping[str, float]) -> ResolvedMaterial:
        """Check ``values`` (internal units: MPa, rad) and build the kernel parameter array.

        Raises MaterialValueError (a ValueError) naming the offending key for unknown,
        missing, non-finite or out-of-bounds parameters, for ``bulk`` and ``nu`` given
        together, and when the small-strain shear modulus is not positive.
        """
        vals = self._numbers(values)
        nu = vals.pop("nu", None) if self.accepts_nu else None
        if nu is not None:
            if "bulk" in vals:
                self._fail("give either 'bulk' or 'nu', not both")
            if nu not in POISSON:
                self._fail(f"parameter 'nu' = {nu:g} outside {POISSON}")
        missing = []
        for p in self.parameters:
            if p.name not in vals and p.default is not None:
                vals[p.name] = float(p.default)
            elif p.name not in vals and not (p.name == "bulk" and nu is not None):
                missing.append(repr(p.name))
        if missing:
            hint = " (or 'nu' instead of 'bulk')" if "'bulk'" in missing else ""
            self._fail(f"missing parameter(s) {', '.join(missing)}{hint}")
        for p in self.parameters:
            if p.bounds is not None and p.name in vals and vals[p.name] not in p.bounds:
                self._fail(f"parameter {p.name!r} = {vals[p.name]:g} outside {p.bounds}")
        mu0 = float(self.shear_modulus(vals))
        if not mu0 > 0.0:
            self._fail(f"small-strain shear modulus {mu0:g} must be positive")
        if nu is not None:
            vals["bulk"] = 2.0 * mu0 * (1.0 + nu) / (3.0 * (1.0 - 2.0 * nu))
        vals = {p.name: vals[p.name] for p in self.parameters}  # in spec order
        params = np.zeros(MAX_PARAMS)
        kernel_values = self.to_kernel(vals)
        params[: len(kernel_values)] = kernel_values
        bulk = 0.0 if self.coupled else vals["bulk"]
        return ResolvedMaterial(self, params, float(bulk), vals)

    def _numbers(self, values: Mapping[str, float]) -> dict[str, float]:
        """Known keys only, as finite floats."""
        names = self.parameter_names
        valid = ", ".join(names) + (", nu (instead of bulk)" if self.accepts_nu else "")
        out = {}
        for key, raw in values.items():
            if key not in names and not (key == "nu" and self.accepts_nu):
                self._fail(f"unknown parameter {key!r}; valid: {valid}")
            try:
                x = float(raw)
            except (TypeError, ValueError):
                x = math.nan
            if not math.isfinite(x):
                self._fail(f"parameter {key!r} = {raw!r} is not a finite number")
            out[key] = x
        return out

    def _fail(self, message: str) -> NoReturn:
        raise MaterialValueError(f"material {self.name!r}: {message}")


@dataclass(frozen=True)
class ResolvedMaterial:
    """Checked material: kernel ``params`` (MAX_PARAMS,), ``bulk`` for the element's
    volumetric part (0.0 for coupled models) and the user ``values`` (MPa, rad; ``bulk``
    computed when ``nu`` was given)."""

    spec: MaterialSpec
    params: np.ndarray
    bulk: float
    values: dict[str, float]

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:g}" for k, v in self.values.items())
        return f"ResolvedMaterial({self.spec.name!r}, {vals})"
