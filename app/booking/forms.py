"""Booking forms: requests and campaigns, manual bookings, maintenance, trainings, releases.

The forms check shapes (a number, a date); the booking services check the rules and their
errors are put back beside the fields they name (`apply_service_errors`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)
from wtforms.validators import ValidationError as FieldError

from app import dates
from app.booking.bookings import OVERRIDE_REASON_LENGTH
from app.booking.maintenance import MAX_MAINTENANCE_REASON
from app.booking.requests import (
    LONG_GAP_MESSAGE,
    MAX_LAG_MINUTES,
    MAX_STEP_MINUTES,
    MAX_STEPS,
    MIN_STEP_MINUTES,
    STEP_DURATION_MESSAGE,
    StepInput,
    check_step_count,
)
from app.errors import ValidationError

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
MIN_STEP_HOURS = Decimal(MIN_STEP_MINUTES) / 60
MAX_STEP_HOURS = Decimal(MAX_STEP_MINUTES) / 60
MAX_GAP_HOURS = Decimal(MAX_LAG_MINUTES) / 60


class SupportedDate:
    """Refuse a date (or date and time) outside the supported range, beside the field."""

    def __call__(self, form: Form, field: Any) -> None:
        if field.data is not None and not dates.supported(field.data):
            raise StopValidation(dates.range_message())


class HoursField(DecimalField):
    """A number of hours: a finite decimal, never NaN or an infinity.

    Decimal reads "NaN", "sNaN" and "Infinity"; comparing a NaN raises, and an infinity turns
    into no whole number of minutes."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(_l("Give a number of hours."))


def _minutes(hours: Decimal | None) -> int | None:
    return None if hours is None else int((hours * 60).to_integral_value())


class StepForm(Form):
    """One step: a capability (any unit that has it) or a choice of specific units."""

    capability = SelectField(_l("Capability"), choices=[], validate_choice=False)
    unit_ids = SelectMultipleField(_l("Or specific units"), coerce=int, choices=[])
    duration_hours = HoursField(
        _l("Duration (hours)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=MIN_STEP_HOURS, max=MAX_STEP_HOURS, message=STEP_DURATION_MESSAGE),
        ],
    )
    min_gap_hours = HoursField(
        _l("Minimum gap after the previous step (hours)"),
        places=2,
        default=Decimal(0),
        validators=[
            Optional(),
            NumberRange(min=0),
            NumberRange(max=MAX_GAP_HOURS, message=LONG_GAP_MESSAGE),
        ],
    )
    max_gap_hours = HoursField(
        _l("Maximum gap after the previous step (hours)"),
        places=2,
        validators=[
            Optional(),
            NumberRange(min=0),
            NumberRange(max=MAX_GAP_HOURS, message=LONG_GAP_MESSAGE),
        ],
    )
    attended = BooleanField(
        _l(
            "Attended (needs staff: only in the facility's opening hours, or the unit's own "
            "staffed hours, outside closures)"
        ),
        default=True,
    )
    note = StringField(_l("Note"), validators=[Length(max=300)])

    def is_blank(self) -> bool:
        """Tell whether the row was left empty (the spare row of the campaign builder)."""
        return (
            not self.capability.data
            and not self.unit_ids.data
            and self.duration_hours.data is None
            and not (self.note.data or "").strip()
        )

    def to_input(self, facility_id: int | None) -> StepInput:
        """Return the service's StepInput for this row."""
        return StepInput(
            duration_minutes=_minutes(self.duration_hours.data) or 0,
            capability=self.capability.data or None,
            unit_ids=list(self.unit_ids.data or []),
            facility_id=facility_id,
            attended=bool(self.attended.data),
            min_lag_minutes=_minutes(_data(self, "min_gap_hours")) or 0,
            max_lag_minutes=_minutes(_data(self, "max_gap_hours")),
            note=(self.note.data or "").strip(),
        )


def _data(form: Form, name: str) -> Any:
    field = form._fields.get(name)
    return None if field is None else field.data


class SingleStepForm(StepForm):
    """The one step of a plain request: no previous step, so no gaps."""

    min_gap_hours = None
    max_gap_hours = None


class StepRows(FieldList):
    """The step rows of a request form: at most MAX_STEPS steps and the builder's spare row.

    Rows beyond those are never built (thousands of rows would hold a worker for a minute);
    a form that sent more is refused with the service's own message."""

    sent_rows = 0

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        self.sent_rows = len(set(self._extract_indices(self.name, formdata))) if formdata else 0
        super().process(formdata, data, extra_filters)

    def too_many(self) -> str | None:
        """Return the message when more rows were sent than a request may have, else None."""
        try:
            # The spare row of the campaign builder is sent blank with the steps.
            check_step_count(self.sent_rows - 1)
        except ValidationError as error:
            return error.detail
        return None


class RequestForm(FlaskForm):
    """A campaign: several ordered steps on units of one facility."""

    project_id = SelectField(_l("Project"), coerce=int, choices=[])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    facility_id = SelectField(_l("Facility"), coerce=int, choices=[])
    earliest_start = DateTimeLocalField(
        _l("Earliest start"), format=DATETIME_FORMAT, validators=[DataRequired(), SupportedDate()]
    )
    deadline = DateTimeLocalField(
        _l("Deadline"), format=DATETIME_FORMAT, validators=[DataRequired(), SupportedDate()]
    )
    priority_reason = TextAreaField(
        _l("Ask for priority: why it is urgent (optional)"), validators=[Length(max=2000)]
    )
    steps = StepRows(FormField(StepForm), min_entries=1, max_entries=MAX_STEPS + 1)

    def validate_steps(self, field: StepRows) -> None:
        message = field.too_many()
        if message:
            raise FieldError(message)

    def general_errors(self) -> list[str]:
        """Return the errors that belong to no single field (too many step rows)."""
        return [e for e in self.steps.errors if isinstance(e, str)]

    def filled_steps(self) -> list[tuple[int, StepForm]]:
        """Return (row index, row) of every step row that is not blank."""
        return [(i, entry.form) for i, entry in enumerate(self.steps) if not entry.form.is_blank()]


class SingleRequestForm(RequestForm):
    """A request of one step, by capability or by specific units."""

    steps = StepRows(FormField(SingleStepForm), min_entries=1, max_entries=1)


class ManualBookingForm(FlaskForm):
    project_id = SelectField(_l("Project"), coerce=int, choices=[])
    equipment_id = SelectField(_l("Equipment unit"), coerce=int, choices=[])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    start = DateTimeLocalField(
        _l("Start"), format=DATETIME_FORMAT, validators=[DataRequired(), SupportedDate()]
    )
    end = DateTimeLocalField(
        _l("End"), format=DATETIME_FORMAT, validators=[DataRequired(), SupportedDate()]
    )
    note = StringField(_l("Note"), validators=[Length(max=300)])
    override = BooleanField(_l("Override the rules: book it although it breaks them"))
    override_reason = TextAreaField(
        _l("Why (the project sees this)"),
        validators=[Optional(), Length(max=OVERRIDE_REASON_LENGTH)],
    )


class RescheduleForm(FlaskForm):
    equipment_id = SelectField(_l("Equipment unit"), coerce=int, choices=[])
    start = DateTimeLocalField(
        _l("New start"), format=DATETIME_FORMAT, validators=[DataRequired(), SupportedDate()]
    )
    end = DateTimeLocalField(
        _l("New end"), format=DATETIME_FORMAT, validators=[DataRequired(), SupportedDate()]
    )
    reason = StringField(
        _l("Why is it moved? (optional)"), validators=[Length(max=OVERRIDE_REASON_LENGTH)]
    )
    override = BooleanField(_l("Override the rules: move it although it breaks them"))
    override_reason = TextAreaField(
        _l("Why (the project sees this)"),
        validators=[Optional(), Length(max=OVERRIDE_REASON_LENGTH)],
    )


class MaintenanceForm(FlaskForm):
    equipment_id = SelectField(_l("Equipment unit"), coerce=int, choices=[])
    start = DateTimeLocalField(
        _l("Start"), format=DATETIME_FORMAT, validators=[DataRequired(), SupportedDate()]
    )
    end = DateTimeLocalField(
        _l("End"), format=DATETIME_FORMAT, validators=[DataRequired(), SupportedDate()]
    )
    reason_zh = StringField(
        _l("Reason in Chinese"), validators=[Length(max=MAX_MAINTENANCE_REASON)]
    )
    reason_en = StringField(
        _l("Reason in English"), validators=[Length(max=MAX_MAINTENANCE_REASON)]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """Ask for the reason in at least one language; readers of the other see it marked."""
        valid = bool(super().validate(extra_validators))
        if not (self.reason_zh.data or "").strip() and not (self.reason_en.data or "").strip():
            self.reason_zh.errors = [
                *self.reason_zh.errors,
                _l("Say why, in Chinese, in English or in both."),
            ]
            return False
        return valid


class TrainingForm(FlaskForm):
    email = EmailField(_l("Member's email"), validators=[DataRequired(), Length(max=200)])
    equipment_id = SelectField(_l("Equipment unit"), coerce=int, choices=[])
    trained_on = DateField(_l("Trained on"), validators=[DataRequired(), SupportedDate()])


class ReleaseForm(FlaskForm):
    reason = StringField(_l("Why may it move?"), validators=[DataRequired(), Length(max=500)])


class WeightForm(FlaskForm):
    """A manager's weight for one request; the service checks the range and who may."""

    weight = IntegerField(_l("Weight"), validators=[InputRequired()])


class FacilitySettingsForm(FlaskForm):
    """A facility's solve settings; the service checks the range and who may."""

    fair_share_percent = IntegerField(
        _l("Fair share: the most one project may hold of any unit (%)"),
        validators=[Optional()],
    )


class NoShowSettingsForm(FlaskForm):
    """A facility's no-show weight setting; the service checks the range and who may."""

    no_show_penalty_percent = IntegerField(
        _l("Lower a project's weights per recent no-show by (%)"),
        validators=[Optional()],
    )


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason (optional)"), validators=[Length(max=500)])


def to_utc(value: datetime | None, tz: str) -> datetime | None:
    """Read a naive datetime-local value as wall time in the zone and return it in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


def to_local(value: datetime | None, tz: str) -> datetime | None:
    """Return an aware datetime as naive wall time in the zone (for datetime-local inputs)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


_STEP_FIELD = re.compile(r"^steps\[(\d+)\]\.(\w+)$")
_STEP_FIELDS = {
    "capability": "capability",
    "unit_ids": "unit_ids",
    "duration_minutes": "duration_hours",
    "min_lag_minutes": "min_gap_hours",
    "max_lag_minutes": "max_gap_hours",
    "attended": "attended",
    "note": "note",
}


def apply_service_errors(form: RequestForm, error: ValidationError, rows: list[int]) -> list[str]:
    """Put the service's field errors beside the form's fields; return those with no field.

    `rows` maps the service's step index to the form row it came from (blank rows are skipped).
    """
    unplaced: list[str] = []
    for name, message in (error.errors or {error.field or "": error.detail}).items():
        target = _field_for(form, name, rows)
        if target is None:
            unplaced.append(message)
        else:
            target.errors = [*list(target.errors or []), message]
    return unplaced


def _field_for(form: RequestForm, name: str, rows: list[int]) -> Any:
    match = _STEP_FIELD.match(name)
    if match:
        index, attribute = int(match.group(1)), match.group(2)
        if attribute == "facility_id":
            return form.facility_id
        if index < len(rows) and attribute in _STEP_FIELDS:
            return form.steps[rows[index]].form._fields.get(_STEP_FIELDS[attribute])
        return None
    if name == "steps":
        return None
    return form._fields.get(name)


def apply_errors(form: FlaskForm, error: ValidationError, renames: dict[str, str]) -> list[str]:
    """Put a service's field errors beside a flat form's fields; return those with no field."""
    unplaced: list[str] = []
    for name, message in (error.errors or {error.field or "": error.detail}).items():
        field = form._fields.get(renames.get(name, name))
        if field is None:
            unplaced.append(message)
        else:
            field.errors = [*list(field.errors or []), message]
    return unplaced


def choices(pairs: Iterable[tuple[Any, str]]) -> list[tuple[Any, str]]:
    """Return choices sorted by label."""
    return sorted(pairs, key=lambda pair: pair[1].lower())
