"""Training: record and withdraw who is trained on a unit (its facility's managers do this)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import access, dates
from app.accounts.models import Training, User
from app.booking import audit
from app.booking.conflicts import chosen_unit
from app.database import write_transaction
from app.errors import NotFound, ValidationError
from app.extensions import db

if TYPE_CHECKING:
    pass


def _trainee(email: Any) -> User:
    email = (email or "").strip().lower() if isinstance(email, str) else ""
    if not email:
        raise ValidationError(_("Give the person's e-mail address."), field="user")
    person = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if person is None:
        raise ValidationError(_("There is no account with this e-mail address."), field="user")
    return person


def record_training(
    user: User, *, equipment_id: int, email: str, trained_on: date | None = None
) -> Training:
    """Record that a person is trained on a unit (a manager of its facility does this)."""
    write_transaction()
    unit = chosen_unit(equipment_id)
    access.require_manager(user, unit.facility_id)
    person = _trainee(email)
    today = dates.today_in(unit.facility.timezone)
    if trained_on is None:
        trained_on = today
    if not isinstance(trained_on, date) or trained_on > today:
        raise ValidationError(_("The training date cannot be in the future."), field="trained_on")
    dates.check(trained_on, "trained_on")
    training = db.session.get(Training, (person.id, unit.id))
    if training is None:
        training = Training(user_id=person.id, equipment_id=unit.id, trained_on=trained_on)
        db.session.add(training)
    training.trained_on = trained_on
    training.recorded_by_id = user.id
    audit.record(
        user,
        "training.record",
        "training",
        unit.id,
        facility_id=unit.facility_id,
        equipment=unit.slug,
        user=person.email,
        trained_on=trained_on,
    )
    db.session.commit()
    return training


def remove_training(user: User, *, equipment_id: int, email: str) -> None:
    """Withdraw a person's training on a unit."""
    write_transaction()
    unit = chosen_unit(equipment_id)
    access.require_manager(user, unit.facility_id)
    person = _trainee(email)
    training = db.session.get(Training, (person.id, unit.id))
    if training is None:
        raise NotFound(_("This person has no training recorded on this unit."))
    db.session.delete(training)
    audit.record(
        user,
        "training.remove",
        "training",
        unit.id,
        facility_id=unit.facility_id,
        equipment=unit.slug,
        user=person.email,
    )
    db.session.commit()
