"""Pure structure generators: prototypes, supercells, defects and hops (no jobflow imports)."""
