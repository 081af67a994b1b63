"""Named exceptions of the engine, and the catalog their messages come from.

Every error a person can cause carries a *code* and *parameters*: `unknown_person` with
`{"name": "赵"}`. Its English text is made from MESSAGES, the engine's catalog (code → English
template with `{name}` placeholders); the pages and the REST API look that same English template up
in their locale catalogs (views/locales) and fill in the parameters, so nothing above the engine
ever reads an English sentence back. A `Message` is that pair made into text: a `str` (the English
sentence, for the command line, logs and tests) that still carries `.code` and `.params`. A
parameter may itself be a Message (a field's problem inside "{field}: {problem}") or a list of
them, joined with "; ". Callers above the engine turn these exceptions into HTTP statuses or
command-line exit codes; nothing here is ever shown as a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: code → English template. Each template is also the message id of views/locales (a test checks
#: that both catalogs have every one).
MESSAGES: dict[str, str] = {
    'admin_only': 'only administrators may see this page',
    'aggregate_needs_field': '{aggregate} needs a field',
    'approval_bad_decision': "'{decision}' is not a decision: approve or reject",
    'approval_decided': 'this approval was already decided',
    'approval_not_yours': 'only the person asked may decide this approval',
    'approval_unknown': 'no such approval request',
    'archive_checksum': '{file} does not match its checksum',
    'archive_unreadable': 'the archive {file} did not read back as written; nothing was removed',
    'archive_write_failed': 'cannot write the {log} archive in {folder}: {problem}; nothing was removed',
    'autonumber_set': 'is numbered by the engine and cannot be set',
    'bad_cursor': 'invalid offset/cursor',
    'bitable_bad_id': 'unexpected id {text} in a Bitable answer: only letters, digits, - and _ are expected',
    'bitable_error_answer': '{path} holds an error answer: {status} {reason}',
    'bitable_no_id_field': '{table} has no field {field}: put it back in the YAML (a text field named {field}) so records are found again, not duplicated',
    'bitable_no_pages': '{folder} holds no saved pages (page-001.json …): is this a Bitable dump?',
    'bitable_not_answer': '{path} is not a saved Bitable answer ({problem})',
    'bitable_not_folder': '{folder} is not a folder: give the folder `gridbase bitable dump` wrote',
    'bitable_not_object': '{path} is not a saved Bitable answer (not a JSON object)',
    'bitable_rows_refused': '{table}: {count} record(s) refused, so none of this table was imported: {problems}',
    'cannot_import': '{file} cannot be imported: only {suffixes} files can',
    'changed_since_field': "{who} changed field '{field}' of record {record} since; it was left as it is",
    'changed_since_record': '{who} changed record {record} since; it was left as it is',
    'checkbox_expected': 'expected yes or no (true/false, 1/0, 是/否)',
    'column_type_refused': "field '{field}' ({type}) asks for the column type {sql_type}; a field type stores its values as one of {types}",
    'comment_empty': 'a comment needs some text',
    'comment_not_author': 'only the author of a comment may change or delete it',
    'comment_not_found': 'no comment {comment} on record {record}',
    'computed_set': 'is computed and cannot be set',
    'copy_mismatch': 'the copy of table {table} does not match its source (rows or checksum differ); the target is left as it is for inspection',
    'copy_target_not_empty': 'the target database is not empty (table {table} holds data); copy into an empty database or schema',
    'created_from_missing': "the file has no column '{column}' to take created times from",
    'created_from_missing_hint': "the file has no column '{column}' to take created times from; {hint}",
    'cursor_too_far': 'invalid offset/cursor: a page cannot start past row {row}',
    'dashboard_bad_choice': "{filter}: '{value}' is not one of the choices; showing all",
    'dashboard_bad_range': '{filter}: give a from and a to day (from on or before to); showing all',
    'database_lost': 'the connection to the database was lost; nothing from this write was stored. Try again',
    'date_expected': 'expected a date such as 2026-11-25',
    'datetime_expected': 'expected a date and time such as 2026-11-25 14:30',
    'department_ambiguous': "'{name}' names several departments: {paths}; write its path",
    'department_expected': "unknown department '{name}'; expected a department's key, path (院区 / 科室) or name",
    'department_filter_value': "'{value}' is not a department of field '{field}': {problem}",
    'did_you_mean': "did you mean '{choice}'?",
    'disk_full': 'the disk is full; nothing from this write was stored. Free disk space and try again',
    'disk_full_detail': 'the disk is full; nothing from this write was stored. Free disk space and try again ({detail})',
    'disk_short': 'the server is short of disk space, so uploads are paused; ask the administrator to free disk space',
    'duration_below_60': 'expected minutes and seconds below 60, as in 1:30',
    'duration_expected': 'expected a duration such as 1:30 or 90m',
    'duration_expected_h': 'expected a duration such as 1:30, 90m or 2h',
    'email_expected': 'expected an e-mail address like name@example.org',
    'enroll_account': "the account '{account}' is not usable: start with a lowercase letter, then lowercase letters, digits or _ (at most 64)",
    'enroll_exists': "person '{account}' already exists",
    'enroll_name': "give the person's name",
    'fhir_bad_bundle': 'this Bundle cannot be read: {problem}',
    'fhir_bad_file': 'cannot read {file} as FHIR JSON: {problem}',
    'fhir_bad_value': "'{value}' cannot be read as {conversion}",
    'fhir_fetch_failed': 'cannot read {url}: {problem}',
    'fhir_invalid': '{resource} is not a valid FHIR R4 resource: {problems}',
    'fhir_link_unknown': '{field}: no record in {table} has the id {value}; sync the resource it refers to first',
    'fhir_next_elsewhere': 'the next page {url} is on another server and was not read',
    'fhir_no_id': 'a {type} resource without an id cannot be taken',
    'fhir_not_bundle': '{url} answered with {found}, not a FHIR Bundle',
    'fhir_not_resource': 'this is not a FHIR resource: it has no resourceType',
    'fhir_paging_loop': "the server's pages lead back to {url}; stopped",
    'fhir_unknown_type': 'unknown FHIR resource type {type}',
    'field_not_changeable': "you may not change field '{field}'",
    'field_problem': '{field}: {problem}',
    'file_not_accepted': '{file} ({type}) is not accepted; expected {accepted}',
    'file_one': 'expected one file',
    'file_too_large': '{file} is larger than {mb} MB',
    'files_expected': 'expected uploaded files ({id, name}); upload the file first',
    'filter_between': "'between' takes two values for field '{field}': [low, high]",
    'filter_list': "'{name}' takes a list of filters",
    'filter_mapping': 'a filter must be a mapping of field keys to conditions',
    'filter_number_too_large': 'the number {value} is too large to compare',
    'filter_value_invalid': 'invalid filter value: {problem}',
    'filter_value_type': 'a filter value must be text, a number or true/false',
    'form_edit_closed': 'this submission can no longer be changed through the form {form}',
    'form_link_not_allowed': '{field}: choose one of the records this form offers',
    'form_once_person': 'you have already submitted this form; it takes one submission per person',
    'form_once_person_day': 'you have already submitted this form today; it takes one submission per person a day',
    'form_once_person_week': 'you have already submitted this form this week; it takes one submission per person a week',
    'form_prefill_not_allowed': "the link may not fill in '{field}' on this form",
    'formula_filters_unavailable': 'formula filters are not available here',
    'formula_invalid': 'formula: {problem}',
    'hl7_bad_timestamp': "'{value}' is not an HL7 date or time (YYYYMMDD[HHMM[SS]])",
    'hl7_encoding': "the message's separator and encoding characters are {found}, expected {expected}",
    'hl7_link_unknown': '{field}: no record in {table} has the HIS id {value}; send its ADT message first',
    'hl7_merge_unknown': 'cannot merge patient {merged} into {survivor}: one of them is not known',
    'hl7_no_control_id': 'the message has no control id (MSH-10), or one longer than {limit} characters',
    'hl7_no_msh': 'the message does not start with an MSH segment',
    'hl7_too_long': 'the message is longer than {limit} characters',
    'hl7_unknown_message': 'no HL7 message has the control id {control_id}',
    'hl7_unmapped': 'no hl7: mapping takes {type} messages',
    'hl7_unreadable': 'the message cannot be read as HL7 v2',
    'hook_failed_unknown': 'no refused delivery {id}',
    'hook_key_ambiguous': 'more than one record has {field} = {value}; the key field must name one record',
    'hook_key_missing': "the key field '{field}' has no value in this payload (mapped to {source})",
    'hook_key_not_a_value': "the key field '{field}' must be a single text or number in this payload (mapped to {source}), not a list or an object",
    'import_choose_file': 'choose a CSV or XLSX file to import',
    'hook_not_kept': 'refused delivery {id} was too large to keep, so it cannot be retried',
    'hook_unknown': 'no hook {hook} in the YAML any more',
    'import_column_computed': "column '{column}' is the computed field '{field}', which cannot be imported",
    'import_column_unknown': "column '{column}' matches no field of '{table}'",
    'import_column_unknown_hint': "column '{column}' matches no field of '{table}'; {hint}",
    'import_file_kind': 'only .csv and .xlsx files can be imported',
    'import_no_column': 'no column matches a field of the table by name or key',
    'import_no_header': '{file} has no header row',
    'import_nothing_imported': 'nothing was imported: correct the titles, or skip these columns',
    'import_skipped_computed': "column '{column}' was skipped: it is the computed field '{field}'",
    'import_skipped_unknown': "column '{column}' was skipped: it matches no field of '{table}'",
    'import_skipped_unknown_hint': "column '{column}' was skipped: it matches no field of '{table}'; {hint}",
    'import_too_many_rows': 'this file has more than {most} rows, and you may import at most {most} rows at once; split the file, or ask an admin to raise the limit (import: max_rows) of your role',
    'key_field_computed': "--key {name}: field '{field}' is computed, so no file sets it; name a unique field the file fills in",
    'key_field_not_unique': "--key {name}: field '{field}' is not unique, so it cannot find one record per row; mark it `unique: true` in the YAML",
    'key_field_unknown': "--key {name}: no field of '{table}' has that name or key",
    'key_field_unknown_hint': "--key {name}: no field of '{table}' has that name or key; {hint}",
    'limit_fields': "too many fields asked for: {given}, the limit max_fields is {value}; ask for fewer fields, or leave 'fields' out to get every field you may read",
    'limit_filter_conditions': "too many conditions in the filter: {given}, the limit max_filter_conditions is {value}; use fewer conditions, or an 'in' list for many values of one field",
    'limit_filter_depth': 'too many levels of and/or/not inside one another in the filter: {given}, the limit max_filter_depth is {value}; nest the filter less deeply',
    'limit_filter_values': "too many values in the filter's lists: {given}, the limit max_filter_values is {value}; split the list over several requests",
    'limit_search_length': 'too many characters in the search text: {given}, the limit max_search_length is {value}; search for a shorter text',
    'limit_sort_entries': 'too many sort entries: {given}, the limit max_sort_entries is {value}; sort by fewer fields (each field once is enough)',
    'link_ids_expected': 'expected record ids such as recXXXXXXXXXXXXXX',
    'link_name_ambiguous': "{value} is the {field} of more than one record of '{table}'; name it by a unique field or by record id",
    'link_name_missing': "no record of '{table}' has {values} as its {by}",
    'link_one': 'expected one linked record',
    'lossy_refused': 'refusing to lose data; these steps need --allow-data-loss (the data is archived, not deleted):\n{steps}',
    'mail_connect_failed': 'cannot read mailbox {mailbox} at {host}: {problem}',
    'mail_failed_unknown': 'no failed mail {id}: `gridbase mail DIR list-failed` lists them',
    'mail_mailbox_unknown': 'no mailbox {mailbox} in the YAML any more',
    'mail_not_kept': 'failed mail {id} was too large to keep, so it cannot be retried',
    'mail_password_missing': 'mailbox {mailbox}: the environment variable {variable} holding its password is not set',
    'mail_too_large': 'the mail is larger than {mb} MB and was not read',
    'mail_unreadable': 'this is not a mail: it has no headers',
    'masked': 'it is shown masked to you, so you cannot change it',
    'may_not_add': "you may not add records to '{table}'",
    'may_not_change': "you may not change records of '{table}'",
    'may_not_change_record': 'you may not change this record',
    'may_not_delete': "you may not delete records of '{table}'",
    'may_not_restore': "you may not restore records of '{table}'",
    'no_deleted_record': 'no deleted record {record}',
    'nothing_imported': 'nothing was imported; fix the rows above and import again',
    'nothing_to_redo': 'there is nothing to redo',
    'nothing_to_undo': 'there is nothing to undo',
    'number_example': 'expected a number such as 12 or 3.5',
    'number_expected': 'expected a number',
    'number_finite': 'expected a finite number',
    'number_max': 'expected a number of at most {high}',
    'number_min': 'expected a number of at least {low}',
    'number_size': 'expected a number of a sensible size',
    'operator_no_sql': "operator '{op}' of {type} field '{field}' has no SQL form",
    'operator_not_applicable': "operator '{op}' does not apply to {type} field '{field}'; it takes: {ops}",
    'operator_unknown': "unknown operator '{op}' for {type} field '{field}'; it takes: {ops}",
    'option_expected': 'expected one of: {options}',
    'option_not_settable': "{field}: you may not set it to '{option}'",
    'options_expected': 'expected options out of: {options}',
    'person_disabled': "person '{name}' is disabled",
    'person_expected': "unknown person '{name}'; expected a person's key, name or e-mail",
    'person_one': 'expected one person',
    'pg_restore_other_schema': 'the backup holds the schema {schema}, not {target}; restore it where the workspace lives in {schema}; nothing was restored',
    'pg_tool_failed': '{tool} failed: {problem}',
    'phone_expected': 'expected a phone number of digits, spaces, +, - or parentheses',
    'problems': '{problems}',
    'query_timeout': 'the query took longer than {seconds} s and was stopped: simplify its filter, formula or search (a regular expression over long texts, say), or ask an administrator to raise the query time budget',
    'query_too_complex': 'the filter is too complex for the database: use fewer nested IFs and parentheses, or split a long list of conditions into several requests',
    'quota_mine': 'the upload quota for your files ({mb} MB) is used up; remove files that are no longer needed or ask the administrator for more',
    'quota_public': 'the upload quota for public forms ({mb} MB) is used up; remove files that are no longer needed or ask the administrator for more',
    'quota_workspace': "the workspace's upload quota ({mb} MB) is used up; ask the administrator to free space or raise the quota",
    'rating_expected': 'expected a whole number from 1 to {top}',
    'record_not_found': 'record {record} not found',
    'request_not_json': 'the request is not valid JSON',
    'request_too_large': 'the request is too large',
    'required': '{field} is required',
    'row_problems': 'row {row}: {problems}',
    'set_by_engine': 'is set by the engine and cannot be changed',
    'someone_changed_field': "someone changed field '{field}' of record {record} since; it was left as it is",
    'someone_changed_record': 'someone changed record {record} since; it was left as it is',
    'sso_bad_state': 'this sign-in was not started here, has expired or was already used: start again from the sign-in page',
    'sso_disabled_person': '{name} is disabled in this workspace and cannot sign in; ask an administrator',
    'sso_no_secret': 'sign-in provider {provider} is not ready: the environment variable {variable} holding its secret is not set',
    'sso_provider_error': 'the sign-in provider refused or failed: {problem}',
    'sso_unknown_person': '{name} is not a person of this workspace (no e-mail, mobile or account id matched); ask an administrator to add you',
    'sso_unknown_provider': 'there is no sign-in provider {provider}',
    'text_broken': 'expected valid text (it holds a broken character)',
    'text_control': 'contains a control character ({char}) at character {position}; remove it (tabs and line breaks are fine)',
    'text_expected': 'expected text',
    'text_too_long': 'expected at most {limit} characters, got {length}',
    'timeline_dates_denied': 'you may not change the dates of this view',
    'unique_taken': "'{value}' is already used by another record",
    'unique_taken_by_record': "'{value}' is already used by record {record}",
    'unique_taken_by_row': "'{value}' is already used by row {row}",
    'unknown_aggregate': "unknown aggregate '{aggregate}'",
    'unknown_base': "unknown base '{base}'",
    'unknown_base_of': "unknown base '{base}'; bases are: {bases}",
    'unknown_bucket': "unknown bucket '{bucket}'; use day, week or month",
    'unknown_dashboard': "unknown dashboard '{dashboard}'",
    'unknown_department': "unknown department '{department}'; departments are: {departments}",
    'unknown_field': "unknown field '{field}'",
    'unknown_file': 'unknown file {file}; upload it first',
    'unknown_form': "unknown form '{form}'",
    'unknown_kind_view': "unknown {kind} view '{view}'",
    'unknown_linked_record': "unknown record {record} in '{table}'",
    'unknown_person': "unknown person '{name}'",
    'unknown_role': "unknown role '{role}'; roles are: {roles}",
    'unknown_scope': "unknown scope '{scope}'; scopes are: {scopes}",
    'unknown_sort_field': "unknown field '{field}' in sort",
    'unknown_table': "unknown table '{table}'",
    'unknown_table_in': "unknown table '{table}' in base '{base}'",
    'unknown_view': "unknown view '{view}'",
    'url_expected': 'expected a web address starting with http:// or https://',
    'year_expected': 'expected a year from 1000 on',
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")  # as views.i18n fills them: "{id, name}" is plain text


def _english(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(_english(v) for v in value)
    return str(value)


class Message(str):
    """The English sentence of `code` filled with `params`, still carrying both.

    Being a `str`, it goes wherever the engine's messages went before (an error dict's values, a
    report's problems); the pages and the API render `.code` and `.params` in the reader's
    language (views.messages). Text pasted around it (an f-string) is plain English again."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, /, **params: Any) -> Message:
        template = MESSAGES[code]  # KeyError for a code without a message: a bug, caught by tests
        text = _PLACEHOLDER.sub(lambda m: _english(params[m.group(1)]) if m.group(1) in params else m.group(0),
                                template)
        made = super().__new__(cls, text)
        made.code = code
        made.params = dict(params)
        return made

    @property
    def template(self) -> str:
        return MESSAGES[self.code]

    def __reduce__(self) -> Any:
        return (_rebuild, (self.code, self.params))


def _rebuild(code: str, params: dict[str, Any]) -> Message:
    return Message(code, **params)


class GridbaseError(Exception):
    """Base class of every error the engine raises on purpose.

    Raised with a code and its parameters, `GridbaseError(code="unknown_person", params={"name":
    "赵"})`, or with a ready Message; `.message` is that Message (a plain string only where an
    error wraps text the engine does not word, such as ConfigError's YAML report), `.code` and
    `.params` read it, and `str(error)` is its English sentence."""

    def __init__(self, message: str = "", /, *, code: str = "", params: Mapping[str, Any] | None = None) -> None:
        self.message: str = Message(code, **(params or {})) if code else message
        super().__init__(self.message)

    @property
    def code(self) -> str:
        return getattr(self.message, "code", "")

    @property
    def params(self) -> dict[str, Any]:
        return dict(getattr(self.message, "params", {}))

    def __str__(self) -> str:
        return self.message  # the Message itself, so str(error) keeps its code for the pages


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a workspace's YAML, located by file, line and column (1-based).

    A *warning* does not stop the workspace from loading: it points at something that works
    but is probably not what the admin meant (`gridbase validate` prints it)."""

    file: str
    line: int
    col: int
    message: str
    hint: str = ""
    doc: str = ""
    warning: bool = False

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {'warning: ' if self.warning else ''}{self.message}"
        if self.hint:
            text += f"; {self.hint}"
        if self.doc:
            text += f" (see {self.doc})"
        return text


class ConfigError(GridbaseError):
    """The workspace YAML is invalid; `.issues` lists every problem found.

    Its text is the admin's report for `gridbase validate` (file:line:col, in English), not a
    catalog message: it has no code."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class ValidationError(GridbaseError):
    """A value given for a field cannot be accepted. `.errors` maps field key -> message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors: dict[str, str] = dict(errors)
        super().__init__(code="problems", params={"problems": list(errors.values())})


class NotFoundError(GridbaseError):
    """A base, table, field or record does not exist, or the actor may not see it."""


class PermissionDenied(GridbaseError):
    """The actor may see the thing but may not do this to it."""


class MigrationRefused(GridbaseError):
    """A migration would lose data and `allow_data_loss` was not given."""


class QueryError(GridbaseError):
    """A filter, sort or grouping names something unknown or uses a wrong operator."""


class QueryTimeout(QueryError):
    """A query ran past its time budget (see engine.budget) and was stopped; nothing was changed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(code="query_timeout", params={"seconds": f"{seconds:g}"})


class QueryTooComplex(QueryError):
    """The database refused a query as beyond its limits (nesting, expression size, variables).

    The engine keeps filters within SQLite's limits (engine.limits); this is the last guard, raised
    where a read runs its SQL, so that nothing above the engine looks at SQLite's errors."""

    def __init__(self) -> None:
        super().__init__(code="query_too_complex")


class StorageFull(GridbaseError):
    """The disk holding the database is full; the write was rolled back, nothing of it stored."""

    def __init__(self, detail: str = "") -> None:
        if detail:
            super().__init__(code="disk_full_detail", params={"detail": detail})
        else:
            super().__init__(code="disk_full")


class DatabaseLost(GridbaseError):
    """The database server dropped the connection during a write (restarted, failed over, the
    connection ended by an administrator): the transaction was rolled back, nothing of it stored;
    the store connects again for the next one."""

    def __init__(self) -> None:
        super().__init__(code="database_lost")


@dataclass(frozen=True)
class CellError:
    """One refused cell of a write of many (`Table.update_many`): record id, field key (None
    when the whole record was refused: unknown, or not the actor's to change) and why."""

    record: str
    field: str | None
    message: str


class CellErrors(ValidationError):
    """A write of many cells was refused as a whole; `.cells` names every bad one."""

    def __init__(self, cells: list[CellError]) -> None:
        self.cells = cells
        super().__init__({f"{c.record}.{c.field or ''}": c.message for c in cells})


class UndoRefused(GridbaseError):
    """An undo or redo cannot be done. `.reason` says why: `nothing` (nothing left to undo or
    redo) or `changed` (someone changed it since: `.who`, the person's or automation's key, and
    `.field`, the field's name, or "" for the record). The message's code says the same in words."""

    def __init__(self, reason: str, message: Message, *, who: str = "", field: str = "") -> None:
        self.reason = reason
        self.who = who
        self.field = field
        super().__init__(message)
