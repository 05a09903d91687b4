"""Structural elements: 3-D co-rotational beams (stent struts, wires) and their section laws."""
