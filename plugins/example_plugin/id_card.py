"""Field type `id_card`: a Chinese resident identity number (居民身份证号码, GB 11643-1999).

Eighteen characters: a six-digit region code, the date of birth as YYYYMMDD, a three-digit
sequence number and a *check character* (0-9 or X) computed from the first seventeen digits
with the ISO 7064 MOD 11-2 checksum. A value is accepted only when the date of birth is a real
date and the check character matches, so a mistyped digit is caught at entry.

The stored value is the full number (upper-case X). `display()` *masks* it unless the field
sets `mask: false`: the region code and the last four characters stay visible
(`210202********123X`), enough to tell two people apart on a list, not enough to misuse.
A role's `mask: id_number` applies on top of this, as for any text field.

As its own type it also filters, sorts and moves through files: a filter takes the operators
an identity number needs (equal, one of, starts with a region code, empty), and reads the
value as `coerce` does, so a lower-case x or spaces still find the number; sorting is by date
of birth (the oldest first), then by the whole number; an export writes what the display
shows (masked unless `mask: false`), and importing a masked number is refused with that reason.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from engine.fields.base import Editor, FieldType, Invalid

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
PATTERN = "[0-9]{17}[0-9Xx]"
SCRIPT = Path(__file__).with_name("id_card.js")  # the editor in the browser, served at /editors/id_card.js


def check_char(first17: str) -> str:
    """The check character (ISO 7064 MOD 11-2) for the first seventeen digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def mask(number: str) -> str:
    """Keep the region code and the last four characters; star out the rest."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


class IdCardField(FieldType):
    """A resident ID number, checked by its birth date and check character, shown masked."""

    type = "id_card"
    kind = "text"
    description = ("A Chinese resident identity number (18 characters, last one 0-9 or X), checked "
                   "by its date of birth and check character; shown masked unless `mask: false`.")
    good: ClassVar[list[tuple[dict[str, Any], Any, Any]]] = [
        ({}, "11010519491231002X", "11010519491231002X"),
        ({}, "11010519491231002x", "11010519491231002X"),
        ({}, " 440524 18800101 0014 ", "440524188001010014"),
    ]
    bad: ClassVar[list[tuple[dict[str, Any], Any]]] = [
        ({}, "110105194912310021"),   # wrong check character
        ({}, "110105194902300020"),   # 30 February
        ({}, "12345"),
    ]

    filter_ops = ("eq", "neq", "starts_with", "in", "not_in", "is_empty", "is_not_empty")

    def parse(self, value: Any) -> Any:
        """Accept spaces and a lower-case x; refuse a bad length, date or check character."""
        text = "".join(str(value).split()).upper()
        if "*" in text:
            raise Invalid("this ID number is masked (as a list or an export shows it): enter the full number")
        if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
            raise Invalid("expected an 18-character resident ID number: 17 digits, then a digit or X")
        try:
            date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
        except ValueError:
            raise Invalid(f"the date of birth {text[6:14]} in this ID number is not a real date") from None
        if check_char(text[:17]) != text[17]:
            raise Invalid("the last character does not match the others: check the number for a typo")
        return text

    def editor(self) -> Editor:
        """Its own widget, `id_card` (id_card.js registers it in the browser): a box that takes 18
        characters, digits and X, and checks the check character as it is typed. Without the script
        the input's attributes say as much."""
        return Editor("id_card", "text", attrs={"maxlength": 18, "pattern": PATTERN, "inputmode": "text",
                                                "placeholder": "110105194912310021", "autocomplete": "off"},
                      script=str(SCRIPT))

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^{PATTERN}$", "minLength": 18, "maxLength": 18}

    def sort_sql(self, column: str) -> str:
        """By date of birth (characters 7 to 14), then by the whole number."""
        return f"(substr({column}, 7, 8) || {column})"

    def export_text(self, stored: Any) -> str:
        """What the display shows: an exported file is as masked as a list (unless `mask: false`)."""
        return self.display(stored)

    def display(self, stored: Any) -> str:
        """The number masked (the default) or in full when the field sets `mask: false`."""
        if not stored:
            return ""
        return str(stored) if self.options.get("mask") is False else mask(str(stored))
