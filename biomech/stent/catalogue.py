"""Device catalogues in TOML: ``[[device]]`` tables -> Device objects that build BeamNetworks.

Every key is checked. Lengths and stresses must carry units ("28 mm", "50 GPa"); angles
too ("60 deg"); counts are integers; paths are relative to the catalogue file. Errors
name the file, the device (index and name) and the key, and say how to fix it.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from biomech.errors import CaseError, UnitError
from biomech.stent import devices
from biomech.stent.materials import (
    GRAFT_MATERIALS,
    MATERIAL_MODELS,
    NITINOL_DEFAULTS,
    STRESS_KEYS,
    check_material,
)
from biomech.stent.network import BeamNetwork
from biomech.units import parse_quantity

__all__ = ["DEVICE_TYPES", "Device", "get_device", "load_catalogue"]


@dataclass
class Device:
    """A catalogue entry: ``params`` in mm (generator keywords), ``material`` in MPa."""

    name: str
    type: str
    params: dict[str, Any]
    material: dict[str, Any]
    nominal_diameter_mm: float = float("nan")
    length_mm: float = float("nan")
    description: str = ""
    source: Path | None = None
    _network: BeamNetwork | None = field(default=None, repr=False, compare=False)

    def build(self) -> BeamNetwork:
        """The device as a fresh BeamNetwork (device frame, mm)."""
        if self._network is None:
            generator = DEVICE_TYPES[self.type][0]
            self._network = generator(**self.params, material=self.material, name=self.name)
        return self._network.copy()


class _Where:
    """Error context: catalogue file, device index and name."""

    def __init__(self, path: Path, index: int, name: object = None) -> None:
        self.path, self.index, self.name = path, index, name

    def error(self, key: str | None, message: str) -> CaseError:
        who = f"device #{self.index + 1}" + (f" {self.name!r}" if self.name else "")
        at = f", key {key!r}" if key else ""
        return CaseError(f"{self.path}: {who}{at}: {message}")


# ----------------------------------------------------------------------------- value parsers

Parser = Callable[[Any, _Where, str], Any]


def _quantity(value: Any, where: _Where, key: str, kind: str, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise where.error(key, f"expected a quantity with a unit such as \"1 {unit}\", got {value!r}")
    if not isinstance(value, str):
        raise where.error(key, f"{value!r} has no unit; add one, e.g. {key} = \"{value:g} {unit}\"")
    try:
        return parse_quantity(value, kind, key=key)
    except UnitError as exc:
        raise where.error(key, str(exc)) from None


def _length(minimum: float | None = 0.0, strict: bool = True) -> Parser:
    def parse(value, where, key):
        mm = _quantity(value, where, key, "length", "mm")
        if minimum is not None and (mm < minimum or (strict and mm == minimum)):
            need = "positive" if strict else "zero or positive"
            raise where.error(key, f"{value!r} must be {need}; give its size in mm")
        return mm

    return parse


def _count(minimum: int) -> Parser:
    def parse(value, where, key):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise where.error(key, f"{value!r} must be a whole number >= {minimum} (no quotes)")
        return value

    return parse


def _angle_deg(value, where, key):
    degrees = _quantity(value, where, key, "angle", "deg") * 180.0 / 3.141592653589793
    if not 0 < degrees < 90:
        raise where.error(key, f"{value!r} must lie between 0 and 90 deg (wire to stent axis)")
    return degrees


def _apex(value, where, key):
    if isinstance(value, str) and value.strip().lower() == "sharp":
        return "sharp"
    return _length()(value, where, key)


def _choice(*options: str) -> Parser:
    def parse(value, where, key):
        if value not in options:
            raise where.error(key, f"{value!r} is not one of {list(options)}")
        return value

    return parse


def _flag(value, where, key):
    if not isinstance(value, bool):
        raise where.error(key, f"{value!r} must be true or false")
    return value


def _text(value, where, key):
    if not isinstance(value, str):
        raise where.error(key, f"{value!r} must be a string")
    return value


def _units(value, where, key):
    if value not in ("mm", "cm", "m"):
        raise where.error(key, f"{value!r}: the file's length unit must be \"mm\", \"cm\" or \"m\"")
    return value


def _path(value, where, key):
    if not isinstance(value, str):
        raise where.error(key, f"{value!r} must be a path (string) relative to the catalogue")
    path = (where.path.parent / value).resolve()
    if not path.is_file():
        raise where.error(key, f"file {value!r} not found (looked for {path}); paths are "
                               "relative to the catalogue file")
    return path


def _stress(value, where, key):
    mpa = _quantity(value, where, key, "stress", "MPa")
    if mpa <= 0:
        raise where.error(key, f"{value!r} must be positive")
    return mpa


def _number(value, where, key):
    try:
        return parse_quantity(value, "dimensionless", key=key)
    except UnitError as exc:
        raise where.error(key, str(exc)) from None


def _material(value, where, key):
    """"nitinol" (superelastic defaults) or a table {model = ..., parameters with units}."""
    if isinstance(value, str):
        if value == "nitinol":
            return dict(NITINOL_DEFAULTS)
        if value in MATERIAL_MODELS:
            raise where.error(key, f"\"{value}\" needs its parameters: write material = "
                                   "{ model = \"linear-elastic\", E = \"200 GPa\", nu = 0.3 }")
        raise where.error(key, f"unknown material model {value!r}{_hint(value, MATERIAL_MODELS)}")
    if not isinstance(value, dict):
        raise where.error(key, "write \"nitinol\" or a table { model = \"...\", ... }")
    model = value.get("model")
    if model not in MATERIAL_MODELS:
        raise where.error(key, f"unknown material model {model!r}{_hint(model, MATERIAL_MODELS)}"
                               f"; models: {list(MATERIAL_MODELS)}")
    params = dict(NITINOL_DEFAULTS) if model == "nitinol" else {"model": model}
    for name, raw in value.items():
        if name == "model":
            continue
        if name not in MATERIAL_MODELS[model]:
            raise where.error(f"{key}.{name}", f"unknown {model} parameter"
                                               f"{_hint(name, MATERIAL_MODELS[model])}")
        parse = _stress if name in STRESS_KEYS else _number
        params[name] = parse(raw, where, f"{key}.{name}")
    missing = [k for k in MATERIAL_MODELS[model] if k not in params]
    if missing:
        raise where.error(key, f"{model} needs {missing} (e.g. E = \"200 GPa\", nu = 0.3)")
    try:
        return check_material(params)
    except CaseError as exc:
        raise where.error(key, str(exc)) from None


def _graft(value, where, key):
    if isinstance(value, str):
        if value.lower() not in GRAFT_MATERIALS:
            raise where.error(key, f"unknown graft fabric {value!r}{_hint(value, GRAFT_MATERIALS)}"
                                   f"; use {sorted(GRAFT_MATERIALS)} or {{ E = \"..\", nu = .. }}")
        return dict(GRAFT_MATERIALS[value.lower()])
    if isinstance(value, dict):
        return _material({"model": "linear-elastic", **value}, where, key)
    raise where.error(key, "write a fabric name (\"polyester\", \"eptfe\") or { E = \"..\", nu = .. }")


def _hint(word: object, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=3)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


# ----------------------------------------------------------------------------- schemas

_RING_KEYS: dict[str, tuple[Parser, bool]] = {
    "diameter": (_length(), True),
    "crowns": (_count(2), True),
    "strut_length": (_length(), True),
    "strut_width": (_length(), True),
    "strut_thickness": (_length(), True),
    "rings": (_count(1), False),
    "ring_gap": (_length(), False),
    "apex": (_apex, False),
    "elements_per_strut": (_count(1), False),
}

#: type -> (generator, {key: (parser, required)}, {catalogue key: generator keyword})
DEVICE_TYPES: dict[str, tuple[Callable[..., BeamNetwork], dict, dict]] = {
    "z-ring": (devices.z_ring, {**_RING_KEYS, "connectors": (_count(0), False)}, {}),
    "diamond": (devices.diamond, {
        "diameter": (_length(), True), "cells_around": (_count(2), True),
        "cell_length": (_length(), True), "strut_width": (_length(), True),
        "strut_thickness": (_length(), True), "rings": (_count(2), True),
        "elements_per_strut": (_count(1), False),
    }, {}),
    "braided": (devices.braided, {
        "diameter": (_length(), True), "length": (_length(), True),
        "wires": (_count(4), True), "angle": (_angle_deg, True),
        "wire_diameter": (_length(), True), "elements_per_segment": (_count(1), False),
        "crossings": (_choice("tied", "shared"), False), "free_ends": (_flag, False),
    }, {"angle": "angle_deg"}),
    "file": (devices.from_files, {
        "positions": (_path, True), "connectivity": (_path, False),
        "constraints": (_path, False), "wire_diameter": (_length(), True),
        "units": (_units, False), "diameter": (_length(), False),
    }, {}),
    "stent-graft": (devices.stent_graft, {
        **_RING_KEYS, "graft_thickness": (_length(), False), "graft_material": (_graft, False),
        "graft_margin": (_length(0.0, strict=False), False),
        "graft_element_size": (_length(), False),
    }, {}),
}
_COMMON = {"name", "type", "material", "description"}
_EXAMPLES = {
    "diameter": '"28 mm"', "crowns": "8", "strut_length": '"10 mm"', "strut_width": '"0.4 mm"',
    "strut_thickness": '"0.3 mm"', "cells_around": "12", "cell_length": '"8 mm"', "rings": "4",
    "length": '"40 mm"', "wires": "48", "angle": '"60 deg"', "wire_diameter": '"0.2 mm"',
    "positions": '"positions_stent.txt"', "material": '"nitinol"', "name": '"Z28"',
    "type": '"z-ring"',
}


# ----------------------------------------------------------------------------- loading


def load_catalogue(path: str | Path) -> list[Device]:
    """Read, check and build every ``[[device]]`` of a TOML catalogue; errors name file and key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise CaseError(f"cannot read catalogue {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"device"})
    if unknown:
        raise CaseError(f"{path}: unknown top-level key(s) {unknown}{_hint(unknown[0], ['device'])}"
                        "; a catalogue holds [[device]] tables only")
    entries = data.get("device")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise CaseError(f"{path}: no devices; add at least one [[device]] table")
    catalogue = [_device(entry, _Where(path, i, entry.get("name"))) for i, entry in enumerate(entries)]
    _check_unique(catalogue, path)
    return catalogue


def get_device(catalogue: list[Device], name: str) -> Device:
    """The device called ``name``; CaseError with close matches when there is none."""
    for device in catalogue:
        if device.name == name:
            return device
    names = [d.name for d in catalogue]
    raise CaseError(f"no device {name!r} in the catalogue{_hint(name, names)}; devices: {names}")


def _device(entry: dict[str, Any], where: _Where) -> Device:
    for key in ("name", "type", "material"):
        if key not in entry:
            raise where.error(key, f"missing required key; add {key} = {_EXAMPLES[key]}")
    name = _text(entry["name"], where, "name").strip()
    if not name:
        raise where.error("name", "the name is empty; give every device a unique name")
    kind = entry["type"]
    if kind not in DEVICE_TYPES:
        raise where.error("type", f"unknown device type {kind!r}{_hint(kind, DEVICE_TYPES)}; "
                                  f"types: {list(DEVICE_TYPES)}")
    _, schema, rename = DEVICE_TYPES[kind]
    params = _params(entry, schema, where, kind)
    device = Device(
        name=name, type=kind, params={rename.get(k, k): v for k, v in params.items()},
        material=_material(entry["material"], where, "material"),
        description=_text(entry.get("description", ""), where, "description"), source=where.path,
    )
    try:
        network = device.build()
    except CaseError as exc:
        raise where.error(None, f"{exc} (fix the device's keys)") from None
    device.nominal_diameter_mm, device.length_mm = network.nominal_diameter_mm, network.length_mm
    return device


def _params(entry: dict[str, Any], schema: dict, where: _Where, kind: str) -> dict[str, Any]:
    allowed = set(schema) | _COMMON
    for key in entry:
        if key not in allowed:
            raise where.error(key, f"unknown key for a {kind!r} device{_hint(key, allowed)}; "
                                   f"allowed: {sorted(allowed)}")
    for key, (_, required) in schema.items():
        if required and key not in entry:
            example = _EXAMPLES.get(key, "...")
            raise where.error(key, f"missing required key for a {kind!r} device; add "
                                   f"{key} = {example}")
    return {key: schema[key][0](value, where, key) for key, value in entry.items()
            if key in schema}


def _check_unique(catalogue: list[Device], path: Path) -> None:
    seen: dict[str, int] = {}
    for i, device in enumerate(catalogue):
        if device.name in seen:
            raise CaseError(f"{path}: device #{i + 1}, key 'name': duplicate device name "
                            f"{device.name!r} (also device #{seen[device.name] + 1}); "
                            "names must be unique")
        seen[device.name] = i
