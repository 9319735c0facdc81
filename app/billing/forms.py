"""The spending-cap form; app.billing.caps checks every value and who may."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields import MonthField
from wtforms.validators import Optional


class CapForm(FlaskForm):
    """A project's spending cap: an amount in yuan, and a month or a from–to period."""

    project_id = SelectField(_l("Project"), coerce=int, choices=[])
    amount_yuan = StringField(_l("Spending cap (yuan)"))
    month = MonthField(_l("Month"), validators=[Optional()])
    period_start = DateField(_l("Or from"), validators=[Optional()])
    period_end = DateField(_l("to (inclusive)"), validators=[Optional()])
    note = StringField(_l("Note (optional)"))
