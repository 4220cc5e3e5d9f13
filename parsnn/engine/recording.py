"""Recording (NEST's recording devices, Arbor's samplers): spike and membrane-potential buffers.

The update kernel appends the spikes of recorded populations (step, gid) and every ``v_every``
steps one row of V_m samples of the recorded neurons to per-rank buffers. :meth:`Recorder.flush`
(collective) gathers them on rank 0, which splits them by population, hands them to the run
file writer (:class:`parsnn.runfile.writer.RunWriter`) and keeps them in memory when asked
(:meth:`Recorder.spikes`, :meth:`Recorder.voltages`), and counts spikes for the summary rates.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from parsnn.engine.exchange import displacements


class Recorder:
    """Spike and V_m recording of one simulation on the ranks of ``comm``.

    ``net``: the Network (its spike recorder and voltage recorders); ``h``: resolution (ms);
    ``keep``: keep the gathered data in memory; ``summary_from_ms``: start of the window of
    :meth:`summary_rates`. :meth:`setup` attaches the buffers to the engine state at build time."""

    def __init__(self, net, comm, h: float, keep: bool, summary_from_ms: float):
        self.net, self.comm, self.h = net, comm, h
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.keep = keep
        self.summary_from_ms = float(summary_from_ms)
        self.offsets = {}
        self.recorded_pops = []
        self.rec_step = self.rec_gid = None
        self.spike_chunks = []
        self.volt_chunks = []
        self.counts_all = {}     # rank 0: spikes per recorded population
        self.counts_late = {}    # rank 0: spikes after summary_from_ms

    # ------------------------------------------------------------------ buffers
    def setup(self, st, offsets: dict, pop_local: dict, min_delay_steps: int):
        """Recording mask, spike buffer and V_m sampling of the local neurons on ``st``
        (after the neurons, ``st.n_loc`` and ``st.g2l`` are set); ``offsets``: first gid of every
        population; ``pop_local``: {population: (a, b)} slices of the local nodes."""
        net, n = self.net, int(st.n_loc)
        self.offsets = offsets
        mask = np.zeros(n, dtype=np.uint8)
        self.recorded_pops = list(net.spike_recorder.populations) if net.spike_recorder else []
        for name in self.recorded_pops:
            a, b = pop_local[name]
            mask[a:b] = 1
        st.rec_mask = mask
        self.n_rec_local = int(mask.sum())
        self.grow_spike_record(st, max(self.n_rec_local * min_delay_steps * 16, 1024))
        st.n_rec = 0
        # voltage: one global sampling period (gcd of the recorders' intervals)
        vrs = net.voltage_recorders
        self.v_columns = []     # (pop, node id) of each local column
        v_idx = []
        if vrs:
            every = [net.steps(v.interval, "voltage recorder interval") for v in vrs]
            st.v_every = int(np.gcd.reduce(every))
            self.v_every_pop = {v.population: e for v, e in zip(vrs, every)}
            for v in vrs:
                off = self.offsets[v.population]
                for nid in v.ids:
                    li = st.g2l[off + int(nid)]
                    if li >= 0:
                        v_idx.append(li)
                        self.v_columns.append((v.population, int(nid)))
        else:
            st.v_every = 1
            self.v_every_pop = {}
        st.v_idx = np.array(v_idx, dtype=np.int64)
        st.v_on = 1 if vrs else 0      # every rank samples the same rows, recorded columns or not
        self.v_rows_per_interval = (min_delay_steps // st.v_every + 1) if vrs else 0
        st.v_buf = np.zeros((max(self.v_rows_per_interval * 64, 1), len(v_idx)), dtype=np.float64)
        st.v_step = np.zeros(st.v_buf.shape[0], dtype=np.int64)
        st.n_vrows = 0

    def grow_spike_record(self, st, cap: int):
        """Spike buffer of ``cap`` entries, keeping the ``st.n_rec`` recorded so far."""
        old_n = st.n_rec if self.rec_step is not None else 0
        rs = np.zeros(cap, dtype=np.int64)
        rg = np.zeros(cap, dtype=np.int32)
        if old_n:
            rs[:old_n] = self.rec_step[:old_n]
            rg[:old_n] = self.rec_gid[:old_n]
        self.rec_step, self.rec_gid = rs, rg
        st.rec_step, st.rec_gid = rs, rg

    def grow_voltage_record(self, st):
        """Double the rows of the V_m buffer, keeping the ``st.n_vrows`` sampled so far."""
        rows = st.v_buf.shape[0] * 2
        vb = np.zeros((rows, st.v_buf.shape[1]), dtype=np.float64)
        vs = np.zeros(rows, dtype=np.int64)
        vb[:st.n_vrows] = np.asarray(st.v_buf)[:st.n_vrows]
        vs[:st.n_vrows] = np.asarray(st.v_step)[:st.n_vrows]
        st.v_buf, st.v_step = vb, vs

    def reserve_interval(self, st, need_spikes: int):
        """Grow the buffers if one more interval (up to ``need_spikes`` spikes) might not fit."""
        if st.n_rec + need_spikes > self.rec_step.shape[0]:
            self.grow_spike_record(st, 2 * self.rec_step.shape[0] + need_spikes)
        if st.n_vrows + self.v_rows_per_interval > st.v_buf.shape[0]:
            self.grow_voltage_record(st)

    # ------------------------------------------------------------------ flush
    def _gather_spikes(self, st):
        """All ranks' recorded (step << 32 | gid) codes on rank 0 (collective); empties the buffer."""
        comm = self.comm
        nloc = int(st.n_rec)
        codes = (self.rec_step[:nloc].astype(np.int64) << 32) | self.rec_gid[:nloc].astype(np.int64)
        counts = comm.gather(nloc, root=0) if self.size > 1 else [nloc]
        allc = None
        if self.rank == 0:
            counts = np.array(counts, dtype=np.int64)
            allc = np.empty(int(counts.sum()), dtype=np.int64)
        if self.size > 1:
            comm.Gatherv(codes, [allc, (counts, displacements(counts)), MPI.INT64_T] if self.rank == 0 else None,
                         root=0)
        else:
            allc = codes.copy()
        st.n_rec = 0
        return allc

    def _gather_voltages(self, st):
        """(sample steps, columns per rank, V_m block per rank) on rank 0, None elsewhere or
        without voltage recorders (collective); empties the buffer."""
        if not self.net.voltage_recorders:
            return None
        rows = int(st.n_vrows)
        vloc = np.ascontiguousarray(np.asarray(st.v_buf)[:rows])
        vsteps = np.asarray(st.v_step)[:rows].copy()
        cols = self.comm.gather(self.v_columns, root=0) if self.size > 1 else [self.v_columns]
        blocks = self.comm.gather(vloc, root=0) if self.size > 1 else [vloc]
        st.n_vrows = 0
        return (vsteps, cols, blocks) if self.rank == 0 else None

    def _split_spikes(self, allc):
        """{population: (times ms, population-local ids)} of gathered codes; counts them."""
        allc.sort()
        steps = allc >> 32
        gids = (allc & 0xFFFFFFFF).astype(np.int64)
        times = (steps + 1) * self.h
        chunk = {}
        for name in self.recorded_pops:
            off, size = self.offsets[name], self.net.populations[name].size
            sel = (gids >= off) & (gids < off + size)
            chunk[name] = (times[sel], (gids[sel] - off).astype(np.uint64))
            self.counts_all[name] = self.counts_all.get(name, 0) + int(sel.sum())
            self.counts_late[name] = self.counts_late.get(name, 0) + int(np.count_nonzero(
                chunk[name][0] > self.summary_from_ms))
        return chunk

    def _split_voltages(self, vdata):
        """{population: (times ms, node ids, V_m [T, k])} of gathered samples, at each recorder's interval."""
        vsteps, cols, blocks = vdata
        columns = [c for cs in cols for c in cs]
        block = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(vsteps), 0))
        per_pop = {}
        for v in self.net.voltage_recorders:
            idx = [columns.index((v.population, int(i))) for i in v.ids]
            every = self.v_every_pop[v.population]
            rows = ((vsteps + 1) % every) == 0
            per_pop[v.population] = ((vsteps[rows] + 1) * self.h, np.asarray(v.ids, dtype=np.uint64),
                                     block[rows][:, idx])
        return per_pop

    def flush(self, st, writer=None):
        """Collect recorded spikes and voltages of all ranks on rank 0 (collective), and write them
        with ``writer`` (rank 0's RunWriter, or None)."""
        allc = self._gather_spikes(st)
        vdata = self._gather_voltages(st)
        if self.rank != 0:
            return
        self._hand_over(self._split_spikes(allc), writer and writer.append_spikes, self.spike_chunks)
        if vdata is not None:
            self._hand_over(self._split_voltages(vdata), writer and writer.append_voltages, self.volt_chunks)
        if writer is not None:
            writer.flush()

    def _hand_over(self, data: dict, write, kept: list):
        """Write ``data`` with ``write`` (if any) and keep it in ``kept`` when keeping data in memory."""
        if write is not None:
            write(data)
        if self.keep:
            kept.append(data)

    # ------------------------------------------------------------------ results
    def summary_window(self, t_end: float):
        """(start, stop) in ms of the window used by :meth:`summary_rates`, for a run that ended at ``t_end``."""
        return (self.summary_from_ms, t_end) if t_end > self.summary_from_ms else (0.0, t_end)

    def summary_rates(self, t_end: float) -> dict:
        """Mean rate (spikes/s) per recorded population over :meth:`summary_window` (rank 0)."""
        t0, t1 = self.summary_window(t_end)
        counts = self.counts_late if t0 > 0 else self.counts_all
        if t1 <= t0:
            return {}
        return {k: c / self.net.populations[k].size / ((t1 - t0) * 1e-3) for k, c in counts.items()}

    def spikes(self) -> dict:
        """Recorded spikes of the whole network, on every rank (collective):
        {population: (times_ms, node_ids)}, sorted by time, then node id."""
        if not self.keep:
            raise RuntimeError("spikes were not kept in memory (keep_spikes=False); read them from the output file")
        out = None
        if self.rank == 0:
            out = {}
            for name in self.recorded_pops:
                ts = [c[name][0] for c in self.spike_chunks]
                ids = [c[name][1] for c in self.spike_chunks]
                out[name] = (np.concatenate(ts) if ts else np.zeros(0),
                             np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64))
        return self.comm.bcast(out, root=0) if self.size > 1 else out

    def voltages(self) -> dict:
        """Recorded membrane potentials on every rank (collective):
        {population: (times_ms [T], node_ids [k], V_m [T, k])}."""
        if not self.keep:
            raise RuntimeError("voltages were not kept in memory (keep_spikes=False); read them from the output file")
        out = None
        if self.rank == 0:
            out = {}
            for v in self.net.voltage_recorders:
                parts = [c[v.population] for c in self.volt_chunks]
                if parts:
                    out[v.population] = (np.concatenate([p[0] for p in parts]), parts[0][1].astype(np.int64),
                                         np.concatenate([p[2] for p in parts], axis=0))
        return self.comm.bcast(out, root=0) if self.size > 1 else out
