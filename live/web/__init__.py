"""HTTP and WebSocket endpoints."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class _BoundedInt(Convertor[int]):
    """``{x:int}`` in every route takes at most 9 digits: a longer number is no row of
    ours, and would overflow the database's integer (an HTTP 500) if it got that far."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


# Registered when live.web is first imported, before any route module builds its routes.
register_url_convertor("int", _BoundedInt())
