"""Volume meshes: the shared Mesh type, file I/O, boundary faces, selectors, quality checks.

Coordinates are in mm everywhere.
"""

from biomech.mesh.core import FACE_CELL_TYPES, VOLUME_CELL_TYPES, CellBlock, Mesh
from biomech.mesh.boundary import boundary_face_owners, boundary_faces, face_area_vectors
from biomech.mesh.io import from_meshio, read_mesh, to_meshio, write_mesh
from biomech.mesh.quality import QualityReport, assert_valid, check_mesh, element_jacobians
from biomech.mesh.select import select_cells, select_faces, select_nodes

__all__ = [
    "FACE_CELL_TYPES",
    "VOLUME_CELL_TYPES",
    "CellBlock",
    "Mesh",
    "boundary_faces",
    "boundary_face_owners",
    "face_area_vectors",
    "read_mesh",
    "write_mesh",
    "from_meshio",
    "to_meshio",
    "check_mesh",
    "assert_valid",
    "element_jacobians",
    "QualityReport",
    "select_faces",
    "select_nodes",
    "select_cells",
]
