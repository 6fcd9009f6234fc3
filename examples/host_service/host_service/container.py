"""The host's container: its own settings and engine, with Keel's container nested inside."""

from __future__ import annotations

from dependency_injector import containers, providers

from entrypoints.container import Container
from infrastructure.database.engine import create_engine
from infrastructure.settings import KeelSettings


class HostContainer(containers.DeclarativeContainer):
    """What the host wires. Keel's providers are reached as `host.keel.<provider>`."""

    settings = providers.Singleton(KeelSettings)
    # Built with Keel's `create_engine`, so SQLite keeps Keel's transaction control.
    engine = providers.Singleton(create_engine, settings)
    keel = providers.Container(Container, settings=settings)


def build_host_container(settings: KeelSettings | None = None) -> HostContainer:
    host = HostContainer()
    if settings is not None:
        host.settings.override(providers.Object(settings))
    # One engine, one pool: Keel works on the host's engine and leaves disposing of it to it.
    host.keel.engine.override(host.engine)
    return host
