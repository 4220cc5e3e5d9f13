"""Post-hoc analysis of spike output: single-neuron and pairwise statistics, figures, KS comparison.

The statistics are those of the PD14 benchmarking recipe (Senk et al.; the reference
implementation's ``analyze_reference_data.py``), per population, after a warm-up:

- ``rate``: time-averaged firing rate of every neuron (spikes/s), silent neurons included;
- ``cv``: coefficient of variation of the inter-spike intervals, ``std(ISI) / mean(ISI)``
  (population standard deviation, ``ddof=0``), for every neuron with at least 3 spikes;
- ``cc``: Pearson correlation coefficients of the spike counts in 2 ms bins for all pairs of a
  seeded random subsample of neurons (50 by default; pairs with a silent neuron give no value).

Two simulations are compared by the Kolmogorov-Smirnov distance (``scipy.stats.ks_2samp``
statistic) between their distributions, per population and statistic.

Sources:

- a parsnn run file (SONATA HDF5, :class:`H5Source`); files not marked complete are refused
  (:class:`parsnn.runfile.sonata.IncompleteRunError`) unless ``allow_incomplete=True``;
- a directory of NEST ASCII spike-recorder files (:class:`NestAsciiSource`), e.g. written by
  ``analysis/nest_pd14.py``, whose JSON sidecar (:data:`NEST_SIDECAR`) maps NEST's global
  node ids to populations.

Streaming: a run file is read chunk by chunk (time-sorted ``by_time`` files only read the
window); one pass of numba kernels per chunk updates, per neuron, the spike count, the last
spike time and Welford's running mean and sum of squared deviations of the ISIs, the binned
counts of the CC subsample and the population-rate histogram.  Memory is
O(neurons + subsample x bins), independent of the number of spikes.  (NEST ASCII files are
not sorted across threads, so a NEST population is loaded and sorted once: O(its spikes).)

Heavy dependencies (numba, scipy, matplotlib) are imported on first use.

Typical use::

    from parsnn import analysis
    a = analysis.analyze("run.h5")                  # RunStats
    b = analysis.analyze("nest_out/")               # NEST ASCII directory
    ks = analysis.compare(a, b)                     # {pop: {"rate": D, "cv": D, "cc": D}}
    analysis.write_report(a, "run_analysis", other=b)

Modules: :mod:`~parsnn.analysis.readers` (the run file and NEST ASCII sources),
:mod:`~parsnn.analysis.statistics` (streaming accumulators, rates, CVs, CCs, KS distances),
:mod:`~parsnn.analysis.plots` (figures) and :mod:`~parsnn.analysis.report` (text tables, the report
directory and the ``parsnn analyze`` command).
"""
from parsnn.analysis.plots import (STAT_LABELS, plot_distributions, plot_ks, plot_population_rate,
                                   plot_raster, plot_rate_boxplots, pop_color, pyplot)
from parsnn.analysis.readers import (NEST_SIDECAR, H5Source, IncompleteRunError, NestAsciiSource,
                                     open_source, read_nest_ascii)
from parsnn.analysis.report import (add_cli_arguments, format_ks_table, format_summary, main, run_cli,
                                    write_report)
from parsnn.analysis.statistics import (DEFAULT_CC_BIN, DEFAULT_CC_SUBSAMPLE, DEFAULT_SUBSAMPLE_SEED,
                                        DEFAULT_T_START, MIN_SPIKES_CV, STATISTICS, PopulationStats,
                                        RunStats, analyze, analyze_arrays, compare, firing_rates, isi_cvs,
                                        jsonable, ks_distance, spike_count_correlations, subsample_ids)

__all__ = [
    "STATISTICS", "STAT_LABELS", "DEFAULT_T_START", "DEFAULT_CC_BIN", "DEFAULT_CC_SUBSAMPLE",
    "DEFAULT_SUBSAMPLE_SEED", "MIN_SPIKES_CV", "NEST_SIDECAR", "IncompleteRunError",
    "PopulationStats", "RunStats", "H5Source", "NestAsciiSource", "open_source", "read_nest_ascii",
    "analyze", "analyze_arrays", "firing_rates", "isi_cvs", "spike_count_correlations",
    "subsample_ids", "ks_distance", "compare", "jsonable", "format_summary", "format_ks_table",
    "pop_color", "pyplot", "plot_raster", "plot_rate_boxplots", "plot_distributions",
    "plot_population_rate", "plot_ks", "write_report", "add_cli_arguments", "run_cli", "main",
]
