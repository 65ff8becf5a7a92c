"""The one exception a user can act on, and the one way a validation error becomes a line."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class UserError(Exception):
    """Bad input that the user can fix (a wrong study file, a missing data file, ...).

    The CLI prints its message as a single line and exits with status 2.
    """


def one_line(
    error: ValidationError,
    *,
    show_input: bool = False,
    hide: Callable[[object], bool] = lambda part: False,
    root: str = "settings",
) -> str:
    """Every problem of a pydantic validation error, as 'field: what is allowed; ...'.

    `hide(part)` drops location parts that mean nothing to a user (the tag of a union
    member); `show_input` writes 'field=value' so the bad value is named too.
    """
    messages = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"] if not hide(part))
        message = problem["msg"].removeprefix("Value error, ")
        shown = problem.get("input")
        if problem["type"] == BOOLEAN_NUMBER:  # raised by the model, about one of its fields
            field = problem["ctx"]["field"]
            where = ".".join(part for part in (where, field) if part)
            shown = shown.get(field) if isinstance(shown, dict) else shown
        if problem["type"] == "extra_forbidden":
            message = "unknown field"
        if problem["type"] == "finite_number":
            message = "must be a finite number, not nan or inf"
        if show_input and problem["type"] != "extra_forbidden":
            where = f"{where}={shown!r}"
        messages.append(f"{where or root}: {message}")
    return "; ".join(messages)


class UnitFault(Exception):
    """One unit of a study cannot be computed (a diverged GAN, a fold that cannot be fitted).

    The runner records the unit as failed, with this message as its reason, and the study
    goes on with its other units.
    """


def refuse_booleans_in(model: type, raw: object) -> object:
    """`raw` (a model's input), unless a field that wants numbers is given true/false.

    pydantic converts true to 1 for an int or float field, so `iterations = true` would
    run one iteration; a field that admits booleans (or no numbers) lets them through.
    """
    if not isinstance(raw, dict):
        return raw
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        value = raw.get(name, raw.get(field.alias) if field.alias else None)
        annotation = field.annotation
        if not _wants_numbers(annotation) or _admits(annotation, bool):
            continue
        if _holds_boolean(value):
            from pydantic_core import PydanticCustomError

            raise PydanticCustomError(BOOLEAN_NUMBER, BOOLEAN_MESSAGE, {"field": name})
    return raw


BOOLEAN_NUMBER = "boolean_for_number"
BOOLEAN_MESSAGE = "must be a number, not true or false"


def _holds_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, dict):
        return any(_holds_boolean(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_boolean(item) for item in value)
    return False


def _wants_numbers(annotation: object) -> bool:
    return _admits(annotation, int) or _admits(annotation, float)


def _admits(annotation: object, kind: type) -> bool:
    from typing import get_args

    if annotation is kind:
        return True
    return any(_admits(arg, kind) for arg in get_args(annotation))
