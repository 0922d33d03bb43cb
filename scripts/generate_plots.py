#!/usr/bin/env python3
"""Draws the benchmark plots.

    scripts/generate_plots.py bench/results/kv_index_*.json -o bench/rmi_vs_btree.png
    scripts/generate_plots.py --peers build/peers/results.json --out-dir bench

The first form (kv_index Google Benchmark JSON files) draws one panel per
distribution: dependent-loop lookup latency (ns) of every structure at every
key count found in the files, plus a text table on stdout.

The second form (the results.json of scripts/compare_peers.sh) draws
<out-dir>/peers_throughput.png (requests/s of KyroDB and each peer, per
workload and client) and <out-dir>/peers_latency_cdf.png (latency CDFs of
every kyrodb-bench run, with the percentiles wrk and redis-benchmark report
as markers).

Needs matplotlib (Debian: apt-get install python3-matplotlib; the Debian
/usr/bin/python3 has it); without it the tables are still printed and the
script says what is missing.
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


def import_pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        print("\nmatplotlib is not installed, so no plot was drawn "
              "(Debian: apt-get install python3-matplotlib; /usr/bin/python3 has it).", file=sys.stderr)
        return None


def peers(path, out_dir):
    """Throughput bars and latency CDFs from compare_peers.sh's results.json."""
    with open(path) as f:
        doc = json.load(f)
    rows = doc.get("rows", [])
    if not rows:
        print(f"no rows in {path}", file=sys.stderr)
        return 1
    print(f"{'system':<28} {'workload':<22} {'client':<16} {'req/s':>12} {'p99':>10}")
    for r in rows:
        p99 = r.get("p99_us")
        print(f"{r['system']:<28} {r['workload']:<22} {r['client']:<16} {r['rps']:>12,.0f} "
              f"{(f'{p99/1000:.2f} ms' if p99 is not None else '-'):>10}")
    plt = import_pyplot()
    if plt is None:
        return 0
    import os
    os.makedirs(out_dir, exist_ok=True)
    machine = doc.get("machine", "")
    cpu = next((l.split(":", 1)[1].strip() for l in machine.splitlines() if l.startswith("cpu:")), "")
    nproc = next((l.split(":", 1)[1].strip() for l in machine.splitlines() if l.startswith("nproc:")), "")
    subtitle = f"{cpu}, {nproc} vCPUs shared by server and client" if cpu else ""
    # Older results.json files have no idle column (4 fields per phase).
    idle = [float(l[3]) for l in doc.get("loads", {}).values() if len(l) > 3 and l[3]]
    date = next((l.split(":", 1)[1].strip() for l in machine.splitlines() if l.startswith("date:")), "")
    if idle:
        subtitle += f"; CPUs {min(idle):.0f}-{max(idle):.0f} % idle before each phase"
    if date:
        subtitle += f"; {date}"
    rounds = max((len(r.get("rounds_rps") or []) for r in rows), default=0)
    if rounds > 1:
        subtitle += f"\nbars: the median of {rounds} alternating rounds; whiskers: slowest to fastest round"

    workloads = []
    for r in rows:
        if r["workload"] not in workloads:
            workloads.append(r["workload"])
    fig, axes = plt.subplots(1, len(workloads), figsize=(6.5 * len(workloads), 4.8), squeeze=False)
    colors = {"kyrodb": "tab:blue", "nginx": "tab:green", "etcd": "tab:orange", "redis": "tab:red"}
    for ax, wl in zip(axes[0], workloads):
        sel = [r for r in rows if r["workload"] == wl]
        labels = [f"{r['system']}\n{r['client']}" for r in sel]
        vals = [r["rps"] for r in sel]
        cols = [colors.get(r["system"].split(" ")[0], "tab:gray") for r in sel]
        # Rounds (compare_peers KYRO_PEERS_ROUNDS): the bar is the round of
        # median req/s, the whisker spans the slowest to the fastest round.
        lo = [v - min(r.get("rounds_rps") or [v]) for r, v in zip(sel, vals)]
        hi = [max(r.get("rounds_rps") or [v]) - v for r, v in zip(sel, vals)]
        bars = ax.bar(range(len(sel)), vals, color=cols, yerr=[lo, hi] if any(lo) or any(hi) else None,
                      capsize=4, ecolor="black")
        for b, v in zip(bars, vals):
            # Inside the bar: above it the whisker would cross the label.
            ax.annotate(f"{v/1000:.1f}k", (b.get_x() + b.get_width() / 2, v / 2), ha="center", va="center",
                        fontsize=9, color="white", fontweight="bold")
        ax.set_xticks(range(len(sel)))
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_ylabel("requests/s")
        conns = sel[0].get("connections", "")
        ax.set_title(f"{wl} ({conns} connections)")
        ax.grid(axis="y", alpha=0.3)
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    fig.tight_layout()
    out = f"{out_dir}/peers_throughput.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")

    fig, axes = plt.subplots(1, len(workloads), figsize=(6.5 * len(workloads), 4.8), squeeze=False)
    for ax, wl in zip(axes[0], workloads):
        for r in (r for r in rows if r["workload"] == wl):
            color = colors.get(r["system"].split(" ")[0], "tab:gray")
            label = f"{r['system']} ({r['client']})"
            if r.get("cdf_us"):
                xs = [p[0] / 1000.0 for p in r["cdf_us"]]
                ys = [p[1] for p in r["cdf_us"]]
                ax.step(xs, ys, where="post", label=label, color=color)
            else:
                pts = [(q, r.get(k)) for q, k in ((0.5, "p50_us"), (0.9, "p90_us"), (0.99, "p99_us"))
                       if r.get(k) is not None]
                if pts:
                    ax.plot([v / 1000.0 for _, v in pts], [q for q, _ in pts], "x--", label=label,
                            color=color, alpha=0.7)
        ax.set_xscale("log")
        ax.set_xlabel("latency (ms, log)")
        ax.set_ylabel("fraction of requests")
        ax.set_title(f"{wl}: latency CDF")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="lower right")
    if subtitle:
        fig.suptitle(subtitle, fontsize=9)
    fig.tight_layout()
    out = f"{out_dir}/peers_latency_cdf.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", nargs="*", help="kv_index --benchmark_out files")
    ap.add_argument("-o", "--output", default="bench/rmi_vs_btree.png")
    ap.add_argument("--metric", default="real_time", choices=["real_time", "cpu_time"],
                    help="cpu_time is steadier on a shared machine")
    ap.add_argument("--peers", metavar="RESULTS_JSON",
                    help="draw throughput bars and latency CDFs from compare_peers.sh results")
    ap.add_argument("--out-dir", default="bench", help="where --peers writes its PNGs")
    args = ap.parse_args()
    if args.peers:
        return peers(args.peers, args.out_dir)
    if not args.json:
        ap.error("give kv_index JSON files, or --peers RESULTS_JSON")

    results = load(args.json, args.metric)
    if not results:
        print("no dependent-loop results found in the given files", file=sys.stderr)
        return 1
    print_table(results)

    plt = import_pyplot()
    if plt is None:
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
