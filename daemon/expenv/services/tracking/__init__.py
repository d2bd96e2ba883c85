"""Experiment tracking: one MLflow for notebook, local and remote runs."""

from expenv.services.tracking.service import TrackingService

__all__ = ["TrackingService"]
