"""`[clusters.NAME]` sections → `ClusterProfile`s, with the image resolved."""

from __future__ import annotations

import difflib

from expenv.domain.clusters import ClusterError, ClusterProfile
from expenv.domain.config import ExpenvConfig


def cluster_profiles(config: ExpenvConfig) -> dict[str, ClusterProfile]:
    """Every profile of the workspace; the image defaults to [environment] production_image."""
    return {
        name: ClusterProfile(
            name=name, kind=s.kind, backend=s.backend, workers=s.workers, cores=s.cores, memory=s.memory,
            idle_timeout=s.idle_timeout, image=s.image or config.environment.production_image,
            namespace=s.namespace, context=s.context, secrets=tuple(s.secrets), options=dict(s.options),
            api_timeout=s.api_timeout,
        )
        for name, s in config.clusters.items()
    }


def find_profile(config: ExpenvConfig, name: str) -> ClusterProfile:
    profiles = cluster_profiles(config)
    if name in profiles:
        return profiles[name]
    close = difflib.get_close_matches(name, list(profiles), n=1)
    hint = (f"; did you mean {close[0]!r}?" if close
            else f"; profiles in expenv.toml: {', '.join(sorted(profiles))}" if profiles
            else "; expenv.toml declares none (add a [clusters.NAME] table)")
    raise ClusterError(f"profile: no cluster profile {name!r}{hint}")
