"""Domain errors. Each message tells the user what went wrong and what to do about it."""

from __future__ import annotations


class AssetMapError(Exception):
    """Base class: anything the CLI prints as one line and the web answers as 4xx."""

    status_code = 400
    exit_code = 1  # the CLI's: 2 is for something the person running it can put right


class ConfigError(AssetMapError):
    """The service cannot start as configured (database URL, SpatiaLite, secrets)."""

    status_code = 500


class MissingProgram(ConfigError):
    """A program AssetMap runs (tilemaker) is not installed: the message says how to install
    it. Exit 2 like bad input, since the person typing the command is the one to fix it."""

    exit_code = 2


class ValidationError(AssetMapError, ValueError):
    """Input that cannot be accepted; `field` names the offending parameter or column.

    Also a ValueError, which is what a bad value is: code that parses with the standard
    library and code that parses with ours fail the same way."""

    exit_code = 2

    def __init__(self, field: str, message: str, *, allowed: list[str] | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.allowed = allowed

    def to_dict(self) -> dict:
        body: dict = {"error": "invalid", "field": self.field, "message": self.message}
        if self.allowed is not None:
            body["allowed"] = self.allowed
        return body


class ValidationErrors(ValidationError):
    """Several fields wrong at once (a form reports them all in one go); the first one is
    the `field`/`message` of the ValidationError it also is."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(field, message)
        self.errors = dict(errors)


class NotFound(AssetMapError):
    status_code = 404


class Conflict(AssetMapError):
    status_code = 409


class GeocodeError(ValidationError):
    """A postcode or place that is malformed or not in the offline tables."""


class ScheduleError(ValidationError):
    """A schedule that cannot be understood; the message says what was expected."""

    def __init__(self, message: str, *, field: str = "schedule") -> None:
        super().__init__(field, message)
