"""Pure analysis code: numpy/scipy functions on arrays and pymatgen objects.

Nothing in this package imports jobflow, a store or an engine, so the same functions
run inside a job, in a notebook and in a test. Import the submodule you need, e.g.
``from ionflow.analysis.diffusion import analyze_diffusion``.
"""
