"""Feast, imported for reading in the daemon's (or the CLI's) own process.

Feast decorates its classes with typeguard's `@typechecked`, which re-parses and recompiles each
decorated class from its source when Feast is imported: 9 of the 11.6 s an `import feast` took on
a 2-core machine, during which a worker thread of the daemon held the GIL in long stretches. Here
Feast only reads what `feast apply` wrote (the registry and feature_store.yaml), objects that Feast
itself built and checked; every command that runs the user's repository code (`feast plan`,
`feast apply`, a notebook or a pipeline step) runs in its own process, with typeguard's checks as
Feast ships them. typeguard's only user in expenv's environment is Feast."""

from __future__ import annotations

import sys


def _unchecked(target=None, **_options):
    return target if target is not None else _unchecked


def without_typechecks() -> None:
    """Make typeguard's `@typechecked` leave its target as it is, for the Feast modules imported
    from now on in this process. Call it before the first `import feast`: once Feast is imported,
    its classes are instrumented already and this changes nothing."""
    if "feast" in sys.modules:
        return
    try:
        import typeguard
    except ImportError:   # a Feast without typeguard: nothing to skip
        return
    typeguard.typechecked = _unchecked
