"""From replay_shares.py's files: the wait at the team's meetings if K shares ran on 2 threads, statically
(share k on thread k % 2) or dealt in order to the first free thread; a share's work per step = 5.5 ns x its events
+ 1.3 ns x its neurons + 50 ns x the step's spikes (rough figures of this machine). Session 23."""
import numpy as np, sys
ce, cu, cs = 5.5, 1.3, 50.0
for K in (2, 4, 8):
    d = np.load(f"shares_K{K}_n0.25.npz"); ev, nspk, toff = d["ev"], d["nspk"], d["toff"]
    n = np.diff(toff)
    w = ce * ev + cu * n[:, None] + cs * nspk[None, :]        # ns per share per step
    S = w.shape[1]
    tot = w.sum()
    # static: share k on worker k % 2
    st = np.stack([w[0::2].sum(0), w[1::2].sum(0)])
    # dynamic greedy in order
    fin = np.zeros((2, S))
    for k in range(K):
        j = np.argmin(fin, axis=0)
        fin[j, np.arange(S)] += w[k]
    # LPT-ish: order largest expected first is the same as in order here
    for name, m in (("static", st), ("dynamic", fin)):
        mk = m.max(0).sum()
        print(K, name, f"sum/2 {tot/2/1e6:.1f} ms  makespan {mk/1e6:.1f} ms  wait frac {(mk - tot/2)/mk:.3f}")
