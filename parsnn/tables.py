"""One plain-text table formatter for every command that prints rows (partition, predict, map,
scaling, analyze).

A table is a list of :class:`Column` and a list of rows; each column takes its cell from a row by
key or by function and formats it with a format spec or a function. The output is a header line,
a rule of dashes and one line per row, exactly as wide as the header.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Column:
    """A table column: ``header``; ``value``: a row key or a function of the row; ``fmt``: a format
    spec such as ``">9.3f"`` or a function of the value returning text; ``width``: at least the
    header's width; ``align``: ``">"`` (right) or ``"<"`` (left) for the header and for text cells."""
    header: str
    value: str | Callable
    fmt: str | Callable = ""
    width: int = 0
    align: str = ">"

    def cell(self, row) -> str:
        """This column's text for ``row``, padded to the column width."""
        v = self.value(row) if callable(self.value) else row[self.value]
        text = self.fmt(v) if callable(self.fmt) else format(v, self.fmt)
        return f"{text:{self.align}{self.size}}"

    @property
    def size(self) -> int:
        """Width of the column."""
        return max(self.width, len(self.header))


def format_table(columns: list[Column], rows, sep: str = " ") -> str:
    """Header, a rule of dashes and one line per row (see the module docstring)."""
    head = sep.join(f"{c.header:{c.align}{c.size}}" for c in columns)
    lines = [head, "-" * len(head)]
    lines += [sep.join(c.cell(r) for c in columns) for r in rows]
    return "\n".join(lines)
