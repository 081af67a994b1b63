"""The grid's link cells in the dental example: a cell shows its linked records' chips only, and
the linked-record picker is drawn once per link column (a <template> editors.js builds a cell's
picker from when it is edited), so a page of 50 visits is about 300 elements lighter."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.examples.conftest import seed


class Elements(HTMLParser):
    """Elements of the document (what is inside a <template> is no part of it), and the
    elements inside each link cell of the grid."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.template = 0
        self.in_link_cell = False
        self.link_cells: list[int] = []
        self.pickers = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "template":
            self.template += 1
            self.count += 1
            return
        if self.template:
            return
        self.count += 1
        if "link-picker" in classes:
            self.pickers += 1
        if tag == "td":
            self.in_link_cell = "link-cell" in classes
            if self.in_link_cell:
                self.link_cells.append(0)
        elif self.in_link_cell:
            self.link_cells[-1] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.template -= 1
        elif tag == "td":
            self.in_link_cell = False


def test_the_visits_grid_draws_one_link_picker_per_column_not_one_per_cell(ws, as_person):
    seed(ws, scale=0.05)
    page = as_person("admin").get("/b/patients/t/visits").text
    found = Elements()
    found.feed(page)
    rows = page.count('role="row" data-id=')
    assert rows == 50 and len(found.link_cells) == 50  # a full page, one patient link cell a row
    # one template for the patient column (the linked table's name for its search box) …
    templates = re.findall(r'<template class="link-picker-template" data-field="([^"]+)"', page)
    assert templates == ["patient"] and "搜索患者档案" in page.split('<template class="link-picker-template"')[1]
    # … and in each cell only its chip: a list, an item, the link (no search box, no × button,
    # no hidden input until the cell is edited)
    assert found.pickers == 0 and set(found.link_cells) == {3}
    # Measured: 2,050 elements on this page while every cell drew its picker, 1,751 now.
    assert found.count < 1900, found.count

    # a doctor edits their own visits and may only read the patient: no picker at all
    doctor = as_person("liu_yang").get("/b/patients/t/visits")
    assert doctor.status_code == 200 and "患者" in doctor.text and "link-picker" not in doctor.text
