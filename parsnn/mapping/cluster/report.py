"""Text report of the cluster cost model: the strong-scaling table of ``parsnn predict`` and its notes."""
from __future__ import annotations

from parsnn import tables


def _dominant(p: dict) -> str:
    """The last cell: two spaces after the previous column, the dominant part, oversubscription."""
    return " " + p["dominant"] + (" (oversubscribed)" if p["oversubscribed"] else "")


def _rtf_range(p: dict) -> str:
    """'low-high' of the RTF over the calibration's measuring segments or batches ('' without)."""
    r = p.get("rtf_range")
    return f"{r[0]:.3f}-{r[1]:.3f}" if r else ""


COLUMNS = [
    tables.Column("ranks", "ranks", ">6", 6),
    tables.Column("thr", lambda p: p.get("threads", 1), ">3", 3),
    tables.Column("nodes", "nodes", ">5", 5),
    tables.Column("update us", lambda p: p["phases"]["update_max"] * 1e6, ">10.2f", 10),
    tables.Column("deliver us", lambda p: p["phases"]["deliver_max"] * 1e6, ">10.2f", 10),
    tables.Column("exchange us", lambda p: p["exchange_s"] * 1e6, ">11.2f", 11),
    tables.Column("critical us", lambda p: p["critical_path_s"] * 1e6, ">11.2f", 11),
    tables.Column("RTF", "rtf", ">8.3f", 8),
    tables.Column("exch %", lambda p: 100 * p["exchange_fraction"], ">6.1f", 6),
    tables.Column(" dominant", _dominant, "", align="<"),
]
#: the RTF range column, after RTF, when the machine file has error bars
RANGE_COLUMN = tables.Column("RTF range", _rtf_range, ">13", 13)


def format_table(curve: list[dict]) -> str:
    """The table of a :func:`~parsnn.mapping.cluster.sweep`: one line per rank count with the
    slowest rank's update and deliver, the exchange, the critical path (us per interval), the RTF
    (and its range over the calibration's batches when the machine has one), the exchange share
    and the dominant part. Lines carry no trailing blanks."""
    cols = list(COLUMNS)
    if any(p.get("rtf_range") for p in curve):
        cols.insert(8, RANGE_COLUMN)
    return "\n".join(line.rstrip() for line in tables.format_table(cols, curve).split("\n"))


LAYOUT_COLUMNS = [
    tables.Column("nodes", "nodes", ">5", 5),
    tables.Column("ranks/node", "ranks_per_node", ">10", 10),
    tables.Column("threads", "threads", ">7", 7),
    tables.Column("ranks", "ranks", ">6", 6),
    tables.Column("update us", lambda p: p["phases"]["update_max"] * 1e6, ">10.2f", 10),
    tables.Column("deliver us", lambda p: p["phases"]["deliver_max"] * 1e6, ">10.2f", 10),
    tables.Column("RTF", "rtf", ">8.3f", 8),
    tables.Column("RTF range", _rtf_range, ">13", 13),
    tables.Column("exchange", lambda p: p["exchange_terms"].get("scheme", "alltoall"), ">9", 9),
    tables.Column(" other layouts (ranks/node x threads: RTF)",
                  lambda p: " " + ", ".join(f"{q['ranks_per_node']}x{q['threads']}: {q['rtf']:.3f}"
                                            for q in p["layouts"] if q["threads"] != p["threads"]), "", align="<"),
]


def format_layouts(rows: list[dict]) -> str:
    """The table of :func:`~parsnn.mapping.cluster.layout.best_layouts`: per node count the best
    layout, its slowest rank's update and deliver (us per interval), RTF and range, and the others."""
    return "\n".join(line.rstrip() for line in tables.format_table(LAYOUT_COLUMNS, rows).split("\n"))


def format_limits(rows: list[dict]) -> str:
    """One line per node count of :func:`~parsnn.mapping.cluster.layout.best_layouts`: the terms that limit
    its best layout (``limiting``: us per interval and share of the critical path)."""
    return "\n".join(f"{p['nodes']:>5} node(s), {p['ranks_per_node']}x{p['threads']}: limited by "
                     + "; ".join(f"{t['term']} {t['us']:.2f} us ({100 * t['share']:.0f} %)" for t in p.get("limiting", []))
                     for p in rows)


#: what a prediction with plastic synapses does not know (the note :func:`notes` adds)
PLASTIC_NOTE = ("plastic synapses: their cost per event (compute.plastic_event_ns, no cost per facilitation in this machine "
                "file) comes from hpc_benchmark's first ~100 ms "
                "(measured by parsnn calibrate, or assumed from such a measurement), before most post spikes are "
                "archived; later in a run a plastic event costs several times more, "
                "and hpc_benchmark at scale 1 ran 31-44 % slower than predicted on the machine that showed it "
                "(analysis/results/plastic_cost21/): this prediction is likely too fast")


#: the note for a machine file with ``compute.facilitation_ns`` (fit version 11 on)
PLASTIC_FACILITATION_NOTE = (
    "plastic synapses: a plastic event costs compute.plastic_event_ns plus compute.facilitation_ns per post spike "
    "it reads, both fitted over hpc_benchmark's first ~100 ms at scale 0.05 (parsnn calibrate), plus, per window "
    "that searches the target's history, a facilitation's cost and an L2 miss (compute.event_ns.memory_no_prefetch) "
    "with a probability from an assumed 49 bytes per plastic event through the L2 (fitted on one machine); the post "
    "spikes read and the history windows per plastic event are the run file's, else stationary estimates (which "
    "a short run does not reach). On the machine that measured it, hpc_benchmark at scale 1 on 1-2 ranks or threads "
    "over 200-400 ms came out -5 % .. +13 %, its delivery -2 % .. +9 % (analysis/results/history24/)")


def notes(machine, label: dict, curve=()) -> list[str]:
    """Lines after the table: which machine the prediction is for (when it is not simply this
    machine's calibration), what the RTF range means, and, when a predicted layout delivers plastic
    events (``curve``: the predictions), :data:`PLASTIC_FACILITATION_NOTE` if the machine file has a cost per
    facilitation, else :data:`PLASTIC_NOTE`."""
    out = []
    if any(float((p.get("workload") or {}).get("plastic_events_per_interval_mean", 0.0)) > 0 for p in curve):
        fac = machine.ns("facilitation_ns", default=0.0) > 0
        out.append(f"note: {PLASTIC_FACILITATION_NOTE if fac else PLASTIC_NOTE}")
    if label.get("machine_note"):
        out.append(f"note: {label['machine_note']}")
    cal = machine.data.get("calibration") or {}
    if machine.bounds() is not None:
        dates = cal.get("batch_dates") or [cal.get("date", "?")]
        span = (f"of {dates[0]}" if len(set(d[:13] for d in dates)) <= 1
                else f"from {min(dates)} to {max(dates)}")
        segs = len(cal.get("per_segment") or [])
        how = (f"the predictions with the constants of each of their {segs} measuring segments (each fitted on "
               f"its own), and the point prediction (the spread within and between the batches"
               if segs >= 2 else "the predictions with each batch's constants, and the point prediction (the spread "
               "between batches" if len(cal.get("per_batch") or []) >= 2 else
               "every measured constant at its smallest / largest value over them, and the point prediction (the "
               "spread between batches")
        out.append(f"RTF range: over the {cal.get('batches', '?')} calibration batches {span}: {how}; a later "
                   f"calibration can drift beyond it)")
    elif cal:
        out.append("no RTF range: the calibration has one batch (use parsnn calibrate --repeats 2 or more)")
    return out
