"""Importable fakes for tests: a cheap Lennard-Jones engine and replay fakes of VASP and CP2K."""
