"""The router grid and routes between routers.

**Geometry.** Cores fill routers (``cores_per_router``: 16 application cores per SpiNNaker chip, 4
cores per Loihi tile, ...) and routers take slots of the mesh in Hilbert-curve order (chip by
chip, then within the chip): :func:`make_geometry` sizes the grid (a SpiNNaker "triad" of 3
boards is a 12 x 12 chip torus) and orders its slots.

**Routes.** Dimension-order routes between routers: XY on a mesh; on SpiNNaker's triangular
(hexagonal) grid, diagonal (NE/SW) moves first, then x, then y, on the torus the shortest wrap.
A link is ``router * 6 + direction`` (directions :data:`DIRS`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from parsnn.errors import ParameterError
from parsnn.mapping.neuromorphic.hardware import Hardware

# directions of a link from its router: E, W, N, S, NE, SW (the last two on hexagonal grids only)
DIRS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, -1]], dtype=np.int64)
NDIR = 6


def hilbert_order(w: int, h: int) -> np.ndarray:
    """(x, y) of the cells of a w x h grid in Hilbert-curve order ([w*h, 2])."""
    n = 1
    while n < max(w, h):
        n *= 2
    d = np.arange(n * n, dtype=np.int64)
    x = np.zeros_like(d)
    y = np.zeros_like(d)
    t = d.copy()
    s = 1
    while s < n:
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        # rotate
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        x = x + s * rx
        y = y + s * ry
        t = t // 4
        s *= 2
    keep = (x < w) & (y < h)
    return np.stack([x[keep], y[keep]], axis=1)


@dataclass
class Geometry:
    """The router grid: W x H routers (hexagonal and/or torus or not), chips of chip_w x chip_h
    routers, and the router ids in placement (slot) order."""
    W: int
    H: int
    hexa: bool
    torus: bool
    chip_w: int                 # routers per chip in x, y
    chip_h: int
    slots: np.ndarray           # router ids in placement order
    chips_x: int                # chips in x (of the chip grid)

    @property
    def routers(self) -> int:
        """Number of routers of the grid."""
        return self.W * self.H

    def chip_of_router(self) -> np.ndarray:
        """Chip of every router (chips numbered row by row over the chip grid)."""
        r = np.arange(self.routers)
        x, y = r % self.W, r // self.W
        return (y // self.chip_h) * self.chips_x + x // self.chip_w

    def link_target(self) -> np.ndarray:
        """Router at the far end of every link (-1 if it leaves a non-torus grid)."""
        r = np.repeat(np.arange(self.routers), NDIR)
        d = np.tile(np.arange(NDIR), self.routers)
        x = r % self.W + DIRS[d, 0]
        y = r // self.W + DIRS[d, 1]
        if self.torus:
            x, y = x % self.W, y % self.H
            ok = np.ones_like(x, dtype=bool)
        else:
            ok = (x >= 0) & (x < self.W) & (y >= 0) & (y < self.H)
        if not self.hexa:
            ok &= d < 4
        return np.where(ok, y * self.W + x, -1)


def make_geometry(hw: Hardware, routers_needed: int, boards: int | None = None) -> Geometry:
    """The grid of ``hw`` that holds ``routers_needed`` routers (or ``boards`` boards), slots in Hilbert order."""
    h = hw.hw
    hexa = h["topology"] == "hex"
    torus = bool(h.get("torus", False))
    cw, ch = (int(v) for v in h["routers_per_chip"])
    if cw == 0:          # one chip sized to the need (generic NoC)
        W = max(1, math.ceil(math.sqrt(routers_needed)))
        H = max(1, math.ceil(routers_needed / W))
        return Geometry(W, H, hexa, torus, W, H, _hilbert_ids(W, H), 1)
    per_chip = cw * ch
    chips = max(1, math.ceil(routers_needed / per_chip))
    cpb = int(h.get("chips_per_board", 1))
    if boards is not None:
        if boards * cpb < chips:
            raise ParameterError(f"--boards {boards}: {boards * cpb} chips, but the network needs {chips} chips")
        chips = boards * cpb
    if h.get("board_grid") == "triad":       # SpiNNaker: 3 boards = one 12x12 chip torus
        triads = max(1, math.ceil(math.ceil(chips / cpb) / 3))
        a = max(1, int(math.floor(math.sqrt(triads))))
        while triads % a:
            a -= 1
        b = triads // a
        if b > 2 * a:                         # prime counts: near-square, some spare chips
            a = math.ceil(math.sqrt(triads))
            b = math.ceil(triads / a)
        nx, ny = 12 * b, 12 * a
    else:
        nx = max(1, math.ceil(math.sqrt(chips)))
        ny = max(1, math.ceil(chips / nx))
    # slots: chips in Hilbert order over the chip grid, routers in Hilbert order within each chip
    cgx, cgy = nx, ny
    W, H = cgx * cw, cgy * ch
    inner = hilbert_order(cw, ch)
    outer = hilbert_order(cgx, cgy)
    xs = (outer[:, None, 0] * cw + inner[None, :, 0]).ravel()
    ys = (outer[:, None, 1] * ch + inner[None, :, 1]).ravel()
    return Geometry(W, H, hexa, torus, cw, ch, ys * W + xs, cgx)


def _hilbert_ids(W, H):
    """Router ids (y * W + x) of a W x H grid in Hilbert-curve order."""
    o = hilbert_order(W, H)
    return o[:, 1] * W + o[:, 0]


@numba.njit(cache=True)
def hops(dx, dy, hexa):
    """Hops of a displacement (dx, dy): |dx| + |dy|, or max(|dx|, |dy|) along a hexagonal diagonal."""
    if hexa and dx * dy > 0:
        return max(abs(dx), abs(dy))
    return abs(dx) + abs(dy)


@numba.njit(cache=True)
def shortest_delta(src, dst, W, H, hexa, torus):
    """Displacement (dx, dy) from router src to router dst, the shortest wrap on a torus."""
    dx = dst % W - src % W
    dy = dst // W - src // W
    if torus:
        best = 1 << 60
        bx, by = dx, dy
        for ox in (-W, 0, W):
            for oy in (-H, 0, H):
                c = hops(dx + ox, dy + oy, hexa)
                if c < best:
                    best = c
                    bx, by = dx + ox, dy + oy
        dx, dy = bx, by
    return dx, dy


@numba.njit(cache=True)
def _walk(x, y, step_x, step_y, d, W, H, count, buf, n):
    """Append ``count`` links in direction d (moving step_x, step_y) from router (x, y) to buf[n:];
    returns the router reached and the new number of links."""
    for _ in range(count):
        buf[n] = (y * W + x) * 6 + d
        n += 1
        x = (x + step_x) % W
        y = (y + step_y) % H
    return x, y, n


@numba.njit(cache=True)
def route(src, dst, W, H, hexa, torus, buf):
    """Links (router * 6 + direction) of the dimension-order route src -> dst; returns their number."""
    dx, dy = shortest_delta(src, dst, W, H, hexa, torus)
    x, y = src % W, src // W
    n = 0
    if hexa and dx * dy > 0:
        k = min(abs(dx), abs(dy))
        st = 1 if dx > 0 else -1
        x, y, n = _walk(x, y, st, st, 4 if st > 0 else 5, W, H, k, buf, n)
        dx -= st * k
        dy -= st * k
    if dx != 0:
        x, y, n = _walk(x, y, 1 if dx > 0 else -1, 0, 0 if dx > 0 else 1, W, H, abs(dx), buf, n)
    if dy != 0:
        x, y, n = _walk(x, y, 0, 1 if dy > 0 else -1, 2 if dy > 0 else 3, W, H, abs(dy), buf, n)
    return n


def hop_cost(Tg, pos, geom) -> float:
    """sum_{r<r'} Tg[r, r'] hops(pos[r], pos[r']): the traffic-weighted distance of router groups at routers ``pos``."""
    P = Tg.shape[0]
    if P < 2:
        return 0.0
    x, y = pos % geom.W, pos // geom.W
    dx = x[None, :] - x[:, None]
    dy = y[None, :] - y[:, None]
    if geom.torus:
        cands = []
        for ox in (-geom.W, 0, geom.W):
            for oy in (-geom.H, 0, geom.H):
                cands.append(hops_array(dx + ox, dy + oy, geom.hexa))
        d = np.min(cands, axis=0)
    else:
        d = hops_array(dx, dy, geom.hexa)
    return float((Tg * d).sum() / 2.0)


def hops_array(dx, dy, hexa):
    """Hops of displacement arrays (dx, dy): |dx| + |dy|, or max(|dx|, |dy|) along a hexagonal diagonal."""
    if hexa:
        same = dx * dy > 0
        return np.where(same, np.maximum(np.abs(dx), np.abs(dy)), np.abs(dx) + np.abs(dy))
    return np.abs(dx) + np.abs(dy)


