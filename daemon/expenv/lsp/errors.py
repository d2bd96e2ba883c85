"""User errors become JSON-RPC errors with a clean message (no traceback, no secrets)."""

from __future__ import annotations

import functools

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from expenv.domain.errors import ExpenvError
from expenv.domain.secrets import redact


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request was valid but the server could not do it."""

    CODE = -32803


class InvalidArgument(JsonRpcInvalidParams):
    """A command argument is missing or has the wrong type: InvalidParams (-32602) naming the
    field, in the message and as `data.field`, so the client knows what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message=message, data={"field": field})


def user_errors(handler):
    @functools.wraps(handler)
    async def wrapper(*args, **kwargs):
        try:
            return await handler(*args, **kwargs)
        except ExpenvError as exc:
            raise RequestFailed(message=redact(str(exc))) from None

    return wrapper


def command_options(args: tuple) -> dict:
    """The one JSON object an `expenv.*` command takes ({} when run without arguments)."""
    if not args:
        return {}
    if not isinstance(args[0], dict):
        raise InvalidArgument("arguments", "arguments: pass one JSON object, [{...}]")
    return args[0]


def text_option(options: dict, key: str, *, example: str | None = None, required: bool = False,
                default: str | None = None) -> str | None:
    """A string option of a command: absent → `default`, or InvalidParams naming it when `required`;
    present → a non-empty string, or InvalidParams naming it with an example of the right form."""
    shown = f'{{"{key}": "{example or f"<{key}>"}"}}'
    value = options.get(key)
    if value is None:
        if required:
            raise InvalidArgument(key, f"{key} is missing: pass {shown}")
        return default
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(key, f"{key} must be a non-empty string: {shown}")
    return value
