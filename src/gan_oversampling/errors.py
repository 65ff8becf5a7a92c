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
        if problem["type"] == "extra_forbidden":
            message = "unknown field"
        if show_input and problem["type"] != "extra_forbidden":
            where = f"{where}={problem.get('input')!r}"
        messages.append(f"{where or root}: {message}")
    return "; ".join(messages)
