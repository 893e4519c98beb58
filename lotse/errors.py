"""Errors of our own, what they look like in the API, and which requests are the API's.

Their one mapping to HTTP is lotse/error_handlers.py: JSON for the API, a page for people.
"""

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from lotse.i18n import N_, gettext


class LotseError(Exception):
    """A domain error with a message for the user (marked for translation)."""

    status_code = 400
    code = "bad_request"
    message = N_("The request could not be processed.")

    def __init__(self, message: str | None = None, **variables: Any) -> None:
        self.message = message or self.message
        self.variables = variables
        super().__init__(self.message % variables if variables else self.message)

    def translated(self) -> str:
        return gettext(self.message, **self.variables)


class NotFound(LotseError):
    status_code = 404
    code = "not_found"
    message = N_("This page does not exist or is no longer available.")


class Conflict(LotseError):
    status_code = 409
    code = "conflict"


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="The parameter or body field, e.g. per_page")
    location: str = Field(description="Where the field is, e.g. query.per_page or body.note")
    message: str = Field(description="What is wrong, in the user's language")


class ErrorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="Stable machine-readable code, e.g. not_found, invalid_request")
    message: str = Field(description="What went wrong, in the user's language")
    details: list[ErrorDetail] = Field(
        default_factory=list, description="One entry per invalid field (invalid_request only)"
    )


class ErrorBody(BaseModel):
    """The body of every error answer of the JSON API."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorInfo


_ERROR_DESCRIPTIONS = {
    400: "Each value is valid, but not together (the message says why), or the body is not JSON",
    401: "No valid access token or session (or the public directory is switched off)",
    403: "Your role may not do this, or a cookie session sent no CSRF token",
    404: "No such record, or none you may see",
    409: "The record is not in a state that allows this, or changed since you read it",
    422: "A parameter or body field is invalid, or the request breaks a rule of the domain",
}


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the structured errors a route can answer."""
    return {
        code: {"model": ErrorBody, "description": _ERROR_DESCRIPTIONS[code]}
        for code in status_codes
    }


def is_api_request(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/hsds/")) or path == "/healthz"


_VALIDATION_MESSAGES = {
    "uuid_parsing": N_("is not a valid ID"),
    "uuid_type": N_("is not a valid ID"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "bool_parsing": N_("must be yes or no (true/false)"),
    "greater_than_equal": N_("must be at least %(limit)s"),
    "greater_than": N_("must be greater than %(limit)s"),
    "less_than_equal": N_("must be at most %(limit)s"),
    "less_than": N_("must be less than %(limit)s"),
    "missing": N_("is required"),
    "string_too_long": N_("is too long (at most %(limit)s characters)"),
    "string_too_short": N_("is too short (at least %(limit)s characters)"),
    "enum": N_("must be one of: %(expected)s"),
    "literal_error": N_("must be one of: %(expected)s"),
    "string_pattern_mismatch": N_("has an invalid format"),
    "time_parsing": N_("must be a time like 14:30"),
    "date_parsing": N_("must be a date like 2026-03-31"),
}


def describe_validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each problem as a field name and a sentence in the user's language."""
    problems = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        field = location[-1] if location else ""
        context = error.get("ctx") or {}
        template = _VALIDATION_MESSAGES.get(error.get("type", ""), N_("has an invalid value"))
        variables = {
            "limit": context.get(
                "ge",
                context.get(
                    "gt",
                    context.get(
                        "le",
                        context.get("lt", context.get("max_length", context.get("min_length", ""))),
                    ),
                ),
            ),
            "expected": context.get("expected", ""),
        }
        problems.append(
            {
                "field": field,
                "location": ".".join(location),
                "message": gettext(template, **variables)
                if "%(" in template
                else gettext(template),
            }
        )
    return problems
