"""Compares hashes_subrow13.jsonl with hashes_base.jsonl and with ../buildmem_s14/bit_identity.txt's buildmem block
(layouts keyed by model, partition, n_scaling, ranks, threads); prints bit_identity.txt. Run here: python compare_hashes.py"""
import json


def key(d):
    return (d["model"], d["partition"], d["n_scaling"], d["ranks"], d["threads"])


def load(lines):
    return {key(d): [t["sha256"] for t in d["tables"]] for d in map(json.loads, lines)}


base, new = load(open("hashes_base.jsonl")), load(open("hashes_subrow13.jsonl"))
bm = load([ln for ln in open("../buildmem_s14/bit_identity.txt").read().split("## buildmem")[1].splitlines()
           if ln.startswith("{")])
print("# synapse_table_hash.py, 20 layouts (hashes.sh TREE OUT): subrow13 (pointers spread over all nodes before "
      "hashing) vs base (main 9886116, pointers as stored) and vs buildmem_s14/bit_identity.txt's buildmem block")
print("identical to base:", sum(base.get(k) == v for k, v in new.items()), "of", len(new))
print("identical to buildmem_s14 (committed):", sum(bm.get(k) == v for k, v in new.items()), "of", len(new))
for k, v in sorted(new.items()):
    print(k, "same" if base.get(k) == v else "DIFFERENT")
