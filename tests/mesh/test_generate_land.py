"""The Land et al. (2015) P2 truncated ellipsoid: geometry against closed forms."""

import numpy as np
import pytest

from biomech.mesh.boundary import face_area_vectors
from biomech.mesh.generate import LAND_BASE_Z, LAND_ENDO, LAND_EPI, land_ellipsoid


def _truncated_volume(rs: float, rl: float, top: float = LAND_BASE_Z) -> float:
    """Volume (mm³) of the spheroid x²/rs² + y²/rs² + z²/rl² <= 1 below z = top."""
    return np.pi * rs**2 * ((top + rl) - (top**3 + rl**3) / (3 * rl**2))


def _wall_volume(mesh) -> float:
    import pyvista as pv

    grid = pv.UnstructuredGrid({pv.CellType.WEDGE: mesh.blocks[0].conn,
                                pv.CellType.HEXAHEDRON: mesh.blocks[1].conn}, mesh.points)
    return float(grid.compute_cell_sizes(length=False, area=False)["Volume"].sum())


def test_wall_volume_converges_to_the_closed_form():
    exact = _truncated_volume(*LAND_EPI) - _truncated_volume(*LAND_ENDO)  # 3234.8 mm³
    errors = [abs(_wall_volume(land_ellipsoid(8 * k, 6 * k, k)) / exact - 1) for k in (1, 2, 4)]
    assert errors[2] < 0.01  # measured 0.77 % at 32 x 24 x 4
    order = np.log2(np.array(errors[:-1]) / errors[1:])
    assert np.all(order > 1.8)  # facets on a smooth surface: second order


def test_face_sets_named_points_and_orientation():
    m = land_ellipsoid(16, 12, 2)
    z = m.points[:, 2]
    for name in ("endo", "epi", "base"):
        assert m.face_sets[name]
    base = np.concatenate([f.ravel() for f in m.face_sets["base"].values()])
    assert np.allclose(z[base], LAND_BASE_Z)
    # the base ring's area and outward normal (+z)
    area = face_area_vectors(m.points, m.face_sets["base"]["quad"], "quad")
    ring = np.pi * (LAND_EPI[0] ** 2 * (1 - (LAND_BASE_Z / LAND_EPI[1]) ** 2)
                    - LAND_ENDO[0] ** 2 * (1 - (LAND_BASE_Z / LAND_ENDO[1]) ** 2))
    assert area[:, 2].sum() == pytest.approx(ring, rel=0.03) and np.all(area[:, 2] > 0)
    # endocardial normals point into the cavity (towards the axis or up from the apex)
    for ftype, faces in m.face_sets["endo"].items():
        c = m.points[faces].mean(axis=1)
        a = face_area_vectors(m.points, faces, ftype)
        assert np.all(np.einsum("ij,ij->i", a, c * [1, 1, (17 / 7) ** -2]) < 0)
    apex_endo, apex_epi = (np.flatnonzero(m.point_data[k]) for k in ("apex_endo", "apex_epi"))
    assert np.allclose(m.points[apex_endo], [0, 0, -LAND_ENDO[1]])
    assert np.allclose(m.points[apex_epi], [0, 0, -LAND_EPI[1]])
    b = np.concatenate(m.cell_data["basis"]).reshape(-1, 3, 3)
    assert np.allclose(np.einsum("nij,nkj->nik", b, b), np.eye(3), atol=1e-12)
    assert np.allclose(np.linalg.det(b), 1.0)
