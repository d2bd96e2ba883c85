"""The feature store (Feast): registry snapshot, lineage to datasets, runs and models, definitions,
validation, and the production sourcing policy. Importing this package imports no Feast."""

from expenv.services.features.service import FeatureService

__all__ = ["FeatureService"]
