"""Domain errors; each surface maps them once (HTTP status, chat reply, CLI exit code)."""


class DomainError(Exception):
    """Base of the errors a user can act on; the message is safe to show."""


class NotFound(DomainError):
    """The thing named does not exist (in this workspace)."""


class Invalid(DomainError):
    """The input breaks a rule; the message says which."""


class Conflict(DomainError):
    """The change collides with existing data."""


class OptedOut(Conflict):
    """The person asked not to be written to on that channel (an opt-out word)."""


class Taken(Conflict):
    """A unique field (email, phone) already belongs to another contact, `owner`."""

    def __init__(self, message: str, *, field: str, value: str, owner: int) -> None:
        super().__init__(message)
        self.field, self.value, self.owner = field, value, owner


class Forbidden(DomainError):
    """The caller's role does not allow this."""
