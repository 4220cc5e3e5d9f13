#!/usr/bin/env python
"""Analyse a parsnn run (or a NEST ASCII spike directory); optionally compare it with another run.

    python analysis/analyze.py run.h5 [--compare other.h5|nest_dir] [--out-dir DIR] [--t-start 500]
                               [--t-stop T] [--cc-subsample 50] [--cc-bin 2] [--force] [--json]

Same as ``parsnn analyze``; see ``parsnn.analysis`` for the statistics.  Writes to ``DIR`` (default
``<run>_analysis/``): ``summary.json``, ``stats.npz`` (the distributions), ``raster.png``,
``rates_boxplot.png``, ``distributions.png`` (rate / ISI-CV / CC histograms), ``population_rate.png``,
and with ``--compare`` also ``comparison.json`` (KS distances), ``ks_distances.png`` and
``raster_other.png``.  Prints a table per run and the KS table (or JSON with ``--json``).
Exit status 1 if a run cannot be read (e.g. not marked complete and no ``--force``).
"""
from __future__ import annotations

import os
import sys

try:
    from parsnn import analysis
except ImportError:  # source checkout without installation
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from parsnn import analysis

if __name__ == "__main__":
    sys.exit(analysis.main())
