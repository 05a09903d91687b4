"""Regenerate the synthetic AAA label maps shipped in meshes/ (deterministic; run from anywhere).

Writes ``meshes/aaa_<name>.nii.gz`` (labels: 1 lumen, 2 thrombus, 3 wall; LPS world mm, RAS
affine in the NIfTI as the format requires) and ``meshes/aaa_cases.json`` with each case's
generating arguments, grid and exact truth (see :func:`biomech.mesh.synthetic.synthetic_aaa`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from biomech.mesh.image import write_image
from biomech.mesh.synthetic import synthetic_aaa

MESHES = Path(__file__).resolve().parent.parent / "meshes"

CASES = {
    # male-size fusiform AAA at the repair threshold, eccentric thrombus
    "aaa_fusiform_55mm": dict(max_diameter=55.0, seed=0),
    # small AAA under surveillance, no thrombus
    "aaa_small_42mm": dict(max_diameter=42.0, sac_length=60.0, thrombus=False, seed=1),
    # larger AAA with iliac bifurcation and a strongly eccentric thrombus
    "aaa_iliac_60mm": dict(max_diameter=60.0, iliacs=True, thrombus_eccentricity=0.8,
                           thrombus_max_thickness=18.0, asymmetry=0.4, seed=2),
}
_ARRAY_STEP = 2  # keep every 2nd 0.5 mm centreline sample (1 mm) in the JSON


def _jsonable(value):
    """Truth values as JSON: arrays as nested lists rounded to 1e-4 mm."""
    if isinstance(value, np.ndarray):
        return np.round(value, 4).tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6)
    return value


def _thin(truth: dict) -> dict:
    """Truth with the per-sample centreline arrays thinned to 1 mm."""
    out = {}
    for key, value in truth.items():
        if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) > 10:
            value = value[::_ARRAY_STEP]
        out[key] = value
    return out


def _dumps(doc: dict) -> str:
    """Indented JSON with each innermost list of numbers on one line."""
    text = json.dumps(doc, indent=1)
    return re.sub(r"\[[^\[\]{}\"]*\]",
                  lambda m: re.sub(r"\s+", " ", m.group()).replace("[ ", "[").replace(" ]", "]"),
                  text)


def make_case(name: str, kwargs: dict) -> dict:
    """Generate one case, write its image; return its JSON record."""
    image, truth = synthetic_aaa(**kwargs)
    path = MESHES / f"{name}.nii.gz"
    write_image(image, path)
    return {
        "file": path.name,
        "arguments": kwargs,
        "grid": {"shape": list(image.shape), "spacing_mm": image.spacing.tolist(),
                 "origin_mm": image.origin.tolist(), "direction": image.direction.tolist()},
        "truth": _jsonable(_thin(truth)),
    }


if __name__ == "__main__":
    records = {}
    for name, kwargs in CASES.items():
        records[name] = make_case(name, kwargs)
        size = (MESHES / records[name]["file"]).stat().st_size
        grid = records[name]["grid"]["shape"]
        print(f"wrote {records[name]['file']} {grid} ({size / 1e6:.2f} MB)")
    doc = {
        "about": "Synthetic AAA label maps from biomech.mesh.synthetic.synthetic_aaa; world "
                 "coordinates LPS, mm; volumes ml; regenerate with examples/make_aaa_cases.py",
        "labels": {"lumen": 1, "thrombus": 2, "wall": 3},
        "cases": records,
    }
    (MESHES / "aaa_cases.json").write_text(_dumps(doc) + "\n")
    print(f"wrote {MESHES / 'aaa_cases.json'}")
