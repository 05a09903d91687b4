"""The patient's vessel prepared for a virtual deployment: the [aaa] twin (zero-pressure
reference, wall under blood pressure), the lumen as oriented contact triangles, and the
centreline with lumen and outer diameters along it; the landing zone from ``--landing``.

Units: mm, MPa, mmHg where named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from biomech.errors import CaseError

# The model's cut ends are clamped: a device inside their boundary zone (10 mm for an aorta,
# the [aaa] end exclusion; less in small arteries, see boundary_zone_mm) would bear on an
# artificially stiff wall, and contact at the cut's open edge stalls Newton.
END_MARGIN_MM = 10.0   # largest clamped boundary zone at either cut end (an aorta's)
NECK_OFFSET_MM = END_MARGIN_MM  # "neck" lands the proximal end at the zone's edge
ANEURYSM_RATIO = 1.2  # the neck ends at the first 20 % dilatation ([mesh]'s measure default)


def boundary_zone_mm(diameter_mm: float, thickness_mm: float, size_mm: float) -> float:
    """Length (mm) at each clamped cut end kept free of devices: one half-wave πλ of a
    cylindrical shell's edge bending, λ = √(R t) / (3(1 − ν²))^¼ with ν = 0.5 and R the
    mid-wall radius (Timoshenko & Woinowsky-Krieger, Theory of Plates and Shells, axisymmetric
    cylindrical shells: an edge disturbance decays as e^(−x/λ), to 4 % over πλ), at least two wall elements, rounded up to whole mm, at most
    END_MARGIN_MM (10 mm: a 19 mm aortic neck with a 1.5 mm wall gives πλ = 10.1 mm)."""
    radius = 0.5 * (diameter_mm + thickness_mm)
    decay = np.sqrt(radius * thickness_mm) / 2.25 ** 0.25
    return float(min(END_MARGIN_MM, np.ceil(max(np.pi * decay, 2.0 * size_mm) - 1e-9)))


@dataclass
class Vessel:
    """A solved vessel twin ready for deployment.

    ``problem``: compiled wall FE problem at the imaging pressure on the zero-pressure
    ``reference`` (n, 3); ``u_imaging`` (3n,) its equilibrium displacement there (the imaged
    geometry); ``lumen`` (m, 3) triangles whose normals point out of the lumen; ``s_mm``,
    ``centre`` (k, 3), ``lumen_diameter_mm``, ``outer_diameter_mm``: the centreline from the
    inlet. ``nominal``: the [aaa] Nominal (measurements, systolic twin = wall "before").
    ``end_margin_mm``: the clamped boundary zone at each cut end (``boundary_zone_mm``)."""

    nominal: Any
    case: Any
    model: Any
    problem: Any
    reference: np.ndarray
    u_imaging: np.ndarray
    lumen: np.ndarray
    s_mm: np.ndarray
    centre: np.ndarray
    lumen_diameter_mm: np.ndarray
    outer_diameter_mm: np.ndarray
    end_margin_mm: float = END_MARGIN_MM

    @property
    def imaged_points(self) -> np.ndarray:
        return self.reference + self.u_imaging.reshape(-1, 3)

    @property
    def length_mm(self) -> float:
        return float(self.s_mm[-1])

    def lumen_diameter_between(self, s0: float, s1: float) -> np.ndarray:
        """Lumen diameters (mm) of the centreline points with s0 ≤ s ≤ s1."""
        sel = (self.s_mm >= s0) & (self.s_mm <= s1)
        if not sel.any():
            sel = np.abs(self.s_mm - 0.5 * (s0 + s1)) == np.abs(self.s_mm - 0.5 * (s0 + s1)).min()
        return self.lumen_diameter_mm[sel]

    @property
    def neck_end_mm(self) -> float | None:
        """Arc length (mm from the inlet) where the aneurysm begins: the outer diameter first
        exceeds ``ANEURYSM_RATIO`` × the neck's (its median over the first 10 mm), as [mesh]'s
        measure; None where the vessel has no such dilatation."""
        from biomech.mesh.measure import neck_extent

        if not np.isfinite(self.outer_diameter_mm).any():
            return None
        neck = neck_extent({"arc_mm": self.s_mm, "diameter_mm": self.outer_diameter_mm},
                           ANEURYSM_RATIO, 10.0)
        return float(neck["neck_length_mm"]) if neck["aneurysm_found"] else None

    def landing_start(self, landing: str | float) -> float:
        """Arc length (mm from the inlet) of the device's proximal end for ``landing``:
        "neck" (the boundary zone's edge below the inlet) or a distance such as "12 mm"."""
        s0 = parse_landing(landing, zone_mm=self.end_margin_mm)
        last = self.length_mm - self.end_margin_mm
        if s0 >= last:
            where = "beyond the vessel" if s0 >= self.length_mm else \
                "in the outlet's clamped boundary zone"
            raise CaseError(f"--landing {landing!r}: the landing point lies {where}; the "
                            f"centreline runs {self.length_mm:.1f} mm from the inlet and its first "
                            f"and last {self.end_margin_mm:.0f} mm are clamped: land between "
                            f"{self.end_margin_mm:.0f} and {last:.1f} mm (\"neck\" = "
                            f"{self.end_margin_mm:.0f} mm)")
        return float(s0)

    def point_at(self, s: float) -> np.ndarray:
        return np.array([np.interp(s, self.s_mm, self.centre[:, k]) for k in range(3)])

    def axis_over(self, s0: float, length: float) -> tuple[np.ndarray, np.ndarray, float]:
        """The straight line that best fits the centreline over [s0, s0 + length]: (point at
        s0 projected on it, unit axis towards the outlet, largest distance (mm) of the
        centreline from it)."""
        sel = (self.s_mm >= s0) & (self.s_mm <= s0 + length)
        pts = self.centre[sel] if sel.sum() >= 2 else np.array([self.point_at(s0),
                                                                 self.point_at(s0 + length)])
        mean = pts.mean(axis=0)
        axis = np.linalg.svd(pts - mean)[2][0]
        if axis @ (self.point_at(s0 + length) - self.point_at(s0)) < 0:
            axis = -axis
        rel = pts - mean
        off = np.linalg.norm(rel - np.outer(rel @ axis, axis), axis=1).max()
        p0 = self.point_at(s0)
        return mean + ((p0 - mean) @ axis) * axis, axis, float(off)


def parse_landing(landing: str | float, zone_mm: float = NECK_OFFSET_MM) -> float:
    """``--landing`` as mm from the inlet: "neck" → ``zone_mm`` (the clamped boundary zone,
    10 mm for an aorta), "12 mm" → 12; CaseError for a bare number or a landing inside the
    zone."""
    from biomech.units import parse_quantity

    if isinstance(landing, str) and landing.strip().lower() == "neck":
        return float(zone_mm)
    s0 = parse_quantity(landing, "length", key="--landing")
    if s0 < zone_mm - 1e-9:
        raise CaseError(f"--landing {landing!r}: the first {zone_mm:.3g} mm below the "
                        "inlet are the model's clamped boundary zone; land at "
                        f"\"{np.ceil(zone_mm * 10) / 10:g} mm\" or further")
    return float(s0)


def _lumen_triangles(mesh, points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """The lumen face set as triangles (quads split) with normals out of the lumen."""
    from scipy.spatial import cKDTree

    if "lumen" not in mesh.face_sets:
        raise CaseError(f"{mesh.source}: the vessel mesh has no 'lumen' face set")
    tris = []
    for conn in mesh.face_sets["lumen"].values():
        conn = np.asarray(conn)
        if conn.shape[1] == 3:
            tris.append(conn)
        elif conn.shape[1] == 4:
            tris += [conn[:, [0, 1, 2]], conn[:, [0, 2, 3]]]
        else:  # quadratic faces: their corner triangle
            tris.append(conn[:, :3])
    T = np.vstack(tris).astype(np.int64)
    c = points[T].mean(axis=1)
    n = np.cross(points[T[:, 1]] - points[T[:, 0]], points[T[:, 2]] - points[T[:, 0]])
    out = c - centre[cKDTree(centre).query(c)[1]]
    flip = np.sum(n * out, axis=1) < 0
    T[flip] = T[flip][:, [0, 2, 1]]
    return T


def _lumen_diameters(points: np.ndarray, lumen: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """Equivalent lumen diameter (mm) at each centreline point: twice the mean distance of
    the lumen nodes nearest to it (interpolated where no node is nearest)."""
    from scipy.spatial import cKDTree

    nodes = np.unique(lumen)
    dist, near = cKDTree(centre).query(points[nodes])
    total = np.bincount(near, weights=dist, minlength=len(centre))
    count = np.bincount(near, minlength=len(centre))
    have = count > 0
    d = np.full(len(centre), np.nan)
    d[have] = 2.0 * total[have] / count[have]
    k = np.arange(len(centre))
    return np.interp(k, k[have], d[have])


def prepare_vessel(case, *, say: Callable[[str], None] | None = None,
                   landing: str | None = None) -> Vessel:
    """Read, measure, mesh and solve the twin of ``case`` (an [aaa] AAACase) and set up the
    wall problem for deployment at the imaging pressure; a ``landing`` beyond the measured
    centreline is refused before the twin is solved."""
    from biomech.aaa.run import MMHG_TO_MPA, prepare_nominal, solve_nominal
    from biomech.aaa.twin import build_aaa_model
    from biomech.aaa.zero_pressure import with_reference

    nom = prepare_nominal(case, say=say)
    arc = (nom.meas.get("diameter_profile") or {}).get("arc_mm")
    if landing is not None and arc is not None and len(arc) > 1:
        s0, length = parse_landing(landing, zone_mm=0.0), float(np.ptp(arc))
        if s0 >= length:
            raise CaseError(f"--landing {landing!r}: the landing point lies beyond the vessel "
                            f"(its centreline runs {length:.1f} mm from the inlet)")
    solve_nominal(nom, case, say=say, aortic=False)
    zp = nom.twin.zero_pressure
    model = with_reference(build_aaa_model(nom.mesh, case.imaging_mmHg * MMHG_TO_MPA,
                                           case.mechanics), zp.reference)
    problem = model.compile()
    prof = nom.meas.get("diameter_profile") or {}
    if prof.get("points") is None:
        raise CaseError(f"{case.input}: no centreline could be traced through the vessel")
    centre = np.asarray(prof["points"], float)
    s = np.asarray(prof["arc_mm"], float)
    outer = np.asarray(prof["diameter_mm"], float)
    imaged = zp.reference + zp.displacement
    inlet = _face_centroid(nom.mesh, "inlet", imaged)
    if inlet is not None and (np.linalg.norm(centre[-1] - inlet)
                              < np.linalg.norm(centre[0] - inlet)):
        centre, s, outer = centre[::-1], s[-1] - s[::-1], outer[::-1]  # from the inlet
    s = s - s[0]
    lumen = _lumen_triangles(model.mesh, imaged, centre)
    lumen_d = _lumen_diameters(imaged, lumen, centre)
    zone = boundary_zone_mm(float(min(lumen_d[0], lumen_d[-1])), case.wall_thickness_mm,
                            case.size_mm)
    return Vessel(nom, case, model, problem, zp.reference.copy(), zp.displacement.ravel().copy(),
                  lumen, s, centre, lumen_d, outer, zone)


def _face_centroid(mesh, name: str, points: np.ndarray) -> np.ndarray | None:
    if name not in mesh.face_sets:
        return None
    nodes = np.unique(np.concatenate([np.ravel(c) for c in mesh.face_sets[name].values()]))
    return points[nodes].mean(axis=0)
