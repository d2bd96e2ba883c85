"""The tracking service: which MLflow everything logs to, and whether it answers."""

from __future__ import annotations

from functools import cached_property

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

    def require_uri(self) -> str:
        """The URI in use; refuses (rather than losing tracking) when no server is there."""
        from expenv.services.tracking.runs import TrackingError

        uri = self.uri()
        if uri is None:
            raise TrackingError(f"no MLflow server: run `expenv up` in {self.config.root} "
                                "or set [tracking] uri in expenv.toml")
        return uri

    @property
    def experiment(self) -> str:
        return self.config.project.name

    def runs(self, branch: str | None = None, pipeline: str | None = None, status: str | None = None,
             experiment: str | None = None, max_results: int = 100):
        from expenv.services.tracking.runs import RunReader

        return RunReader(self.require_uri()).runs(experiment or self.experiment, branch, pipeline, status,
                                                  max_results)

    def run(self, run_id: str):
        from expenv.services.tracking.runs import RunReader

        return RunReader(self.require_uri()).run(run_id)

    def compare(self, run_ids: list[str]):
        from expenv.services.tracking.runs import RunReader

        return RunReader(self.require_uri()).compare(run_ids)

    @cached_property
    def lenses(self):  # -> expenv.services.tracking.lens.RunLenses
        """The run lenses of this workspace's code (their runs are kept a few seconds)."""
        from expenv.services.tracking.lens import RunLenses

        return RunLenses(self, self.config.root)

    def child_env(self, runner: str, *, require_server: bool = True, **tags: str | None) -> dict[str, str]:
        """Environment that sends a kernel, process or container's runs to this workspace's MLflow.
        Without `require_server`, no server up is no error: a process with expenv installed finds
        the server at `import mlflow` (a kernel may outlive this moment by hours)."""
        from expenv.services.tracking.context import child_env, run_tags

        uri = self.require_uri() if require_server else self.uri()
        return child_env(uri, self.experiment, run_tags(self.config.root, runner, **tags))

    def kernel_env(self) -> dict[str, str]:
        """What a notebook kernel expenv starts is told (runner `notebook`)."""
        return self.child_env("notebook", require_server=False)

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
