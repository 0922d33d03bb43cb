#!/usr/bin/env python3
"""Draws bench/rmi_vs_btree.png from kv_index Google Benchmark JSON files.

    scripts/generate_plots.py bench/results/kv_index_*.json -o bench/rmi_vs_btree.png

One panel per distribution: dependent-loop lookup latency (ns) of every
structure at every key count found in the files, plus a text table on stdout.
Needs matplotlib (Debian: apt-get install python3-matplotlib); without it the
table is still printed and the script says what is missing.
"""
import argparse
import json
import sys
from collections import defaultdict

ORDER = ["DependentRead", "Rmi", "LowerBound", "BtreeMap", "FlatHashMap", "StdMap"]


def load(paths, metric):
    # results[dist][structure][n] = ns per lookup (dependent loop)
    results = defaultdict(lambda: defaultdict(dict))
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        for b in doc.get("benchmarks", []):
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            parts = b["name"].split("/")
            if len(parts) < 3 or parts[2] != "dep":
                continue
            structure, dist = parts[0], parts[1]
            n = int(b.get("keys", 0))
            scale = {"ns": 1.0, "us": 1e3, "ms": 1e6}.get(b.get("time_unit", "ns"), 1.0)
            results[dist][structure][n] = b[metric] * scale
    return results


def print_table(results):
    for dist in sorted(results):
        print(f"\n{dist} (dependent loop, ns/lookup)")
        sizes = sorted({n for s in results[dist].values() for n in s})
        print("structure".ljust(14) + "".join(f"{n:>14,}" for n in sizes))
        for structure in [s for s in ORDER if s in results[dist]]:
            row = results[dist][structure]
            print(structure.ljust(14) + "".join(
                f"{row[n]:>14.1f}" if n in row else " " * 14 for n in sizes))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="+", help="kv_index --benchmark_out files")
    ap.add_argument("-o", "--output", default="bench/rmi_vs_btree.png")
    ap.add_argument("--metric", default="real_time", choices=["real_time", "cpu_time"],
                    help="cpu_time is steadier on a shared machine")
    args = ap.parse_args()

    results = load(args.json, args.metric)
    if not results:
        print("no dependent-loop results found in the given files", file=sys.stderr)
        return 1
    print_table(results)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nmatplotlib is not installed, so no plot was drawn "
              "(Debian: apt-get install python3-matplotlib).", file=sys.stderr)
        return 0

    dists = sorted(results)
    fig, axes = plt.subplots(1, len(dists), figsize=(5 * len(dists), 4.5), squeeze=False)
    for ax, dist in zip(axes[0], dists):
        structures = [s for s in ORDER if s in results[dist]]
        sizes = sorted({n for s in results[dist].values() for n in s})
        width = 0.8 / max(1, len(structures))
        for i, structure in enumerate(structures):
            xs = [j + i * width for j, n in enumerate(sizes) if n in results[dist][structure]]
            ys = [results[dist][structure][n] for n in sizes if n in results[dist][structure]]
            ax.bar(xs, ys, width, label=structure)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(sizes))])
        ax.set_xticklabels([f"{n / 1e6:g}M" for n in sizes])
        ax.set_title(f"{dist}: dependent lookup")
        ax.set_ylabel(f"ns per lookup ({args.metric})")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
