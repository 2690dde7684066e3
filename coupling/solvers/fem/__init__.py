"""FEM continuum on DOLFINx 0.11: plane strain/stress with pluggable constitutive laws."""
