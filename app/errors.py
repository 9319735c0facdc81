"""The application's error hierarchy; services raise these, one handler renders them."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base class of errors a user can be shown."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """Return an RFC 9457 problem body."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ValidationError(AppError):
    status = 422
    title = "Invalid input"

    def __init__(
        self, detail: str, *, field: str | None = None, errors: dict[str, str] | None = None
    ) -> None:
        errors = dict(errors or {})
        if field and field not in errors:
            errors[field] = detail
        super().__init__(detail, field=field or next(iter(errors), None), errors=errors)
        self.errors = errors


class BadRequest(AppError):
    status = 400
    title = "Bad request"


class Unauthorized(AppError):
    status = 401
    title = "Authentication required"


class Forbidden(AppError):
    status = 403
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    title = "Not found"


class Conflict(AppError):
    status = 409
    title = "Conflict"


class ServiceUnavailable(AppError):
    status = 503
    title = "Service unavailable"
