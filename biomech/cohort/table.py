"""The cohort file: one CSV row per case, read and checked before any work.

Columns (header names case-insensitive; blank lines and lines starting with ``#`` are skipped):

============== ======== ===================================================================
column         required meaning
============== ======== ===================================================================
id             yes      case name: letters, digits, ``.``, ``_``, ``-``; unique; names the
                        output folder ``DIR/cases/<id>/``
input          yes      label map, level set, lumen surface or volume mesh; a relative path
                        is taken from the CSV file's folder
sex            yes      male / female
family_history yes      yes / no (also true / false, y / n)
systolic       yes      with units: "140 mmHg", "18.7 kPa"
diastolic      yes      with units
size           no       element size, e.g. "4 mm" (default 2 mm)
wall_thickness no       e.g. "1.5 mm"
layers         no       wedge layers through the wall (default 2)
imaging_pressure no     diastolic | mean | systolic
units          no       length unit of the input: mm | cm | m
samples        no       uncertainty samples of this case (default: ``--samples``)
growth         no       diameter growth per year, e.g. "4 mm"
wall_material  no       raghavan-vorp | hgo
ilt            no       yes / no: model the thrombus
ends           no       fixed | springs
end_sensitivity no      yes / no: solve again with the other end support (default yes)
end_exclusion  no       e.g. "10 mm"
outer          no       outer (abluminal) surface of a surface input
============== ======== ===================================================================

An empty optional cell means the default. Problems with the file as a whole (unreadable, no
rows, a missing or unknown column, an invalid or repeated id) raise ``CohortError``: nothing
can run. A bad value in a row (a pressure without units, an unknown sex, diastolic above
systolic, a missing input file) makes that row's ``error``: the batch records the case as
failed and runs the others. Every message names the row (as a spreadsheet numbers it: the
header is row 1) and the column.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from biomech.errors import BiomechError, CaseError

__all__ = [
    "COLUMNS",
    "OPTIONAL",
    "REQUIRED",
    "ROW_ERROR",
    "CohortError",
    "CohortRow",
    "case_seed",
    "read_cohort",
]

REQUIRED = ("id", "input", "sex", "family_history", "systolic", "diastolic")
OPTIONAL = ("size", "wall_thickness", "layers", "imaging_pressure", "units", "samples", "growth",
            "wall_material", "ilt", "ends", "end_sensitivity", "end_exclusion", "outer")
COLUMNS = REQUIRED + OPTIONAL
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_YES = {"yes": True, "y": True, "true": True, "1": True,
        "no": False, "n": False, "false": False, "0": False}
_BARE_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
HASH_VERSION = "biomech-cohort-2"  # bump when the meaning of a row changes
ROW_ERROR = "CohortRowError"  # error_type of a case refused for a bad value in its row


class CohortError(CaseError):
    """The cohort file cannot be used at all (no case can run); the message names the row
    and column."""


@dataclass
class CohortRow:
    """One case of the cohort: its CSV ``row`` number, ``id``, the raw ``values`` (stripped
    strings, empty optional cells left out), and either a valid ``case`` (an ``AAACase``, its
    ``samples`` and ``seed`` filled in for this batch) or the ``error`` that refuses the row."""

    row: int
    id: str
    values: dict[str, str]
    case: Any = None
    error: str | None = None
    inputs_hash: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def case_seed(cohort_seed: int, case_id: str) -> int:
    """The case's sampling seed: a SeedSequence over the cohort seed and the SHA-256 of the id
    (stable across processes and Python versions, unlike ``hash()``)."""
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4)]
    state = np.random.SeedSequence([int(cohort_seed), *words]).generate_state(2, np.uint32)
    return (int(state[0]) | int(state[1]) << 32) & ((1 << 63) - 1)  # fits an int64 column


def _where(row: int, column: str) -> str:
    return f"row {row}, column '{column}'"


def _length(value: str, key: str) -> float:
    from biomech.units import parse_quantity

    return float(parse_quantity(value, "length", key=key))


def _pressure(value: str, key: str) -> float:
    from biomech.aaa.run import parse_pressure_mmHg

    if _BARE_NUMBER.match(value):
        raise CaseError(f"give the unit, e.g. '{value} mmHg' (a bare number is ambiguous)")
    return parse_pressure_mmHg(value, key)


def _yes_no(value: str, key: str) -> bool:
    v = value.strip().lower()
    if v not in _YES:
        raise CaseError(f"must be yes or no, got {value!r}")
    return _YES[v]


def _int(value: str, key: str, low: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise CaseError(f"must be a whole number, got {value!r}") from None
    if n < low:
        raise CaseError(f"must be >= {low}, got {n}")
    return n


def _choice(options: tuple[str, ...]) -> Callable[[str, str], str]:
    def parse(value: str, key: str) -> str:
        v = value.strip().lower()
        if v not in options:
            raise CaseError(f"must be one of {', '.join(options)}, got {value!r}")
        return v
    return parse


def _sex(value: str, key: str) -> str:
    from biomech.aaa.patient import require_sex

    return require_sex(value)


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "sex": _sex,
    "family_history": _yes_no,
    "systolic": _pressure,
    "diastolic": _pressure,
    "size": _length,
    "wall_thickness": _length,
    "layers": lambda v, k: _int(v, k, 1),
    "imaging_pressure": _choice(("diastolic", "mean", "systolic")),
    "units": _choice(("mm", "cm", "m")),
    "samples": lambda v, k: _int(v, k, 0),
    "growth": _length,
    "wall_material": _choice(("raghavan-vorp", "hgo")),
    "ilt": _yes_no,
    "ends": _choice(("fixed", "springs")),
    "end_sensitivity": _yes_no,
    "end_exclusion": _length,
}


def _path(value: str, base: Path) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _build_case(row: CohortRow, base: Path, default_samples: int, cohort_seed: int):
    """The row's AAACase (samples and per-case seed filled in) and its inputs hash; CaseError
    naming the column for a bad value."""
    from biomech.aaa.run import AAACase
    from biomech.aaa.twin import Mechanics

    v = row.values
    parsed: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        if key in v:
            try:
                parsed[key] = parse(v[key], key)
            except BiomechError as exc:
                raise CaseError(f"{_where(row.row, key)}: {exc}") from None
    files = {}
    for key in ("input", "outer"):
        if key in v:
            path = _path(v[key], base).resolve()
            if not path.is_file():
                raise CaseError(f"{_where(row.row, key)}: file {path} does not exist")
            files[key] = path
    samples = parsed.get("samples", default_samples)
    seed = case_seed(cohort_seed, row.id)
    kwargs: dict[str, Any] = {}
    for key, arg in (("size", "size_mm"), ("wall_thickness", "wall_thickness_mm"),
                     ("layers", "layers"), ("imaging_pressure", "imaging_pressure"),
                     ("units", "units"), ("growth", "growth_mm_per_year"),
                     ("end_exclusion", "end_exclusion_mm"),
                     ("end_sensitivity", "end_sensitivity")):
        if key in parsed:
            kwargs[arg] = parsed[key]
    try:
        mech = Mechanics(wall_material=parsed.get("wall_material", "raghavan-vorp"),
                         ilt=parsed.get("ilt", True), ends=parsed.get("ends", "fixed"))
        case = AAACase(input=files["input"], outer=files.get("outer"),
                       systolic_mmHg=parsed["systolic"], diastolic_mmHg=parsed["diastolic"],
                       sex=parsed["sex"], family_history=parsed["family_history"],
                       mechanics=mech, samples=samples, seed=seed, workers=1, **kwargs)
    except BiomechError as exc:
        raise CaseError(f"row {row.row}: {exc}") from None
    digest = hashlib.sha256()
    record = {"version": HASH_VERSION, "cohort_seed": int(cohort_seed), "samples": samples,
              "row": {k: v[k] for k in sorted(v) if k not in ("input", "outer")},
              "files": {k: [str(p), _file_digest(p)] for k, p in files.items()}}
    digest.update(json.dumps(record, sort_keys=True).encode("utf-8"))
    return case, digest.hexdigest()


def read_cohort(path: str | Path, *, samples: int = 0, seed: int = 0) -> list[CohortRow]:
    """The rows of the cohort file at ``path``, each with its case or its error.

    ``samples``: uncertainty samples of a row without a ``samples`` value; ``seed``: the
    cohort seed, from which each case's seed follows (``case_seed``). Raises CohortError
    when the file as a whole cannot be used."""
    path = Path(path)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise CohortError(f"samples must be a whole number >= 0, got {samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise CohortError(f"seed must be a whole number >= 0, got {seed!r}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CohortError(f"cohort file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CohortError(f"cohort file {path} cannot be read: {exc}") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise CohortError(f"{path}: empty; the first line must name the columns "
                          f"({', '.join(REQUIRED)})")
    numbers = [n for n, _ in lines]
    reader = csv.reader([line for _, line in lines], skipinitialspace=True)
    try:
        table = list(reader)
    except csv.Error as exc:
        raise CohortError(f"{path}: not a valid CSV file: {exc}") from None
    header = [h.strip().lower() for h in table[0]]
    where = f"{path}, row {numbers[0]} (header)"
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise CohortError(f"{where}: column(s) {dup} given more than once")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CohortError(f"{where}: missing required column(s) {missing}; the columns are "
                          f"{', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise CohortError(f"{where}: unknown column(s) {unknown} (a misspelt override would be "
                          f"ignored silently); known: {', '.join(COLUMNS)}")
    if len(table) < 2:
        raise CohortError(f"{path}: no cases, only the header")
    base = path.resolve().parent
    rows: list[CohortRow] = []
    seen: dict[str, int] = {}
    for n, cells in zip(numbers[1:], table[1:]):
        if len(cells) > len(header):
            raise CohortError(f"{path}, row {n}: {len(cells)} cells but {len(header)} columns "
                              "(an unquoted comma?)")
        values = {h: c.strip() for h, c in zip(header, cells) if c.strip()}
        case_id = values.get("id", "")
        if not case_id:
            raise CohortError(f"{path}, {_where(n, 'id')}: empty; every case needs an id")
        if not _ID.match(case_id):
            raise CohortError(f"{path}, {_where(n, 'id')}: {case_id!r} is not a valid id "
                              "(letters, digits, '.', '_', '-'; starting with a letter or digit;"
                              " at most 100 characters): it names the case's output folder")
        if case_id in seen:
            raise CohortError(f"{path}, {_where(n, 'id')}: {case_id!r} repeats row {seen[case_id]}")
        seen[case_id] = n
        row = CohortRow(n, case_id, values)
        absent = [c for c in REQUIRED if c not in values]
        if absent:
            row.error = f"{_where(n, absent[0])}: empty; " + (
                "it is required and never guessed" if absent[0] in ("sex", "family_history")
                else "it is required")
        else:
            try:
                row.case, row.inputs_hash = _build_case(row, base, samples, seed)
            except CaseError as exc:
                row.error = str(exc)
        rows.append(row)
    return rows
