"""Who may do what. Services check the actor's role themselves, so no UI path can bypass it."""

from dataclasses import dataclass

from models.common import Role

WRITE_ROLES = (Role.admin, Role.analyst)


class PermissionDenied(Exception):
    """The actor's role does not allow the action."""


class ValidationError(ValueError):
    """Input that breaks a business rule; the message is meant for the user."""


@dataclass(frozen=True)
class Actor:
    """The person (or system job) doing an action, as recorded in the audit log."""

    username: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin


SYSTEM = Actor(username="system", role=Role.admin)


def require(actor: Actor, *roles: str) -> None:
    """Raise PermissionDenied unless the actor holds one of the roles."""
    if actor.role not in roles:
        raise PermissionDenied(f"{actor.username} ({actor.role}) may not do this; needs {' or '.join(roles)}.")


def require_write(actor: Actor) -> None:
    require(actor, *WRITE_ROLES)


def require_admin(actor: Actor) -> None:
    require(actor, Role.admin)
