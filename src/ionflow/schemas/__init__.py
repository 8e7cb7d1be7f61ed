"""pydantic documents stored by ionflow jobs (units in field names and descriptions)."""
