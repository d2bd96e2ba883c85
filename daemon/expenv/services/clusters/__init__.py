"""Compute clusters (Dask, Spark Connect, Ray) on local processes, Docker or Kubernetes."""

from expenv.services.clusters.service import ClusterService

__all__ = ["ClusterService"]
