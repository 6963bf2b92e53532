"""The one error shape of the domain: a Chinese ``message`` fit to show a user as is,
and a stable ``code`` that clients and tests can match on."""

from __future__ import annotations


class DomainError(ValueError):
    default_code = "invalid"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
