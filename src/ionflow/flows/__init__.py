"""Studies composed from makers: transport (MD), defects, NEB, stability window."""
