#!/usr/bin/env python3
"""The false-alarm gate on real benign text: every message of GOLD is
routine, so each harassment or escalate verdict in PRED is a false alarm.
Prints each with the entries that fired (never its text: ids only) and fails
past the bounds."""
import argparse, json, sys

ap = argparse.ArgumentParser()
ap.add_argument("gold")
ap.add_argument("pred")
ap.add_argument("--max-harassment", type=int, required=True)
ap.add_argument("--max-escalate", type=int, required=True)
a = ap.parse_args()

n = sum(1 for _ in open(a.gold, encoding="utf-8"))
count = {"harassment": 0, "escalate": 0}
for line in open(a.pred, encoding="utf-8"):
    p = json.loads(line)
    if p.get("label") in count:
        count[p["label"]] += 1
        fired = ", ".join(f"{m['category']}:{m['entry']}" for m in p.get("matches", []))
        print(f"false {p['label']}: {p.get('id')}: {fired}")
print(f"benign n={n}: {count['harassment']} harassment (max {a.max_harassment}), "
      f"{count['escalate']} escalate (max {a.max_escalate})")
if count["harassment"] > a.max_harassment or count["escalate"] > a.max_escalate:
    sys.exit(1)
