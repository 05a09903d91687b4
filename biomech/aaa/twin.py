"""The AAA mechanical twin: materials, supports and blood pressure on a vessel mesh, the
zero-pressure reference, the systolic solve and the wall fields of rupture risk.

Defaults are the published ones (reference README §1–3): Raghavan–Vorp wall with the
population mean α = 17.4 N/cm², β = 188.1 N/cm² (Raghavan & Vorp 2000); Gasser 2008
layered ILT, c = 2.62 / 2.13 / 1.98 kPa at the luminal / medial / abluminal depth (linear in
normalised depth, evaluated at the centre of each third of the thrombus); near
incompressibility by a bulk modulus 100× the initial shear modulus (ν ≈ 0.495); the imaged
geometry loaded by the diastolic pressure. Units: mm, MPa.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biomech.aaa.indices import rupture_indices
from biomech.aaa.strength import strength_extrapolation_flags, vande_geest_strength
from biomech.errors import CaseError

__all__ = [
    "ILT_C_KPA",
    "WALL_DEFAULTS",
    "Mechanics",
    "build_aaa_model",
    "ilt_layered_mesh",
    "wall_fields",
    "cell_centroids",
]

WALL_DEFAULTS: dict[str, dict[str, float]] = {
    # Raghavan & Vorp, J Biomech 33:475 (2000), population mean (MPa)
    "raghavan-vorp": {"alpha": 0.174, "beta": 1.881},
    # Gasser, Ogden & Holzapfel, J R Soc Interface 3:15 (2006), adventitia set (MPa, -, deg)
    "hgo": {"mu": 0.00764, "k1": 0.9966, "k2": 524.6, "kappa": 0.226, "angle": 49.98},
}
ILT_C_KPA = (2.62, 2.13, 1.98)  # luminal, medial, abluminal (Gasser et al. 2008)
BULK_RATIO = 100.0  # bulk / initial shear modulus
ILT_REGIONS = ("thrombus_luminal", "thrombus_medial", "thrombus_abluminal")
END_SUPPORTS = ("fixed", "springs")


@dataclass
class Mechanics:
    """Material and support choices; parameters in MPa (HGO angle in degrees)."""

    wall_material: str = "raghavan-vorp"
    wall_params: dict[str, float] = field(default_factory=dict)
    ilt: bool = True
    ilt_c_kPa: tuple[float, float, float] = ILT_C_KPA
    ends: str = "fixed"
    spring_stiffness: float = 0.1  # N/mm³ (per unit end-face area), used when ends = "springs"

    def __post_init__(self) -> None:
        if self.wall_material not in WALL_DEFAULTS:
            raise CaseError(f"wall material must be one of {sorted(WALL_DEFAULTS)}, "
                            f"got {self.wall_material!r}")
        if self.ends not in END_SUPPORTS:
            raise CaseError(f"ends must be one of {END_SUPPORTS}, got {self.ends!r}")
        unknown = set(self.wall_params) - set(WALL_DEFAULTS[self.wall_material])
        if unknown:
            raise CaseError(f"unknown {self.wall_material} parameter(s) {sorted(unknown)}; "
                            f"valid: {sorted(WALL_DEFAULTS[self.wall_material])}")

    def wall(self) -> dict[str, float]:
        """Wall parameters (defaults overridden by ``wall_params``) with their bulk modulus."""
        p = {**WALL_DEFAULTS[self.wall_material], **self.wall_params}
        mu0 = 2.0 * p["alpha"] if self.wall_material == "raghavan-vorp" else p["mu"] + p["k1"]
        return {**p, "bulk": BULK_RATIO * mu0}

    def summary(self) -> dict[str, Any]:
        wall = self.wall()
        return {
            "wall_material": self.wall_material,
            "wall_params_MPa": {k: v for k, v in wall.items()},
            "ilt_material": "ilt (Gasser 2008, layered)" if self.ilt else "none",
            "ilt_c_kPa": list(self.ilt_c_kPa) if self.ilt else None,
            "ends": self.ends,
            "spring_stiffness_N_mm3": self.spring_stiffness if self.ends == "springs" else None,
        }


def _ilt_c_at_depth(depth: np.ndarray, c_kPa) -> np.ndarray:
    """c (MPa) linear in normalised depth 0 → 0.5 → 1 through the three published values."""
    return np.interp(depth, [0.0, 0.5, 1.0], c_kPa) * 1e-3


def ilt_layered_mesh(mesh):
    """A copy of ``mesh`` whose thrombus cells are split by depth into the three ILT regions."""
    if "thrombus" not in mesh.region_names:
        return mesh
    tag = mesh.region_names["thrombus"]
    names = dict(mesh.region_names)
    new_tags = {}
    for k, name in enumerate(ILT_REGIONS):
        new_tags[k] = max(names.values()) + 1
        names[name] = new_tags[k]
    layers = mesh.cell_data.get("layer")
    blocks = []
    for i, b in enumerate(mesh.blocks):
        region = b.region.copy()
        is_ilt = region == tag
        if is_ilt.any():
            if layers is None:
                third = np.ones(len(region), dtype=int)  # no depth known: medial value
            else:
                layer = np.asarray(layers[i])
                n = int(layer[is_ilt].max()) + 1
                third = np.minimum(((layer + 0.5) / n * 3).astype(int), 2)
            for k in range(3):
                region[is_ilt & (third == k)] = new_tags[k]
        blocks.append(dataclasses.replace(b, region=region))
    names.pop("thrombus")
    return dataclasses.replace(mesh, blocks=blocks, region_names=names)


def build_aaa_model(mesh, pressure_MPa: float, mech: Mechanics | None = None):
    """A Model of the vessel mesh (regions ``wall`` and optional ``thrombus``; face sets
    ``lumen``, ``inlet``, ``outlet_*``) under follower pressure ``pressure_MPa`` on the lumen."""
    from biomech.model import Model

    mech = mech or Mechanics()
    if "wall" not in mesh.region_names:
        raise CaseError(f"{mesh.source}: the mesh has no 'wall' region (regions: "
                        f"{sorted(mesh.region_names)}); build it with `biomech mesh`")
    ends = [n for n in mesh.face_sets if n == "inlet" or n.startswith("outlet")]
    if "lumen" not in mesh.face_sets or not ends:
        raise CaseError(f"{mesh.source}: need face sets 'lumen', 'inlet' and 'outlet_*' "
                        f"(have {sorted(mesh.face_sets)})")
    if mech.ilt and "thrombus" in mesh.region_names:
        mesh = ilt_layered_mesh(mesh)
    model = Model(mesh)
    wall = mech.wall()
    model.add_material("wall", mech.wall_material, **wall)
    ilt_regions = [r for r in ILT_REGIONS if r in mesh.region_names]
    if ilt_regions:
        centres = np.array([1 / 6, 1 / 2, 5 / 6])
        for name, c in zip(ILT_REGIONS, _ilt_c_at_depth(centres, mech.ilt_c_kPa)):
            if name in mesh.region_names:
                model.add_material(name, "ilt", c=float(c), bulk=BULK_RATIO * 8.0 * float(c))
    elif "thrombus" in mesh.region_names:  # thrombus present but not modelled as ILT
        model.add_material("thrombus", "neo-hookean", mu=1e-3, bulk=0.1)
    for name in ends:
        if mech.ends == "fixed":
            model.fix(name)
        else:
            model.add_spring(name, mech.spring_stiffness)
    model.add_pressure("lumen", pressure_MPa)
    return model


def _cell_volumes(points: np.ndarray, mesh) -> np.ndarray:
    """Volume (mm³) of every cell, blocks in order, at the given node positions."""
    import meshio
    import pyvista as pv

    grid = pv.from_meshio(meshio.Mesh(points, [(b.type, b.conn) for b in mesh.blocks]))
    return np.abs(grid.compute_cell_sizes(length=False, area=False)["Volume"])


def wall_fields(result, *, neck_diameter_mm: float, sex: str, family_history: bool,
                strength_factor: float = 1.0, stress_scale: float = 1.0,
                exclude: np.ndarray | None = None) -> dict[str, Any]:
    """Per-cell stress, strength and RPI of a solved AAA Result (wall cells; NaN elsewhere)
    with the indices PWS (first principal and von Mises), PWS99, PWRI and their locations.

    ``strength_factor`` scales the Vande Geest strength and ``stress_scale`` the stress
    (uncertainty samples); both 1 for the deterministic twin. ``exclude``: cells left out of
    the indices (e.g. next to the clamped ends); their fields are still computed."""
    from biomech.results import principal_stresses, von_mises

    mesh = result.model.mesh
    region = np.concatenate([b.region for b in mesh.blocks])
    wall = region == mesh.region_names["wall"]
    sigma = result.cauchy_stress * stress_scale
    p1 = principal_stresses(sigma)[:, 0]
    vm = von_mises(sigma)
    ilt = np.concatenate(mesh.cell_data["ilt_thickness"]) if "ilt_thickness" in mesh.cell_data \
        else np.zeros(len(region))
    if "local_diameter_mm" not in mesh.cell_data:
        raise CaseError(f"{mesh.source}: the mesh has no cell data 'local_diameter_mm' needed by "
                        "the strength model; build it with `biomech mesh`")
    diam = np.concatenate(mesh.cell_data["local_diameter_mm"])
    nord = diam / neck_diameter_mm
    strength = vande_geest_strength(ilt[wall], nord[wall], sex=sex,
                                    family_history=family_history) * strength_factor
    flags = strength_extrapolation_flags(ilt[wall], nord[wall], sex=sex,
                                         family_history=family_history)
    volumes = _cell_volumes(result.deformed_points, mesh)
    full = {name: np.full(len(region), np.nan) for name in ("strength_MPa", "rpi")}
    full["strength_MPa"][wall] = strength
    full["rpi"][wall] = p1[wall] / strength
    scored = wall & ~exclude if exclude is not None else wall
    if not scored.any():
        raise CaseError(f"{mesh.source}: every wall cell lies in the excluded end zones; "
                        "reduce the end exclusion")
    ids = np.flatnonzero(scored)
    idx = rupture_indices(p1[scored], full["strength_MPa"][scored], volumes[scored])
    centroids = cell_centroids(result.deformed_points, mesh)
    k_vm = int(np.argmax(vm[scored]))
    k_rpi = idx["pwri_element"]
    return {
        "wall": wall,
        "scored": scored,
        "stress_p1_MPa": p1,
        "von_mises_MPa": vm,
        "strength_MPa": full["strength_MPa"],
        "rpi": full["rpi"],
        "indices": {
            "pws_MPa": idx["pws_MPa"],
            "pws_location_mm": centroids[ids[idx["pws_element"]]].tolist(),
            "pws_vm_MPa": float(vm[scored][k_vm]),
            "pws_vm_location_mm": centroids[ids[k_vm]].tolist(),
            "pws99_MPa": idx["pws99_MPa"],
            "pws99_weighting": idx["pws99_weighting"],
            "pwri": idx["pwri"],
            "pwri_location_mm": centroids[ids[k_rpi]].tolist(),
            "strength_at_pwri_MPa": float(full["strength_MPa"][ids[k_rpi]]),
            "min_strength_MPa": float(strength.min()),
            "strength_extrapolated_fraction": float(flags["any"].mean()),
            "strength_floored_fraction": float(flags["floored"].mean()),
            "wall_cells": int(wall.sum()),
            "scored_cells": int(scored.sum()),
        },
    }


def cell_centroids(points: np.ndarray, mesh) -> np.ndarray:
    """Centroid (mm) of every cell, blocks in order, at node positions ``points`` (n, 3)."""
    return np.concatenate([points[b.conn].mean(axis=1) for b in mesh.blocks])
