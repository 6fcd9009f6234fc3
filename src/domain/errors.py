"""Errors the domain raises when a rule refuses a change."""


class DomainError(Exception):
    """Base of every refusal by a domain rule; its message is fit to show a user."""


class InvalidValue(DomainError, ValueError):
    """A value breaks the rules of its type (a malformed email, an empty name, ...)."""


class InvalidAmount(InvalidValue):
    """An amount of credits is not a positive, finite, exact number within bounds."""


class NotFound(DomainError):
    """The thing asked for does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} was not found")
        self.kind = kind
        self.key = key


class Conflict(DomainError):
    """The change contradicts what is already stored (a duplicate, a second wallet, ...)."""


class ConcurrencyConflict(Conflict):
    """Another unit changed the same aggregate first; the stale change was refused."""


class InsufficientFunds(DomainError):
    """A wallet holds fewer credits than the movement asks for."""


class InvalidTransfer(DomainError):
    """A transfer that no balance could make valid, such as one from a wallet to itself."""


class InactiveUser(DomainError):
    """The user is deactivated and may not take part in new business."""


class IllegalTransition(DomainError):
    """The task's status, or its deletion, does not allow what was asked."""


class DependencyNotDone(DomainError):
    """A task cannot be done while one of the tasks it depends on is not done."""


class DependencyCycle(DomainError):
    """The dependency would make a task depend, directly or not, on itself."""


class UnbalancedEntry(DomainError):
    """A ledger entry whose postings do not sum to zero; the books would not balance."""


class NotPermitted(DomainError):
    """The acting user's role on this record does not allow the change."""
