"""Text report of the cluster cost model: the strong-scaling table of ``parsnn predict``."""
from __future__ import annotations

from parsnn import tables


def _dominant(p: dict) -> str:
    """The last cell: two spaces after the previous column, the dominant part, oversubscription."""
    return " " + p["dominant"] + (" (oversubscribed)" if p["oversubscribed"] else "")


COLUMNS = [
    tables.Column("ranks", "ranks", ">6", 6),
    tables.Column("nodes", "nodes", ">5", 5),
    tables.Column("update us", lambda p: p["phases"]["update_max"] * 1e6, ">10.2f", 10),
    tables.Column("deliver us", lambda p: p["phases"]["deliver_max"] * 1e6, ">10.2f", 10),
    tables.Column("exchange us", lambda p: p["exchange_s"] * 1e6, ">11.2f", 11),
    tables.Column("critical us", lambda p: p["critical_path_s"] * 1e6, ">11.2f", 11),
    tables.Column("RTF", "rtf", ">8.3f", 8),
    tables.Column("exch %", lambda p: 100 * p["exchange_fraction"], ">6.1f", 6),
    tables.Column(" dominant", _dominant, "", align="<"),
]


def format_table(curve: list[dict]) -> str:
    """The table of a :func:`~parsnn.mapping.cluster.sweep`: one line per rank count with the
    slowest rank's update and deliver, the exchange, the critical path (us per interval), the RTF,
    the exchange share and the dominant part. Lines carry no trailing blanks."""
    return "\n".join(line.rstrip() for line in tables.format_table(COLUMNS, curve).split("\n"))
