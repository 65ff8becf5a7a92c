"""The base of every settings model of a study file: unknown fields, NaN, infinity and
booleans where a number belongs are refused, each with a message naming the field."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from gan_oversampling.errors import refuse_booleans_in


class StrictModel(BaseModel):
    # NaN and infinity are refused as numbers ("must be a finite number"), not compared.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, raw):
        return refuse_booleans_in(cls, raw)
