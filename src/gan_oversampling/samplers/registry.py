"""Every oversampling method a study can name: one line each.

A new method is one module that defines a `Method` (see `samplers.base`) and one line
here. The study spec, the runner and the report read this registry; none of them knows a
method by name.
"""

from __future__ import annotations

from gan_oversampling.errors import UserError
from gan_oversampling.samplers import cgan, ctgan
from gan_oversampling.samplers.base import Method
from gan_oversampling.samplers.classic import CLASSIC_METHODS, NONE

METHODS: dict[str, Method] = {
    method.name: method for method in (NONE, *CLASSIC_METHODS, cgan.METHOD, ctgan.METHOD)
}
BASELINE = NONE.name


def method_names() -> list[str]:
    return list(METHODS)


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def method_kind(name: str) -> str | None:
    """'baseline', 'classic' or 'generative'; None for a name this version does not know
    (a results database may hold methods of another version)."""
    method = METHODS.get(name)
    return None if method is None else method.kind


def settings_sections() -> dict[str, type]:
    """Method name -> its settings model: the tables a study file may hold."""
    return {name: m.settings_model for name, m in METHODS.items() if m.settings_model}


def names_of_kind(kind: str) -> list[str]:
    return [name for name, method in METHODS.items() if method.kind == kind]


CGAN = cgan.METHOD.name
