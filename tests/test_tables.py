"""The one table formatter (parsnn.tables)."""
from parsnn.tables import Column, format_table


def test_header_rule_and_aligned_cells():
    cols = [Column("name", "n", "", 6, "<"), Column("value", "v", ">8.2f", 8), Column("x2", lambda r: 2 * r["v"], ".1f", 4)]
    text = format_table(cols, [{"n": "a", "v": 1.0}, {"n": "bb", "v": 12.345}])
    assert text.split("\n") == ["name      value   x2",
                                "--------------------",
                                "a          1.00  2.0",
                                "bb        12.35 24.7"]


def test_format_function_and_empty_table():
    cols = [Column("E", "e", lambda v: "n/a" if v is None else f"{v:g} J", 6)]
    assert format_table(cols, [{"e": None}, {"e": 2.5}]).split("\n")[2:] == ["   n/a", " 2.5 J"]
    assert format_table(cols, []) == "     E\n------"
