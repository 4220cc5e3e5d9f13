"""The engine's own wait between ranks beyond noisebench's (``[noise] wait_us`` and, since fit version 8,
``wait_rel``), fitted by ``parsnn calibrate`` (:mod:`~parsnn.mapping.cluster.calibrate`) from 2-rank run
records (:mod:`~parsnn.mapping.cluster.calibration`'s run-record format): :func:`wait_residual` is what a run
waited in its exchange beyond the model, :func:`wait_constants` fits x^2 = wait_us^2 + (wait_rel busy)^2 on
the residuals of several sizes, :func:`wait_sigma_us` is fit version 7's absolute term from one run.
"""
from __future__ import annotations

import copy
import math

import numpy as np

from parsnn.mapping.cluster.calibration import _per_rank, predict_record
from parsnn.mapping.cluster.collectives import expected_max_normal


def wait_residual(res: dict, machine) -> dict:
    """What a run record on 2+ ranks waited in its exchange beyond the model (``machine`` without its
    ``[noise]`` wait terms and recording costs: :func:`_without_record`), per interval: ``measured_us`` (the
    mean exchange timer over the ranks, less rank 0's record timer, which the other ranks wait for in their
    next exchange), ``predicted_us``, ``w_us`` (their difference), ``busy_us`` (the model's busy time of the
    busiest rank: update + deliver + pack), ``sigma_us`` (the model's fluctuation) and ``x_us``: the extra
    fluctuation that explains ``w`` (e(P) (sqrt(sigma^2 + x^2) - sigma) = w; 0 when w <= 0)."""
    pred = predict_record(res, _without_record(machine))
    P, n = int(res["ranks"]), float(res["intervals"])
    exch = _per_rank(res, "timer_exchange")
    rec0 = float(_per_rank(res, "timer_record")[0])
    measured = (float(exch.sum()) - (P - 1) * rec0) / P / n
    busy = np.asarray(pred["per_rank"]["busy"], dtype=float)
    e = expected_max_normal(P)
    predicted = float(np.mean(pred["per_rank"]["exchange"]))
    w = measured - predicted
    sigma = max(0.0, (float(pred["compute_s"]) - float(busy.max())) / e) if e > 0 else 0.0
    x = math.sqrt((sigma + w / e) ** 2 - sigma ** 2) if (w > 0 and e > 0) else 0.0
    return {"measured_us": measured * 1e6, "predicted_us": predicted * 1e6, "w_us": w * 1e6,
            "busy_us": float(busy.max()) * 1e6, "sigma_us": sigma * 1e6, "x_us": x * 1e6}


def wait_sigma_us(res: dict, machine) -> float:
    """The engine's own fluctuation between ranks beyond noisebench's, us per interval (``[noise] wait_us``,
    fit version 7), from a run record on 2 ranks and the batch's ``machine`` (its wait terms unset): the mean
    exchange timer over the ranks (less rank 0's record timer, which the other ranks wait for in their next
    exchange) above the model's, w, is e(P) x (sigma' - sigma) for the model's sigma
    (:func:`~parsnn.mapping.cluster.predict.predict`: compute = max busy + e(P) sigma), and
    sigma'^2 = sigma^2 + wait_us^2; 0 when the engine waited no longer than the model says
    (:func:`wait_residual`'s ``x_us``). The engine waits by its wait policy (sleep by default: tests, yields,
    then sleeps), noisebench in MPICH's blocking call: the engine's wait also holds its wake-ups and the work
    that varies with the interval's spikes."""
    return float(wait_residual(res, machine)["x_us"])


def wait_constants(points: list[tuple[float, float]]) -> dict:
    """Fit version 8's engine wait between ranks from 2-rank calibration runs of different sizes: ``points``
    [(busy_us, x_us)] (:func:`wait_residual`: the busiest rank's busy time and the extra fluctuation its exchange
    timer shows) fitted as x^2 = wait_us^2 + (wait_rel busy)^2 by least squares in (1, busy^2) with both
    coefficients >= 0 (non-negative least squares on two unknowns: the unconstrained solution, else the better of
    the two one-term fits). One point: all of it relative (wait_us 0). {'wait_us', 'wait_rel'}."""
    pts = [(float(b), float(x)) for b, x in points if math.isfinite(b) and math.isfinite(x) and b > 0]
    if not pts:
        return {}
    b2 = np.array([b * b for b, _ in pts])
    x2 = np.array([x * x for _, x in pts])
    if len(pts) == 1:
        return {"wait_us": 0.0, "wait_rel": float(math.sqrt(x2[0] / b2[0]))}
    A = np.column_stack([np.ones_like(b2), b2])
    sol, *_ = np.linalg.lstsq(A, x2, rcond=None)
    if sol[0] >= 0 and sol[1] >= 0:
        a2, r2 = float(sol[0]), float(sol[1])
    else:
        rel = float(max(0.0, np.dot(b2, x2) / np.dot(b2, b2)))        # x^2 = r^2 b^2 alone
        absl = float(max(0.0, x2.mean()))                              # x^2 = a^2 alone
        err_rel, err_abs = float(np.sum((x2 - rel * b2) ** 2)), float(np.sum((x2 - absl) ** 2))
        a2, r2 = (0.0, rel) if err_rel <= err_abs else (absl, 0.0)
    return {"wait_us": math.sqrt(a2), "wait_rel": math.sqrt(r2)}


def _without_record(machine):
    """``machine`` with no recording cost (the in-memory flushes of a calibration run are measured, not
    predicted) and no ``[noise] wait_us`` / ``wait_rel``."""
    from parsnn.machines import Machine
    data = copy.deepcopy(machine.data)
    for key in ("record_ns", "record_flush_us", "record_first_us"):
        data.setdefault("compute", {})[key] = 0.0
    data.setdefault("noise", {})["wait_us"] = 0.0
    data["noise"]["wait_rel"] = 0.0
    return Machine(name=machine.name, data=data)
