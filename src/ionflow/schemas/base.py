"""The base of ionflow's stored result documents.

:class:`StoredDoc` refuses unknown keys and any NaN/inf float (nested lists and dicts
included; nested documents check themselves), so nothing non-finite reaches a store;
:data:`StructureIn` is a pymatgen ``Structure`` field that also accepts the structure's
dict, as a document read back from a store holds it. :data:`ThermostatK`,
:data:`MdTemperatureK` and :data:`TimeStepFs` are the MD fields several documents
carry (declared once here).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pymatgen.core import Structure

from ionflow.schemas.finite import find_nonfinite

__all__ = [
    "MdTemperatureK",
    "NotDeterminedReason",
    "StoredDoc",
    "StructureIn",
    "ThermostatK",
    "TimeStepFs",
    "as_structure",
]


def as_structure(value: Any) -> Any:
    """Return a ``Structure`` for a structure's dict; any other value unchanged."""
    if isinstance(value, dict):
        return Structure.from_dict(value)
    return value


#: A ``Structure`` field that also takes the structure's dict (documents read back).
StructureIn = Annotated[Structure, BeforeValidator(as_structure)]

#: the temperature an MD segment or run is thermostatted at (a setting)
ThermostatK = Annotated[float, Field(gt=0, description="Thermostat temperature (K).")]
#: the temperature of the MD run a result was analysed from
MdTemperatureK = Annotated[float, Field(gt=0, description="MD temperature (K).")]
#: the MD integration time step (a setting; not the time between stored frames)
TimeStepFs = Annotated[float, Field(gt=0, description="Integration time step (fs).")]
#: why a computed value is not a result (None when it is); the value stays in a raw_* field
NotDeterminedReason = Annotated[
    str | None, Field(description="Why the value is not determined (None when it is).")
]


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
