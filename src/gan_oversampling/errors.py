"""The one exception a user can act on."""


class UserError(Exception):
    """Bad input that the user can fix (a wrong study file, a missing data file, ...).

    The CLI prints its message as a single line and exits with status 2.
    """
