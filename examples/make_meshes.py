"""Regenerate the small meshes shipped in meshes/ (deterministic; run from the repo root)."""

from pathlib import Path

from biomech.mesh.generate import tube
from biomech.mesh.io import write_mesh

MESHES = Path(__file__).resolve().parent.parent / "meshes"

# A straight aortic segment: inner radius 10 mm, wall 1.5 mm, length 30 mm, HEX8,
# 3 elements through the wall, 48 around, 20 along (about 12k DOF).
TUBE = dict(inner_radius=10.0, outer_radius=11.5, length=30.0, n_radial=3, n_circ=48,
            n_axial=20, element="hexahedron", sector="full")

if __name__ == "__main__":
    write_mesh(tube(**TUBE), MESHES / "tube.vtu")
    print(f"wrote {MESHES / 'tube.vtu'} with {TUBE}")
