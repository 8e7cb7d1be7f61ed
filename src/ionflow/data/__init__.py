"""Study files shipped with the package (the demo studies)."""
