"""Need forms: the shapes only (a date, a number); the needs service checks the rules."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.booking.forms import HoursField, SupportedDate
from app.needs.models import DeclineReason
from app.needs.services import (
    MAX_BUDGET_FEN,
    MAX_COMMENT,
    MAX_MATERIAL,
    MAX_QUANTITY,
    MAX_TEXT,
    MAX_TITLE,
    NeedInput,
)

DECLINE_LABELS = {
    DeclineReason.NO_CAPABILITY.value: _l("No centre has the capability"),
    DeclineReason.NO_FREE_TIME.value: _l("No free time on the units that could do it"),
    DeclineReason.OUT_OF_SCOPE.value: _l("Not something the centres do"),
    DeclineReason.WITHDRAWN.value: _l("No longer needed"),
    DeclineReason.OTHER.value: _l("Another reason (say which)"),
}


class NeedForm(FlaskForm):
    project_id = SelectField(_l("Project"), coerce=int, choices=[])
    title = StringField(
        _l("In one line: what do you want to find out or make?"),
        validators=[DataRequired(), Length(max=MAX_TITLE)],
    )
    text = TextAreaField(
        _l("Describe the need in your own words"),
        validators=[DataRequired(), Length(max=MAX_TEXT)],
    )
    material = TextAreaField(
        _l("Material or samples (what, how many, how big)"),
        validators=[Length(max=MAX_MATERIAL)],
    )
    quantity = StringField(_l("Quantity"), validators=[Length(max=MAX_QUANTITY)])
    wanted_by = DateField(_l("Wanted by"), validators=[Optional(), SupportedDate()])
    # Yuan with fen, as people write it; stored as whole fen.
    budget_yuan = HoursField(
        _l("Budget (yuan)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=Decimal(MAX_BUDGET_FEN) / 100)],
    )
    city = SelectField(_l("Preferred city"), choices=[], validate_choice=True)
    centre_id = SelectField(_l("Centre to help you"), coerce=int, choices=[])

    def to_input(self) -> NeedInput:
        """Return the service's NeedInput for the form."""
        budget = self.budget_yuan.data
        return NeedInput(
            title=self.title.data or "",
            text=self.text.data or "",
            material=self.material.data or "",
            quantity=self.quantity.data or "",
            wanted_by=self.wanted_by.data,
            budget_fen=None if budget is None else int((budget * 100).to_integral_value()),
            city=self.city.data or "",
            centre_id=self.centre_id.data or None,
        )


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=MAX_COMMENT)])


class MoveForm(FlaskForm):
    state = SelectField(_l("Move to"), choices=[], validate_choice=False)
    reason = SelectField(_l("Why declined"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Length(max=MAX_COMMENT)])


class BrokerForm(FlaskForm):
    email = StringField(_l("Account email"), validators=[DataRequired(), Length(max=200)])
    centre_id = SelectField(_l("Centre"), coerce=int, choices=[])


NEED_FIELD_RENAMES = {"budget_fen": "budget_yuan"}
