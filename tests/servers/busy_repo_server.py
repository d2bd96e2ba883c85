"""The real daemon whose feature-repo check (run in a worker thread once the client is initialized)
never ends: what a Feast import on a loaded machine or a hung network file system looks like."""

from __future__ import annotations

import logging
import threading

from expenv.lsp import serve
from expenv.services.features.service import FeatureService


def validate(self, *args, **kwargs):
    logging.getLogger("expenv.tests").warning("feature repo check started and will not end")
    threading.Event().wait()


if __name__ == "__main__":
    FeatureService.validate = validate
    serve.serve_stdio("DEBUG")
