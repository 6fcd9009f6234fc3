"""The host's event handlers, named in the settings and loaded when the container starts."""

from __future__ import annotations

import importlib

from application.events.delivery import DeliveryPolicy
from application.events.handlers import EventHandlers
from infrastructure.settings import KeelSettings


class HandlerLoadingError(Exception):
    """`KEEL_EVENT_HANDLERS` names a module or function that cannot be used."""


def load_event_handlers(settings: KeelSettings) -> EventHandlers:
    """The registry, filled by the function `KEEL_EVENT_HANDLERS` names, if it names one."""
    handlers = EventHandlers()
    if settings.event_handlers is None:
        return handlers
    module_name, _, function_name = settings.event_handlers.partition(":")
    try:
        register = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as error:
        raise HandlerLoadingError(
            f"KEEL_EVENT_HANDLERS={settings.event_handlers} cannot be loaded: {error}"
        ) from error
    register(handlers)
    return handlers


def delivery_policy(settings: KeelSettings) -> DeliveryPolicy:
    return DeliveryPolicy(
        max_attempts=settings.outbox_max_attempts,
        first_retry_seconds=settings.outbox_first_retry_seconds,
        max_retry_seconds=settings.outbox_max_retry_seconds,
        lease_seconds=settings.outbox_lease_seconds,
    )
