"""Keel over HTTP: `create_app(container)` builds the FastAPI app that `keel serve` runs."""

from entrypoints.http.app import create_app

__all__ = ["create_app"]
