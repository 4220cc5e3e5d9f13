"""From replay_shares.py's K = 8 file: the best deal of the 8 blocks to 2 threads for each number of meeting
places, by the replayed wait, and some fixed patterns. Session 23."""
import numpy as np
ce, cu, cs = 5.5, 1.3, 50.0
for K in (8,):
    d = np.load(f"shares_K{K}_n0.25.npz"); ev, nspk, toff = d["ev"], d["nspk"], d["toff"]
    n = np.diff(toff)
    w = ce * ev + cu * n[:, None] + cs * nspk[None, :]
    tot = w.sum()
    best = {}
    for bits in range(1, 2**(K-1)):
        g = np.array([(bits >> k) & 1 for k in range(K-1)] + [0])
        runs = 1 + int(np.sum(g[1:] != g[:-1]))
        a, b = w[g == 0].sum(0), w[g == 1].sum(0)
        mk = np.maximum(a, b).sum()
        if runs not in best or mk < best[runs][0]:
            best[runs] = (mk, g.tolist(), a.sum()/tot)
    for r in sorted(best):
        mk, g, s0 = best[r]
        print(f"runs {r} meeting places {r-1}: wait {(mk - tot/2)/mk:.3f} groups {g} share0 {s0:.3f}")
print("specific")
d = np.load("shares_K8_n0.25.npz"); ev, nspk, toff = d["ev"], d["nspk"], d["toff"]
n = np.diff(toff); w = ce * ev + cu * n[:, None] + cs * nspk[None, :]; tot = w.sum()
for g in ([0,0,1,1,0,0,1,1],[0,0,1,1,1,1,0,0],[0,1,1,0,0,1,1,0],[0,1,0,1,0,1,0,1]):
    g=np.array(g); a, b = w[g == 0].sum(0), w[g == 1].sum(0); mk = np.maximum(a, b).sum()
    print(g.tolist(), f"wait {(mk - tot/2)/mk:.3f} share0 {a.sum()/tot:.3f}")
