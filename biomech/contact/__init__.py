"""Contact: rigid tools (crimping head, catheter, rigid tubes) and, later, deformable walls."""

from biomech.contact.cylinder import RigidCylinder

__all__ = ["RigidCylinder"]
