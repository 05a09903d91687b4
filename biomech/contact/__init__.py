"""Contact: rigid tools (crimping head, catheter, rigid tubes) and, later, deformable walls."""

from biomech.contact.cylinder import RigidCylinder
from biomech.contact.surface import SurfaceContact

__all__ = ["RigidCylinder", "SurfaceContact"]
