"""A crimped device carried along a curved centreline: the delivery catheter follows the
vessel, so a device too long for a straight catheter in a tortuous artery is wrapped onto
the smoothed centreline before its release (EndoBeams.jl positions its crimped braid along
the centreline in the same spirit, by imposed displacements).

The wrap maps a device-frame point (x, y, z) — axis +z, z = 0 at the landing — to
c(σ₀ + z) + x e₁(σ₀ + z) + y e₂(σ₀ + z), with c the centreline smoothed by a Gaussian of
``sigma_mm`` (ends padded by point reflection, so straight runs stay exact), σ its own arc
length, and (e₁, e₂, t) a rotation-minimising frame carried along it by double reflection
(Wang, Jüttler, Zheng & Liu, ACM Trans Graph 27:2, 2008): no twist is added between the
device's sections. Nodal triads turn with the frame. The wrapped state is not an equilibrium
(the curvature strains the crimped device); the release that follows relaxes it. Units: mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biomech.errors import CaseError
from biomech.structures.beams import BeamState

FRAME_STEP_MM = 0.05  # spacing of the frame's samples along the smoothed centreline
# a catheter's tip flares: the wall's radius grows by this × the arc beyond the tip (mm/mm)
FUNNEL_SLOPE = 0.5
# a braid opened along the path bridges lumen bulges shorter than this (mm): an aneurysm's
# neck (intracranial ones 2-10 mm wide), a branch's ostium
BRIDGE_MM = 10.0


@dataclass
class CentrelinePath:
    """Samples of the smoothed centreline: arc length σ (k,) mm, points, unit tangents and
    the rotation-minimising normal e₁ (k, 3); ``sigma_at``: σ at the input's arc lengths."""

    sigma: np.ndarray
    points: np.ndarray
    tangents: np.ndarray
    normals: np.ndarray
    s_input: np.ndarray
    sigma_input: np.ndarray

    @classmethod
    def smoothed(cls, s_mm: np.ndarray, centre: np.ndarray, sigma_mm: float = 1.0
                 ) -> CentrelinePath:
        """From centreline points ``centre`` (k, 3) at arc lengths ``s_mm`` (increasing)."""
        from scipy.interpolate import CubicSpline
        from scipy.ndimage import gaussian_filter1d

        s, c = np.asarray(s_mm, float), np.asarray(centre, float)
        if len(s) < 4 or np.any(np.diff(s) <= 0.0):
            raise ValueError("a centreline needs at least 4 points at increasing arc length")
        step = float(np.median(np.diff(s)))
        grid = np.arange(s[0], s[-1] + 1e-9, min(step, 0.25))
        pts = CubicSpline(s, c, axis=0)(grid)
        pad = min(len(grid) - 1, int(np.ceil(4.0 * sigma_mm / (grid[1] - grid[0]))))
        ext = np.vstack([2.0 * pts[0] - pts[pad:0:-1], pts, 2.0 * pts[-1] - pts[-2:-pad - 2:-1]])
        smooth = gaussian_filter1d(ext, sigma_mm / (grid[1] - grid[0]), axis=0,
                                   mode="nearest")[pad:pad + len(grid)]
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(smooth, axis=0),
                                                              axis=1))])
        curve = CubicSpline(arc, smooth, axis=0)
        sigma = np.arange(0.0, arc[-1] + 1e-9, FRAME_STEP_MM)
        p, t = curve(sigma), curve(sigma, 1)
        t /= np.linalg.norm(t, axis=1)[:, None]
        return cls(sigma, p, t, _rotation_minimising(p, t), s, np.interp(s, grid, arc))

    def frames(self, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points (n, 3) and frames Q (n, 3, 3) at arc lengths ``sigma``: Q's columns are
        e₁, e₂, t (the images of the device's x, y, z axes)."""
        p, t, e1 = (self._at(sigma, a) for a in (self.points, self.tangents, self.normals))
        t /= np.linalg.norm(t, axis=1)[:, None]
        e1 -= np.sum(e1 * t, axis=1)[:, None] * t
        e1 /= np.linalg.norm(e1, axis=1)[:, None]
        return p, np.stack([e1, np.cross(t, e1), t], axis=2)

    def wrap(self, state: BeamState, s0: float) -> BeamState:
        """The device-frame ``state`` wrapped onto the path with z = 0 at input arc length
        ``s0`` (mm from the inlet). Nodes beyond the path's ends follow its end tangents."""
        sigma0 = float(np.interp(s0, self.s_input, self.sigma_input))
        z = sigma0 + state.x[:, 2]
        p, Q = self.frames(np.clip(z, 0.0, self.sigma[-1]))
        over = z - np.clip(z, 0.0, self.sigma[-1])  # straight on beyond the ends
        x = p + Q[:, :, 2] * over[:, None] + Q[:, :, 0] * state.x[:, :1] \
            + Q[:, :, 1] * state.x[:, 1:2]
        return BeamState(x, np.einsum("nij,njk->nik", Q, state.R), state.history.copy())

    def catheter(self, tip_sigma: float, radius: float, offset: np.ndarray,
                 slope: float = FUNNEL_SLOPE):
        """A rigid frictionless catheter along the smoothed centreline, its tip at arc
        ``tip_sigma`` (mm), for :class:`biomech.structures.relaxation.Relaxation`: a node at
        arc σ and distance ρ from the centreline (σ: its nearest sample's, corrected along
        that sample's tangent; ρ from the path interpolated there), with surface offset ``offset`` (mm, per node), penetrates
        g = ρ + offset − R(σ), R = ``radius`` (mm) up to the tip and R = ``radius`` +
        ``slope`` (σ − ``tip_sigma``) beyond it: a funnel through which a section leaving
        the catheter opens gradually; far beyond the tip g < 0, no force. The tool returns
        g (mm, > 0 inside the catheter's wall) and ∂g/∂x (n, 3)."""
        from scipy.spatial import cKDTree

        tree = cKDTree(self.points)

        def tool(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            arc = self.arc_of(x, tree)
            c, t = self._at(arc, self.points), self._at(arc, self.tangents)
            t /= np.linalg.norm(t, axis=1)[:, None]
            r = x - c
            r -= np.sum(r * t, axis=1)[:, None] * t
            rho = np.maximum(np.linalg.norm(r, axis=1), 1e-12)
            beyond = arc - tip_sigma
            flare = slope * (beyond > 0.0)
            g = rho + offset - radius - flare * beyond
            return g, r / rho[:, None] - flare[:, None] * t
        return tool

    def arc_of(self, x: np.ndarray, tree=None) -> np.ndarray:
        """Arc length σ (mm, smoothed centreline) of the points ``x`` (n, 3): their nearest
        sample's, corrected along its tangent (so beyond the path's ends it runs on); a
        coordinate along a curved vessel. ``tree``: a cKDTree of the samples, when at hand."""
        from scipy.spatial import cKDTree

        x = np.asarray(x, float)
        i = (tree or cKDTree(self.points)).query(x)[1]
        return self.sigma[i] + np.sum((x - self.points[i]) * self.tangents[i], axis=1)

    def lumen_radius(self, lumen_points: np.ndarray, step: float = 0.25,
                     bridge_mm: float = BRIDGE_MM):
        """Radius of the lumen (mm) a braid may open to along the path, a function of σ (mm):
        the median distance from the path of the ``lumen_points`` (the lumen surface's nodes)
        within ``step`` (mm) of each arc, its bulges shorter than ``bridge_mm`` removed (a
        grey opening: an aneurysm's neck or a branch's ostium is bridged, not entered). Where
        the path runs off the lumen's centre some nodes open beyond the wall and the release
        pushes them back (capped at the nearest wall, the EndoBeams braid was not released)."""
        from scipy.ndimage import grey_opening

        arc = self.arc_of(lumen_points)
        r = np.linalg.norm(lumen_points - self._at(np.clip(arc, 0.0, self.sigma[-1]),
                                                   self.points), axis=1)
        grid = np.arange(0.0, self.sigma[-1] + step, step)
        near = np.abs(arc[None, :] - grid[:, None]) < step
        keep = near.any(axis=1)
        if not keep.any():
            raise CaseError("the lumen surface lies nowhere along the centreline: check that "
                            "the segmentation's lumen and its centreline belong together")
        med = np.interp(grid, grid[keep], [np.median(r[m]) for m in near[keep]])
        width = 2 * int(0.5 * bridge_mm / step) + 1
        bound = grey_opening(med, size=width, mode="nearest")
        return lambda sigma: np.interp(sigma, grid, bound)

    def opened(self, state: BeamState, beams: np.ndarray, made_mm: tuple[float, float],
               radius) -> BeamState:
        """A braid wrapped onto the path (``state``, crimped, its ``beams`` (m, 2)) opened by
        braid kinematics to wire-centre radius ``radius``(σ) (mm; kept between its own and
        the as-made one) section by section, its centroid's arc kept: inextensible wires
        crossing at pinned points keep L² + k² d² = ℓ² (k, ℓ from the as-made wire-centre
        length and diameter ``made_mm`` and this state's), so a section of crimped length dσ
        at diameter d opened to d' takes dσ √(ℓ² − k² d'²) / √(ℓ² − k² d²); its nodes keep
        their angle about the path, their radius scales by d'/d, and their triads turn with
        the wires (the unrolled lattice stretched by d'/d round, by the length ratio along).
        The state is not an equilibrium; the release relaxes it (EndoBeams.jl also starts
        its release from a braid morphed along the centreline). Unchanged unless the crimped
        braid is longer than as made."""
        L0, D0 = made_mm
        sig = self.arc_of(state.x)
        p, Q = self.frames(sig)
        loc = np.einsum("nji,nj->ni", Q, state.x - p)
        rho = np.hypot(loc[:, 0], loc[:, 1])
        d, length = 2.0 * rho.mean(), float(np.ptp(sig))
        if length <= L0 or d >= D0:
            return state
        k2 = (length ** 2 - L0 ** 2) / (D0 ** 2 - d ** 2)
        ell2 = length ** 2 + k2 * d ** 2

        def stretch(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # d'/d, length ratio
            dd = 2.0 * np.clip(radius(s), 0.5 * d, 0.5 * D0)
            return dd / d, np.sqrt(ell2 - k2 * dd ** 2) / length

        grid = np.linspace(sig.min(), sig.max(), int(np.ptp(sig) / FRAME_STEP_MM) + 2)
        new = grid
        for _ in range(2):  # the sections' diameters where they land
            c = stretch(new)[1]
            new = np.concatenate([[0.0], np.cumsum(0.5 * (c[1:] + c[:-1]) * np.diff(grid))])
            new += sig.mean() - np.interp(sig.mean(), grid, new)
        moved = np.interp(sig, grid, new)
        scale, along = stretch(moved)
        er = np.column_stack([loc[:, :2] / rho[:, None], np.zeros(len(rho))])
        et = np.column_stack([-er[:, 1], er[:, 0], np.zeros(len(rho))])
        p1, Q1 = self.frames(moved)
        x = p1 + np.einsum("nij,nj->ni", Q1, er * (rho * scale)[:, None])
        t = np.zeros_like(state.x)
        t[beams[:, 0]] = t[beams[:, 1]] = state.x[beams[:, 1]] - state.x[beams[:, 0]]
        t = np.einsum("nji,nj->ni", Q, t)
        t /= np.linalg.norm(t, axis=1)[:, None]
        tn = t + (scale - 1.0)[:, None] * np.sum(t * et, axis=1)[:, None] * et
        tn[:, 2] *= along
        turn = rotations_onto(t, tn / np.linalg.norm(tn, axis=1)[:, None])
        R = np.einsum("nij,njk,nlk,nlm->nim", Q1, turn, Q, state.R)
        return BeamState(x, R, state.history.copy())

    def _at(self, sigma: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Samples ``a`` (k, 3) interpolated linearly at arc lengths ``sigma`` (n,)."""
        return np.column_stack([np.interp(sigma, self.sigma, a[:, k]) for k in range(3)])

    def bend_radius_mm(self, s0: float, s1: float) -> float:
        """Smallest radius of curvature (mm) of the smoothed centreline over [s0, s1]."""
        a, b = np.interp([s0, s1], self.s_input, self.sigma_input)
        sel = (self.sigma >= a) & (self.sigma <= b)
        t = self.tangents[sel]
        if len(t) < 2:
            return float("inf")
        turn = np.arccos(np.clip(np.sum(t[1:] * t[:-1], axis=1), -1.0, 1.0)).max()
        return float(FRAME_STEP_MM / turn) if turn > 0 else float("inf")


def rotations_onto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotations (n, 3, 3) taking unit vectors a (n, 3) onto b (Rodrigues); where b = −a,
    the half turn about the unit vector nearest x (or y, for a near ±x) normal to a."""
    v, c = np.cross(a, b), np.sum(a * b, axis=1)
    S = np.zeros((len(a), 3, 3))
    S[:, 0, 1], S[:, 0, 2], S[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    S -= np.transpose(S, (0, 2, 1))
    flip = (np.linalg.norm(v, axis=1) < 1e-12) & (c < 0.0)
    R = np.eye(3) + S + (S @ S) / np.where(flip, 1.0, 1.0 + c)[:, None, None]
    if flip.any():
        e = np.where((np.abs(a[flip, 0]) < 0.9)[:, None], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        p = e - np.sum(e * a[flip], axis=1)[:, None] * a[flip]
        p /= np.linalg.norm(p, axis=1)[:, None]
        R[flip] = 2.0 * np.einsum("ni,nj->nij", p, p) - np.eye(3)
    return R


def _rotation_minimising(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Normals e₁ (k, 3) of a rotation-minimising frame along points ``p`` with tangents
    ``t``, by double reflection; e₁ starts perpendicular to t₀ in a fixed direction."""
    seed = np.array([1.0, 0.0, 0.0]) if abs(t[0, 0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.empty_like(p)
    first = seed - (seed @ t[0]) * t[0]
    e1[0] = first / np.linalg.norm(first)
    for i in range(len(p) - 1):
        v1 = p[i + 1] - p[i]
        c1 = v1 @ v1
        r = e1[i] - (2.0 / c1) * (v1 @ e1[i]) * v1
        tl = t[i] - (2.0 / c1) * (v1 @ t[i]) * v1
        v2 = t[i + 1] - tl
        c2 = v2 @ v2
        if c2 > 1e-30:
            r = r - (2.0 / c2) * (v2 @ r) * v2
        r -= (r @ t[i + 1]) * t[i + 1]
        e1[i + 1] = r / np.linalg.norm(r)
    return e1


__all__ = ["CentrelinePath", "rotations_onto"]
