"""``parsnn calibrate``: measure the machine this runs on and write its machine file for ``parsnn predict``."""
from __future__ import annotations

from parsnn.options import nonnegative


def add_parser(subparsers):
    """The ``calibrate`` sub-command and its options."""
    c = subparsers.add_parser(
        "calibrate", help="measure this machine and write its machine file (cost-model constants) for parsnn predict",
        description="Measure this machine with parsnn's own short runs and micro-benchmarks (update and scatter "
                    "kernels as the engine runs them, MPI latency and collectives, noise, OpenMP threads: 1 rank x 2 threads vs 1 x 1), fit the cost model's "
                    "constants (parsnn.mapping.cluster.calibration) in every batch and write a machine file: the "
                    "median constants, their spread over the batches (the prediction's error bars), where each "
                    "comes from, and the machine's fingerprint. By default it goes to the per-user cache "
                    "($XDG_CACHE_HOME/parsnn/machines/<fingerprint>.toml), where parsnn predict finds it. "
                    "Serial: it starts mpiexec itself (--mpiexec to use e.g. srun).")
    c.add_argument("--quick", action="store_true", help="shorter runs (under a minute per batch on an idle 2-core "
                                                        "machine; the full calibration's runs are 2-3x longer, and "
                                                        "other jobs on the machine make both far slower)")
    c.add_argument("--out", default=None, help="machine file to write (default: the per-user calibration cache)")
    c.add_argument("--ranks", default=None,
                   help="rank counts for the MPI micro-benchmarks (2 is always measured; a count above the cores "
                        "also fits the oversubscription constant); default 1,2 (1,2,16,128 in --jobscript)")
    c.add_argument("--batches", "--repeats", dest="repeats", type=nonnegative("--batches", int), default=None, metavar="K",
                   help="batches (the spread between them is the error bar); default 2 with --quick, 3 without; "
                        "0 with --merge: only combine earlier calibrations")
    c.add_argument("--merge", action="append", default=[], metavar="FILE",
                   help="an earlier calibration file of this machine (same fingerprint; repeatable): its batches "
                        "join this one's, so the spread covers the drift between the calibrations")
    c.add_argument("--name", default=None, help="machine name in the file (default calibrated_<fingerprint>)")
    c.add_argument("--note", action="append", default=[], help="a note for the file (repeatable), e.g. that the "
                                                              "machine was shared")
    c.add_argument("--mpiexec", default=None, help="launcher command (default: the mpiexec next to this Python)")
    c.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    c.add_argument("--mpi-wait", choices=("poll", "yield", "sleep"), default=None,
                   help="how the calibration's engine runs wait for the spike exchange (parsnn run --mpi-wait): "
                        "calibrate with the runs' setting; default sleep (parsnn run's default), poll in --jobscript")
    c.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                   help="skip the untimed warm-up before the first batch (the event-cost and update networks on 1 "
                        "rank, MPI collectives on 2: about 10 s with --quick); only to measure what it changes")
    c.add_argument("--jobscript", default=None, metavar="FILE",
                   help="write a Slurm job script that runs this calibration (--quick, --ranks, --batches, "
                        "--mpi-wait) on one cluster node to FILE, instead of measuring here")


def command(args) -> int:
    """Run the calibration (serial) and print where the file went and its main constants."""
    import os
    from parsnn import scaling
    from parsnn.cli.common import EXIT_BAD_INPUT, report_error
    from parsnn.errors import ParameterError
    from parsnn.mapping.cluster.calibrate import calibrate
    try:
        ranks = scaling.parse_ranks(args.ranks or ("1,2,16,128" if args.jobscript else "1,2"))
        if args.out and os.path.exists(args.out) and not args.overwrite:
            raise ParameterError(f"--out {args.out} exists: pass --overwrite to replace it")
    except ParameterError as e:
        report_error(e, once=False)
        return EXIT_BAD_INPUT
    mode = "quick" if args.quick else "full"
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 3)
    if args.jobscript:
        path = scaling.write_calibration_jobscript(args.jobscript, ",".join(map(str, ranks)), repeats,
                                                   args.mpi_wait or scaling.JOB_MPI_WAIT, args.quick)
        print(f"wrote {path}: adapt its site section, then submit it with sbatch")
        return 0
    try:
        path, data = calibrate(mode, ranks, repeats, args.out, args.name, args.note, args.mpiexec, merge=args.merge,
                               mpi_wait=args.mpi_wait or "sleep", warm=args.warm_up)
    except ParameterError as e:
        report_error(e, once=False)
        return EXIT_BAD_INPUT
    comp, cal = data["compute"], data["calibration"]
    print(f"wrote {path} ({data['machine']['name']}: {data['machine']['description']})")
    warm = cal.get("warm_up") or {}
    print(f"  {cal['batches']} batch(es) ({repeats} measured now: {', '.join(f'{s:.0f} s' for s in cal['seconds_per_batch'])}"
          f"{', after a ' + format(warm['seconds'], '.0f') + ' s untimed warm-up' if warm.get('ran') else ''}; "
          f"{len(cal.get('per_segment') or [])} measuring segments in all); update "
          f"{comp['update_ns']['iaf_psc_exp']:.3f} ns/neuron step, event L2/L3/memory "
          f"{comp['event_ns']['l2']:.2f}/{comp['event_ns']['l3']:.2f}/{comp['event_ns']['memory']:.2f} ns, "
          f"noise {100 * data['noise']['sigma_rel']:.1f} %")
    if comp.get("facilitation_ns"):
        print(f"  plastic synapses: {comp['plastic_event_ns']:.2f} ns per plastic event + {comp['facilitation_ns']:.2f} ns "
              f"per post spike it reads (fitted across the plastic run's segments)")
    sc = comp.get("scatter") or {}
    pts = sorted((sc[k], sc["ns_" + k[4:]]) for k in sc if k.startswith("mib_") and "ns_" + k[4:] in sc)
    if pts:
        print("  event cost by ring working set: " + ", ".join(f"{w:.3g} MiB {c:.2f} ns" for w, c in pts)
              + (f" (prefetch distance {sc['distance']:.0f}, rows without end)" if "distance" in sc else ""))
    for pre, at in (("", "distance %.0f" % sc.get("distance", 128)), ("d0_", "distance 0")):
        rows = sorted((sc[k], sc[pre + "row_ns_" + k[8:]]) for k in sc if k.startswith("row_mib_") and pre + "row_ns_" + k[8:] in sc)
        if rows:
            print(f"  cost per row ({at}): " + ", ".join(f"{w:.3g} MiB {c:.0f} ns" for w, c in rows))
    for n in cal["notes"]:
        print(f"  note: {n}")
    hint = "" if args.out is None else f" --machine {path}"
    print(f"predict with: parsnn predict MODEL_OR_RUN.h5 --ranks 2{hint}")
    return 0
