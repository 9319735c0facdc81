"""The application's error hierarchy; services raise these, one handler renders them."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l


class AppError(Exception):
    """Base class of errors a user can be shown."""

    status = 400
    title: Any = _l("Bad request")

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """Return an RFC 9457 problem body."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": str(self.title),
            "status": self.status,
            "detail": self.detail,
        }
        if self.field:
            body["field"] = self.field
        body.update(self.extra)
        return body


class ValidationError(AppError):
    status = 422
    title: Any = _l("Invalid input")

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
    title: Any = _l("Bad request")


class Unauthorized(AppError):
    status = 401
    title: Any = _l("Authentication required")


class Forbidden(AppError):
    status = 403
    title: Any = _l("Forbidden")


class NotFound(AppError):
    status = 404
    title: Any = _l("Not found")


class Conflict(AppError):
    status = 409
    title: Any = _l("Conflict")


class ServiceUnavailable(AppError):
    status = 503
    title: Any = _l("Service unavailable")
