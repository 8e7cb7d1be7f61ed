"""jobflow Makers and jobs; engine-agnostic where possible (engines supply adapters)."""
