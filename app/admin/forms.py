"""Administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length


class AccountForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=200)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Initial password"), validators=[DataRequired()])
    is_admin = BooleanField(_l("Administrator"))


class ProjectForm(FlaskForm):
    name = StringField(_l("Project name"), validators=[DataRequired(), Length(max=200)])
    origin = StringField(_l("Origin (university, institute)"), validators=[Length(max=200)])


class MemberForm(FlaskForm):
    email = EmailField(_l("Account email"), validators=[DataRequired(), Length(max=200)])
    project_id = SelectField(_l("Project"), coerce=int, choices=[])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("member", _l("member")), SelectChoice("lead", _l("lead"))],
    )


class ManagerForm(FlaskForm):
    email = EmailField(_l("Account email"), validators=[DataRequired(), Length(max=200)])
    facility_id = SelectField(_l("Facility"), coerce=int, choices=[])
