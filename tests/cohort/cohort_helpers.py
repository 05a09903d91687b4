"""Cheap inputs for the cohort tests: straight-tube label maps and cohort files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from biomech.mesh.image import LabelImage, write_image

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "meshes" / "aaa_small_42mm.nii.gz"
HEADER = "id,input,sex,family_history,systolic,diastolic,size,samples"
TIMING_KEYS = {"wall_s", "workers", "timings_s", "row"}  # differ by nature (row: its place in the file)


def tube_image(path: Path, lumen_vox: float = 9.5, wall_vox: float = 11.0,
               slices: int = 40) -> Path:
    """A straight tube: lumen (1) inside ``lumen_vox`` voxels, wall (3) out to ``wall_vox``;
    spacing 0.5 × 0.5 × 1.0 mm (a ~11 mm vessel, 40 mm long by default)."""
    n = int(2 * wall_vox + 8)
    i, j = np.meshgrid(np.arange(n) - (n - 1) / 2, np.arange(n) - (n - 1) / 2, indexing="ij")
    r = np.hypot(i, j)
    section = np.zeros((n, n), np.uint8)
    section[r < wall_vox] = 3
    section[r < lumen_vox] = 1
    data = np.repeat(section[:, :, None], slices, axis=2)
    write_image(LabelImage(data, (0.5, 0.5, 1.0), (0.0, 0.0, 0.0), np.eye(3)), path)
    return path


def write_cohort(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def summary(out: Path, case_id: str) -> dict:
    return json.loads((out / "cases" / case_id / "summary.json").read_text())


def numbers(d, prefix: str = "") -> dict[str, object]:
    """Every leaf of a summary except timings, flattened: key path → value."""
    flat: dict[str, object] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            if k in TIMING_KEYS:
                continue
            flat.update(numbers(v, f"{prefix}{k}."))
    elif isinstance(d, list):
        for k, v in enumerate(d):
            flat.update(numbers(v, f"{prefix}{k}."))
    else:
        flat[prefix[:-1]] = d
    return flat
