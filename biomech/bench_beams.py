"""``biomech bench --beams``: time the beam kernels a stent crash test spends its time in.

Devices from shipped definitions: a 48-wire braid of the EndoBeams stent's size (4.6 mm,
7.5 mm, wire 0.028 mm) and the SG28 stent-graft of ``examples/stents/devices.toml`` with
its fabric. Each is crimped by hand to 80 % of its diameter (a state with real rotations
and strains, no solve), then timed, median of ``repeats`` calls on the calling threads:

- ``forces_ms``: internal force only, the explicit relaxation's step (fused kernel);
- ``tangent_ms``: internal force and the assembled CSR tangent, Newton's per iterate.

Figures in ms; the DOF and element counts beside them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from biomech.bench import _atomic_write_json, _median_time, _threads

CATALOGUE = Path(__file__).resolve().parents[1] / "examples" / "stents" / "devices.toml"


def _devices() -> dict[str, Any]:
    from biomech.stent import get_device, load_catalogue
    from biomech.stent.devices import braided
    from biomech.structures.beams import beam_model

    braid = braided(4.6, 7.5, 48, 60.0, 0.028, elements_per_segment=2,
                    material={"model": "linear-elastic", "E": 225e3, "nu": 0.33})
    models = {"braid-48": beam_model(braid)}
    if CATALOGUE.is_file():
        sg28 = get_device(load_catalogue(CATALOGUE), "SG28").build()
        models["SG28+fabric"] = beam_model(sg28, fabric=True)
    return models


def _squeezed(model, ratio: float = 0.8):
    """The model's initial state with every node moved radially to ``ratio`` × its radius
    about the device axis (z) and each nodal triad turned by the twist that implies."""
    state = model.initial_state()
    x = state.x.copy()
    x[:, :2] *= ratio
    state.x = x
    angle = 0.05 * np.arctan2(model.nodes[:, 1], model.nodes[:, 0])
    c, s = np.cos(angle), np.sin(angle)
    Rz = np.zeros((len(x), 3, 3))
    Rz[:, 0, 0], Rz[:, 0, 1], Rz[:, 1, 0], Rz[:, 1, 1], Rz[:, 2, 2] = c, -s, s, c, 1.0
    state.R = np.einsum("nij,njk->nik", Rz, state.R)
    return state


def run_beam_bench(out: str | os.PathLike | None = None, repeats: int = 20,
                   quiet: bool = False) -> dict[str, Any]:
    """Time ``internal_forces`` and ``forces`` per device; print one line each; return the
    records (also written to ``out/bench_beams.json``)."""
    rows = []
    for name, model in _devices().items():
        state = _squeezed(model)
        model.internal_forces(state)  # compile and warm the caches
        model.forces(state)
        f_ms = 1e3 * _median_time(lambda: model.internal_forces(state), repeats)
        k_ms = 1e3 * _median_time(lambda: model.forces(state), max(3, repeats // 4))
        rows.append({"device": name, "nodes": int(model.n_nodes), "dof": int(model.n_dof),
                     "beams": int(len(model.beams)), "membranes": int(len(model.membranes)),
                     "forces_ms": round(f_ms, 3), "tangent_ms": round(k_ms, 3)})
        if not quiet:
            r = rows[-1]
            print(f"{name:12s} {r['dof']:6d} DOF, {r['beams']} beams, {r['membranes']} "
                  f"membranes: forces {f_ms:.2f} ms, forces + tangent {k_ms:.2f} ms")
    result = {"threads": _threads(), "repeats": repeats, "devices": rows}
    if out is not None:
        _atomic_write_json(Path(out) / "bench_beams.json", result)
    return result
