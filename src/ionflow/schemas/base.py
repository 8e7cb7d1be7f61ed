"""The base of ionflow's stored result documents.

:class:`StoredDoc` refuses unknown keys and any NaN/inf float (nested lists and dicts
included; nested documents check themselves), so nothing non-finite reaches a store;
:data:`StructureIn` is a pymatgen ``Structure`` field that also accepts the structure's
dict, as a document read back from a store holds it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pymatgen.core import Structure

from ionflow.schemas.finite import find_nonfinite

__all__ = ["StoredDoc", "StructureIn", "as_structure"]


def as_structure(value: Any) -> Any:
    """Return a ``Structure`` for a structure's dict; any other value unchanged."""
    if isinstance(value, dict):
        return Structure.from_dict(value)
    return value


#: A ``Structure`` field that also takes the structure's dict (documents read back).
StructureIn = Annotated[Structure, BeforeValidator(as_structure)]


class StoredDoc(BaseModel):
    """Base of a stored document: unknown keys are errors, every float is finite."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @model_validator(mode="after")
    def _all_finite(self) -> StoredDoc:
        for name in type(self).model_fields:
            bad = find_nonfinite(getattr(self, name), name)
            if bad:
                raise ValueError(f"{bad} is not finite; NaN/inf are never stored")
        return self
