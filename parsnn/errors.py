"""Exceptions for user-facing errors."""


class ParameterError(ValueError):
    """Invalid input: the message names the parameter and its allowed range.

    Raised during validation, identically on every rank, before anything is built.
    """
