#!/usr/bin/env python3
"""The recall gate on real toxic text written by others: GOLD labels each
text harassment (toxic) or routine; PRED is `kasuhara classify` output.
Prints harassment recall and precision and fails under the bounds. Only
figures are printed, never text."""
import argparse, json, sys

ap = argparse.ArgumentParser()
ap.add_argument("gold")
ap.add_argument("pred")
ap.add_argument("--min-recall", type=float, required=True)
ap.add_argument("--min-precision", type=float, required=True)
a = ap.parse_args()

gold = {}
for line in open(a.gold, encoding="utf-8"):
    if line.strip():
        g = json.loads(line)
        gold[str(g["id"])] = g["label"]
tp = fp = fn = 0
seen = set()
for line in open(a.pred, encoding="utf-8"):
    if not line.strip():
        continue
    p = json.loads(line)
    i = str(p.get("id"))
    seen.add(i)
    said, toxic = p.get("label") == "harassment", gold.get(i) == "harassment"
    tp += said and toxic
    fp += said and not toxic
    fn += toxic and not said
missing = set(gold) - seen
if missing:
    print(f"missing predictions for {len(missing)} of {len(gold)} ids")
    sys.exit(1)
recall = tp / (tp + fn) if tp + fn else 0.0
precision = tp / (tp + fp) if tp + fp else 0.0
print(f"toxic n={len(gold)}: harassment recall {recall:.3f} (min {a.min_recall}), "
      f"precision {precision:.3f} (min {a.min_precision})")
sys.exit(0 if recall >= a.min_recall and precision >= a.min_precision else 1)
