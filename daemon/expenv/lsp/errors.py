"""User errors become JSON-RPC errors with a clean message (no traceback, no secrets)."""

from __future__ import annotations

import functools

from pygls.exceptions import JsonRpcException

from expenv.domain.errors import ExpenvError
from expenv.domain.secrets import redact


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request was valid but the server could not do it."""

    CODE = -32803


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
    return args[0] if args and isinstance(args[0], dict) else {}
