"""The usage correction form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.usage.services import MAX_REASON

DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class CorrectionForm(FlaskForm):
    checked_in_at = DateTimeLocalField(
        _l("Checked in at"), format=DATETIME_LOCAL, validators=[DataRequired()]
    )
    checked_out_at = DateTimeLocalField(
        _l("Checked out at"), format=DATETIME_LOCAL, validators=[DataRequired()]
    )
    reason = TextAreaField(
        _l("Reason for the correction"), validators=[DataRequired(), Length(max=MAX_REASON)]
    )
