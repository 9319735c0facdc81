"""Administrators' operations on accounts and roles; each checks the actor and commits."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.access import require_admin
from app.accounts import services as account_services
from app.accounts.models import BrokerAssignment, Project, ProjectMembership, User
from app.catalog.models import Centre, Facility
from app.database import write_transaction
from app.errors import Conflict, ValidationError
from app.extensions import db

ROLES = ("member", "lead")


def user_by_email(email: str, *, field: str = "email") -> User:
    """Return the account with this email or raise a ValidationError naming the field."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise ValidationError(_("No account for %(email)s.", email=email.strip()), field=field)
    return user


def create_account(actor: User, *, email: str, name: str, password: str, is_admin: bool) -> User:
    """Create an account (administrators only)."""
    require_admin(actor)
    return account_services.create_user(email, name, password, is_admin=is_admin)


def set_admin(actor: User, user_id: int, is_admin: bool) -> User:
    """Grant or revoke administration; nobody can revoke their own, so one always remains."""
    require_admin(actor)
    write_transaction()
    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationError(_("No such account."), field="user_id")
    if user.id == actor.id and not is_admin:
        raise Conflict(_("You cannot revoke your own administration."), field="user_id")
    user.is_admin = is_admin
    db.session.commit()
    return user


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Enable or disable an account; disabling ends its sessions and revokes its API tokens.

    Nobody can disable their own account, so an administrator always remains."""
    require_admin(actor)
    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationError(_("No such account."), field="user_id")
    if user.id == actor.id and not active:
        raise Conflict(_("You cannot disable your own account."), field="user_id")
    account_services.set_active(user, active)
    return user


def create_project(actor: User, *, name: str, origin: str = "") -> Project:
    """Create a project (a startup team) with a unique name."""
    require_admin(actor)
    write_transaction()
    name = name.strip()
    if not name:
        raise ValidationError(_("Name the project."), field="name")
    # The database's lower() may fold fewer letters than Python's (SQLite: ASCII only), so the
    # exact name is compared as well: the unique index would refuse it with a 500.
    same = or_(Project.name == name, func.lower(Project.name) == name.lower())
    if db.session.scalar(select(Project).where(same)):
        raise ValidationError(
            _("A project named %(name)s exists already.", name=name), field="name"
        )
    project = Project(name=name, origin=origin.strip())
    db.session.add(project)
    db.session.commit()
    return project


def add_member(actor: User, *, email: str, project_id: int, role: str = "member") -> User:
    """Make the account a member of the project."""
    require_admin(actor)
    write_transaction()
    if role not in ROLES:
        raise ValidationError(_("Choose a role."), field="role")
    user = user_by_email(email)
    project = db.session.get(Project, project_id)
    if project is None:
        raise ValidationError(_("Choose a project."), field="project_id")
    membership = db.session.get(ProjectMembership, (user.id, project.id))
    if membership is None:
        db.session.add(ProjectMembership(user_id=user.id, project_id=project.id, role=role))
    else:
        membership.role = role
    db.session.commit()
    return user


def remove_member(actor: User, *, user_id: int, project_id: int) -> None:
    """End a membership."""
    require_admin(actor)
    write_transaction()
    membership = db.session.get(ProjectMembership, (user_id, project_id))
    if membership is not None:
        db.session.delete(membership)
        db.session.commit()


def make_manager(actor: User, *, email: str, facility_id: int) -> User:
    """Make the account a manager of the facility."""
    require_admin(actor)
    write_transaction()
    user = user_by_email(email)
    facility = db.session.get(Facility, facility_id)
    if facility is None:
        raise ValidationError(_("Choose a facility."), field="facility_id")
    if facility not in user.managed_facilities:
        user.managed_facilities.append(facility)
    db.session.commit()
    return user


def remove_manager(actor: User, *, user_id: int, facility_id: int) -> None:
    """Stop the account managing the facility."""
    require_admin(actor)
    write_transaction()
    user = db.session.get(User, user_id)
    facility = db.session.get(Facility, facility_id)
    if user is not None and facility is not None and facility in user.managed_facilities:
        user.managed_facilities.remove(facility)
        db.session.commit()


def make_broker(actor: User, *, email: str, centre_id: int | None) -> BrokerAssignment:
    """Make the account a technology broker of a centre, or of every centre (None)."""
    require_admin(actor)
    write_transaction()
    user = user_by_email(email)
    if centre_id is not None and db.session.get(Centre, centre_id) is None:
        raise ValidationError(_("Choose a centre."), field="centre_id")
    for assignment in user.broker_assignments:
        if assignment.centre_id == centre_id:
            return assignment
    assignment = BrokerAssignment(user_id=user.id, centre_id=centre_id)
    db.session.add(assignment)
    db.session.commit()
    return assignment


def remove_broker(actor: User, *, assignment_id: int) -> None:
    """End one broker assignment."""
    require_admin(actor)
    write_transaction()
    assignment = db.session.get(BrokerAssignment, assignment_id)
    if assignment is not None:
        db.session.delete(assignment)
        db.session.commit()
