"""Spreadsheet cells written from people's text stay text.

openpyxl stores a string that starts with ``=`` as a formula, and Excel or WPS would
run it (``=HYPERLINK(…)``, ``=cmd|…``). Every string cell of an exported workbook is
made a plain string cell before saving; one that starts like a formula (= + - @, tab,
CR) also gets the quote prefix, so editing it in Excel or WPS keeps it text too."""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.workbook.workbook import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def keep_text(wb: Workbook) -> int:
    """Make every string cell of ``wb`` a text cell; returns how many looked like formulas."""
    risky = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if not isinstance(value, str):
                    continue
                clean = ILLEGAL_CHARACTERS_RE.sub("", value)
                if clean != value:
                    cell.value = clean
                cell.data_type = "s"
                if clean.startswith(FORMULA_STARTS):
                    cell.quotePrefix = True
                    risky += 1
    return risky
