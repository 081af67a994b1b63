"""Registers the built-in field types through the same hook a plugin uses."""

from __future__ import annotations

from typing import Any

from engine.fields.attachment import AttachmentField
from engine.fields.autonumber import AutonumberField
from engine.fields.checkbox import CheckboxField
from engine.fields.created_by import CreatedByField
from engine.fields.created_time import CreatedTimeField
from engine.fields.currency import CurrencyField
from engine.fields.date import DateField
from engine.fields.datetime import DateTimeField
from engine.fields.department import DepartmentField
from engine.fields.duration import DurationField
from engine.fields.email import EmailField
from engine.fields.formula import FormulaField
from engine.fields.link import LinkField
from engine.fields.long_text import LongTextField
from engine.fields.lookup import LookupField
from engine.fields.modified_by import ModifiedByField
from engine.fields.modified_time import ModifiedTimeField
from engine.fields.multi_select import MultiSelectField
from engine.fields.number import NumberField
from engine.fields.percent import PercentField
from engine.fields.person import PersonField
from engine.fields.phone import PhoneField
from engine.fields.rating import RatingField
from engine.fields.rollup import RollupField
from engine.fields.single_select import SingleSelectField
from engine.fields.text import TextField
from engine.fields.url import UrlField
from engine.hookspecs import hookimpl

BUILTIN_FIELD_TYPES: list[Any] = [
    TextField, LongTextField, NumberField, CurrencyField, PercentField, CheckboxField,
    SingleSelectField, MultiSelectField, DateField, DateTimeField, DurationField, RatingField,
    EmailField, PhoneField, UrlField, PersonField, LinkField, LookupField, RollupField,
    FormulaField, AutonumberField, CreatedTimeField, ModifiedTimeField, CreatedByField,
    ModifiedByField, AttachmentField, DepartmentField,
]


@hookimpl
def gridbase_field_types() -> list[Any]:
    return BUILTIN_FIELD_TYPES
