"""Regenerate the small meshes shipped in meshes/ (deterministic; run from the repo root)."""

from pathlib import Path

from biomech.mesh.generate import beam, land_ellipsoid, tube
from biomech.mesh.io import write_mesh

MESHES = Path(__file__).resolve().parent.parent / "meshes"

# A straight aortic segment: inner radius 10 mm, wall 1.5 mm, length 30 mm, HEX8,
# 3 elements through the wall, 48 around, 20 along (about 12k DOF).
TUBE = dict(inner_radius=10.0, outer_radius=11.5, length=30.0, n_radial=3, n_circ=48,
            n_axial=20, element="hexahedron", sector="full")

# Land et al. 2015 benchmark geometries with named face sets: P1 beam (x0, x1, y0, y1,
# bottom, top; fibres along x) and P2 truncated ellipsoid (endo, epi, base; apex points).
LAND_BEAM = {"length": 10.0, "width": 1.0, "height": 1.0, "divisions": (40, 4, 4)}
LAND_ELLIPSOID = {"n_circ": 24, "n_merid": 18, "n_wall": 3}

if __name__ == "__main__":
    for name, mesh, args in (("tube", tube(**TUBE), TUBE),
                             ("land_beam", beam(**LAND_BEAM), LAND_BEAM),
                             ("land_ellipsoid", land_ellipsoid(**LAND_ELLIPSOID), LAND_ELLIPSOID)):
        write_mesh(mesh, MESHES / f"{name}.vtu")
        print(f"wrote {MESHES / (name + '.vtu')} with {args}")
