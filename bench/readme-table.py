#!/usr/bin/env python3
"""Rewrites the README's benchmark table (the one after `<!--fig bench table-->`) from
bench/results/latest.md: the README's own columns and rows, each cell copied as it is, so the
two never disagree (tests/figures.rs checks it). Usage: bench/readme-table.py [README.md]"""
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
readme = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "README.md"
latest = (root / "bench/results/latest.md").read_text().splitlines()

def cells(line):
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return [c.strip() for c in line[1:-1].split("|")]

# The first table of latest.md: the figures.
start = next(i for i, l in enumerate(latest) if cells(l) and cells(l)[0] == "figure")
header = cells(latest[start])
rows = {}
for line in latest[start + 2:]:
    row = cells(line)
    if row is None:
        break
    rows[row[0]] = dict(zip(header, row))

text = readme.read_text().splitlines()
at = text.index("<!--fig bench table-->") + 1
columns = cells(text[at])
end = at + 2
while end < len(text) and cells(text[end]) is not None:
    end += 1
labels = [cells(l)[0] for l in text[at + 2:end]]
missing = [l for l in labels if l not in rows]
if missing:
    sys.exit(f"readme-table.py: rows not in latest.md: {missing}")
table = [text[at], text[at + 1]] + [
    "| " + " | ".join([label] + [rows[label].get(c, "–") for c in columns[1:]]) + " |"
    for label in labels
]
readme.write_text("\n".join(text[:at] + table + text[end:]) + "\n")
print(f"readme-table.py: {len(labels)} rows of {len(columns) - 1} columns from {latest and 'bench/results/latest.md'}")
