"""The real daemon whose feature-store policy check (one diagnostics provider) always raises."""

from __future__ import annotations

from expenv.lsp import serve
from expenv.services.features.service import FeatureService


def check_document(self, *args, **kwargs):
    raise RuntimeError("the policy provider breaks")


if __name__ == "__main__":
    FeatureService.check_document = check_document
    serve.serve_stdio("DEBUG")
