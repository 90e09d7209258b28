"""XLSX (Excel workbook) reading and writing.

Reading uses python-calamine, the Python binding of the Rust `calamine`
reader that pandas also uses (engine="calamine"). fastexcel wraps the same
engine, but its text conversion is lossy (it rounds numbers to 9 decimals:
1.5E-10 becomes "0") and it gives no per-cell types to do better with;
python-calamine hands back every cell typed (str, float, bool, date, ...), so
text cells stay exactly as stored and the others are rendered here (see
`cell_text`).

Memory: calamine loads a whole sheet into a grid spanning its used range;
a sheet whose grid would not fit (stray cells far apart) is refused before it
is loaded (xlsx_extent). Writing uses xlsxwriter in constant_memory mode.

The modules: xlsx_cells (Excel's limits, a cell as text), xlsx_extent (a
sheet's size before loading it), xlsx_read (XlsxSource), xlsx_write
(XlsxSink); this one gathers their public names.

What is kept: every worksheet, in order, with its name, hidden state and
values (as text, at the same cell positions); the catalog sheet's column order.
What is not: styles, number formats, column widths, merged cells, comments,
images, charts and chart sheets, data validation, defined names, macros;
formulas are replaced by their last computed value (as text), and error values
(#N/A, #DIV/0!) come back empty. xlsxwriter cannot copy formatting from
another workbook.
"""

from localize.io.xlsx_cells import (EXCEL_MAX_CELL, EXCEL_MAX_COLUMNS, EXCEL_MAX_ROWS, cell_text, column_letter,
                                    utf16_len)
from localize.io.xlsx_extent import MAX_SHEET_CELLS, check_sheet_size
from localize.io.xlsx_read import XlsxSource, check_container
from localize.io.xlsx_write import XlsxSink, sheet_name_for

__all__ = ["EXCEL_MAX_CELL", "EXCEL_MAX_COLUMNS", "EXCEL_MAX_ROWS", "MAX_SHEET_CELLS", "XlsxSink", "XlsxSource",
           "cell_text", "check_container", "check_sheet_size", "column_letter", "sheet_name_for", "utf16_len"]
