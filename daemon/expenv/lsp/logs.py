"""Logging for the daemon: stderr always, and `window/logMessage` once a client is connected."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading

from lsprotocol import types

from expenv.domain.secrets import RedactingFormatter, RedactingStream

_LEVELS = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
}


class ClientLogHandler(logging.Handler):
    """Forward records to the client. Safe from worker threads; never recurses into itself."""

    def __init__(self, server, loop: asyncio.AbstractEventLoop):
        super().__init__(level=logging.INFO)
        self.setFormatter(RedactingFormatter())
        self.server = server
        self.loop = loop
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False) or record.name.startswith("pygls"):
            return
        kind = next((v for k, v in _LEVELS.items() if record.levelno >= k), types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        try:
            self._busy.on = True
            if self.loop.is_closed():
                return
            self.loop.call_soon_threadsafe(self.server.window_log_message, params)
        except Exception:  # noqa: BLE001 - a log line must never take the daemon down
            pass
        finally:
            self._busy.on = False


_stderr_default = {"level": "INFO"}


def set_stderr_level(level: str | None) -> None:
    """The stderr log's level (None: the one `expenv serve --log-level` gave)."""
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel((level or _stderr_default["level"]).upper())


def configure_stderr_logging(level: str = "INFO") -> None:
    _stderr_default["level"] = level
    # Libraries that log through handlers of their own (MLflow, botocore) write to sys.stderr too.
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)
    root = logging.getLogger()
    for existing in list(root.handlers):  # the CLI's own handler: one line per record, not two
        root.removeHandler(existing)
    root.setLevel(logging.DEBUG)
    handler = logging.StreamHandler()  # stderr: stdout belongs to the protocol
    handler.setLevel(level.upper())
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    # pygls logs whole messages (initializationOptions included) at INFO: keep it quiet.
    logging.getLogger("pygls").setLevel(logging.WARNING)
