"""The tracking service: which MLflow everything logs to, and whether it answers."""

from __future__ import annotations

from expenv.domain.config import ExpenvConfig
from expenv.domain.secrets import redact
from expenv.domain.status import PartStatus
from expenv.services.tracking.embedded import EmbeddedMlflow, healthy


class TrackingService:
    def __init__(self, config: ExpenvConfig):
        self.config = config
        self.embedded = EmbeddedMlflow(config.state_dir)

    def uri(self) -> str | None:
        """The configured URI, else the running embedded server's, else None."""
        if self.config.tracking.uri:
            return self.config.tracking.uri
        server = self.embedded.running()
        return server.uri if server else None

    def probe(self) -> PartStatus:
        configured = self.config.tracking.uri
        if configured:
            shown = redact(configured)
            if not configured.startswith(("http://", "https://")):
                return PartStatus("mlflow", True, f"tracking URI {shown} (not a server; nothing to probe)")
            if healthy(configured):
                return PartStatus("mlflow", True, f"MLflow at {shown} answers")
            return PartStatus("mlflow", False, f"MLflow at {shown} does not answer",
                              f"start the server or fix [tracking] uri in {self.config.root / 'expenv.toml'}")
        server = self.embedded.running()
        if server:
            return PartStatus("mlflow", True, f"embedded MLflow at {server.uri} (store {server.store})")
        return PartStatus("mlflow", False, "embedded MLflow server is not running",
                          f"run `expenv up` in {self.config.root}")
