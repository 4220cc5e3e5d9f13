"""The run file's schema: every group, dataset and attribute name, and the schema version.

A parsnn run file is HDF5, written by rank 0 (:class:`parsnn.runfile.writer.RunWriter`) and read
by :class:`parsnn.runfile.reader.RunFile` and :mod:`parsnn.runfile.sonata`::

    /spikes/<pop>/timestamps   float64, attrs: units="ms"
    /spikes/<pop>/node_ids     uint64, population-local ids 0..size-1
    /spikes/<pop>              attrs: size (int), sorting (HDF5 enum none|by_id|by_time)
    /report/<pop>/data         float64 [samples, neurons], attrs: units="mV", variable="V_m"
    /report/<pop>/mapping      node_ids (uint64), time = [start, stop (exclusive), step] in ms
    /weights/<src>-<tgt>/source_ids  uint64 [n], population-local ids of the plastic synapses' sources
    /weights/<src>-<tgt>/target_ids  uint64 [n], their targets (sorted by source, then target)
    /weights/<src>-<tgt>/weights     float64 [snapshots, n] (pA or mV), one row per time in ``times``
    /weights/<src>-<tgt>/times       float64 [snapshots], attrs: units="ms"
    /parsnn                    attrs: schema_version, complete, version, seed, num_ranks, partition,
                               model, resolution, min_delay_ms, realisation, parameters (JSON of
                               Network.describe()), run (JSON of the run's settings), t_sim,
                               t_flushed (model time up to which the data are written),
                               prefetch_distance, prefetch_source (the static delivery's
                               prefetch distance and tuned|cached|given|default)
    /parsnn/partition_map      int, the rank of every node (-1: virtual), attrs: strategy
    /parsnn/performance        attrs: build_seconds, simulate_seconds, rtf, peak_rss_bytes,
                               timer_<phase>, build_<phase>, spike_counts, ... (per-rank arrays)

``/weights`` (``--record-weights``) was added without a version bump: older readers ignore it;
so were ``prefetch_distance`` / ``prefetch_source`` (:mod:`parsnn.engine.prefetch`; absent in older
files) and ``realisation`` (the scheme that turned the seed into the network, ``v1`` or ``v2``, see
:mod:`parsnn.engine.streams`): a file without it was built by ``v1``.
``spikes`` and ``report`` follow SONATA (readable by libsonata). Files written before the
schema was versioned carry no ``schema_version``: they are version 1.

Every dataset is chunked and carries HDF5's Fletcher32 checksum filter, so damaged data fail on
read (:class:`parsnn.runfile.sonata.CorruptRunError`); ``t_flushed`` is rewritten after the data of
every flush are on disk (a commit record), so an interrupted file says how far its data go. A writer
killed in the middle of a write can leave a torn last chunk (its flushed rows fail their checksum) and
data after ``t_flushed``: :mod:`parsnn.runfile.repair` (``parsnn verify --repair``, and ``parsnn resume
--append`` by itself) restores the chunk as flushed, proven by its checksum, and drops the rest. Both were added without a version bump:
older files (no checksums, no ``t_flushed``) are read exactly as before, and older readers ignore
the new attribute and decode the checksummed datasets transparently (the filter is built into HDF5).
"""
from __future__ import annotations

#: version of the layout above, written as ``/parsnn@schema_version``
SCHEMA_VERSION = 1
#: version of files without a ``schema_version`` attribute
UNVERSIONED = 1

# groups and datasets
META = "parsnn"                       #: parsnn metadata group
SPIKES = "spikes"                     #: SONATA spikes group, one subgroup per population
REPORT = "report"                     #: SONATA report group, one subgroup per population
PERFORMANCE = "performance"           #: subgroup of META with the performance figures
PARTITION_MAP = "partition_map"       #: dataset in META: rank of every node
TIMESTAMPS = "timestamps"             #: spike times (ms) in /spikes/<pop>
NODE_IDS = "node_ids"                 #: population-local node ids in /spikes/<pop> and report mappings
REPORT_DATA = "data"                  #: V_m samples in /report/<pop>
REPORT_MAPPING = "mapping"            #: node ids and time of /report/<pop>
REPORT_TIME = "time"                  #: [start, stop, step] (ms) in /report/<pop>/mapping
WEIGHTS = "weights"                   #: group of the plastic projections' weights, one subgroup each
WEIGHT_SOURCE_IDS = "source_ids"      #: in /weights/<src>-<tgt>
WEIGHT_TARGET_IDS = "target_ids"      #: in /weights/<src>-<tgt>
WEIGHT_VALUES = "weights"             #: [snapshots, synapses] in /weights/<src>-<tgt>
WEIGHT_TIMES = "times"                #: model time (ms) of each snapshot in /weights/<src>-<tgt>

# attributes of META
SCHEMA_VERSION_ATTR = "schema_version"
COMPLETE = "complete"                 #: True once the run finished and the file was closed cleanly
VERSION = "version"                   #: parsnn version that wrote the file
SEED = "seed"
NUM_RANKS = "num_ranks"
PARTITION = "partition"               #: partition strategy name
MODEL = "model"                       #: network name
RESOLUTION = "resolution"             #: ms
MIN_DELAY_MS = "min_delay_ms"
REALISATION = "realisation"           #: realisation scheme that built the network (absent: v1)
#: the realisation scheme of files written before it was recorded
UNRECORDED_REALISATION = "v1"
PARAMETERS = "parameters"             #: JSON of Network.describe()
RUN = "run"                           #: JSON of the run's settings (command line)
T_SIM = "t_sim"                       #: simulated model time (ms), written when the run finishes
T_FLUSHED = "t_flushed"               #: model time (ms) up to which the data are written (each flush)
PREFETCH_DISTANCE = "prefetch_distance"  #: static delivery's prefetch distance in synapses (0: none)
PREFETCH_SOURCE = "prefetch_source"      #: how it was chosen: tuned, cached, given or default

# attributes of datasets and population groups
SIZE = "size"                         #: population size, on /spikes/<pop>
SORTING = "sorting"                   #: SONATA sorting enum, on /spikes/<pop>
UNITS = "units"
VARIABLE = "variable"
STRATEGY = "strategy"                 #: on PARTITION_MAP
