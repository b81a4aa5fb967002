#!/usr/bin/env python3
"""Collects the measurements of bench/run.sh into a Markdown table, a CSV
and PNG plots.

    report.py --bench build/bench --results bench/results

Reads BENCH/machine.txt, BENCH/semqr/SIZE/run-cold.{jsonl,time} and
run-warmN.{summary,time}, BENCH/dose/DOSE/run-warm1.{jsonl,time} and
BENCH/peers/*.json (see peers.py); writes RESULTS/latest.md, latest.csv,
throughput.png, memory.png and, with a dose sweep, rate-vs-dose.png.
A block that bench/lowdose.py put into latest.md (between its markers) is
kept at the end of the new latest.md.

Per semqr run: the process's wall time and peak resident set size from
`/usr/bin/time -v`, and from the summary line the seconds per stage (group,
locate and decode are summed over the decoder threads, so they can exceed
the wall time) and the library call's total. Runs of a binary from before
the group and output stages existed have no such keys: their cells stay
empty and their rows are marked. Warm figures are medians over the warm
runs, each figure separately. Correct and wrong payloads are scored against
the ground truth by peers.score, as for the peers.
"""
import argparse
import csv
import glob
import json
import os
import re
import statistics
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import load_truth, score  # noqa: E402
from lowdose import LATEST_BEGIN, LATEST_END  # noqa: E402

STAGES = ["read", "upload", "load", "flatten", "denoise", "binarize", "finder", "group",
          "locate", "decode", "output"]
# Marks the rows of runs from before the group/output split.
BEFORE_SPLIT = " †"
BUDGET_MB = 1024


def read_time_v(path):
    """(wall seconds, peak RSS in KB) from a `/usr/bin/time -v` report."""
    text = open(path).read()
    m = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return wall, rss


def read_summary(path):
    """The last JSON line of a decode output: the scan's summary."""
    with open(path) as f:
        last = f.readlines()[-1]
    s = json.loads(last)
    if s.get("type") != "summary":
        raise ValueError("%s: last line is not a summary" % path)
    return s


def semqr_run(stem, kind, jsonl=None):
    """One decode run as a flat record."""
    s = read_summary(stem + (".jsonl" if jsonl else ".summary"))
    wall, rss = read_time_v(stem + ".time")
    r = {"tool": "semqr", "mode": "tiles %d" % s["tile"], "kind": kind,
         "scan": s["file"], "side": s["width"], "pixels": s["pixels"],
         "located": s["located"], "failed": s["failed"], "device": s["device"],
         "wall_s": wall, "total_s": s["seconds"]["total"], "peak_rss_kb": rss,
         "memory_planned_mb": s["memory_bytes"] / 2**20}
    for st in STAGES:
        r[st + "_s"] = s["seconds"].get(st)
    r["split"] = "group" in s["seconds"]
    if jsonl:
        truth = load_truth(s["file"])
        payloads = []
        with open(stem + ".jsonl") as f:
            for line in f:
                o = json.loads(line)
                if o.get("type") == "symbol":
                    payloads.append(o["payload"])
        r["expected"], r["correct"], r["wrong"] = score(payloads, truth)
        r["dose"] = truth["options"]["dose"]
    return r


def median_record(runs):
    """Median of each numeric field over warm runs; other fields from the first."""
    m = dict(runs[0])
    for k, v in runs[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            m[k] = statistics.median(r[k] for r in runs)
    m["kind"] = "warm (median of %d)" % len(runs)
    m["runs"] = len(runs)
    return m


def derive(r):
    """Adds throughput figures to a record."""
    if r.get("error"):  # the reader failed: its time measures nothing
        r["wall_s"] = None
        r["mpix_per_s"] = r["s_per_mpix"] = r["symbols_per_s"] = None
        r["peak_rss_mb"] = r["peak_rss_kb"] / 1024
        return r
    wall = r["wall_s"]
    r["mpix_per_s"] = r["pixels"] / wall / 1e6 if wall > 0 else None
    r["s_per_mpix"] = wall / (r["pixels"] / 1e6)
    r["symbols_per_s"] = r.get("correct", 0) / wall if wall > 0 else None
    r["peak_rss_mb"] = r["peak_rss_kb"] / 1024
    return r


def collect(bench):
    semqr, dose, peers = [], [], []
    for d in sorted(glob.glob(os.path.join(bench, "semqr", "*"))):
        cold = os.path.join(d, "run-cold")
        if not os.path.exists(cold + ".time"):
            continue
        c = semqr_run(cold, "cold", jsonl=True)
        warm = [semqr_run(p[:-len(".time")], "warm")
                for p in sorted(glob.glob(os.path.join(d, "run-warm*.time")))]
        for w in warm:
            for k in ("expected", "correct", "wrong", "dose"):
                w[k] = c[k]  # the same file: the cold run's symbols stand for all
        semqr.append(derive(c))
        if warm:
            semqr.append(derive(median_record(warm)))
    for d in glob.glob(os.path.join(bench, "dose", "*")):
        stem = os.path.join(d, "run-warm1")
        if os.path.exists(stem + ".time"):
            dose.append(derive(semqr_run(stem, "once", jsonl=True)))
    for p in sorted(glob.glob(os.path.join(bench, "peers", "*.json"))):
        for r in json.load(open(p)):
            truth = load_truth(r["scan"])
            r["side"] = truth["image"]["width"]
            r["dose"] = truth["options"]["dose"]
            r["kind"] = "once"
            r["wall_s"] = r["seconds"]
            r["mode"] = r["mode"] if r["mode"] == "whole" else "tiles %d" % r["tile"]
            peers.append(derive(r))
    semqr.sort(key=lambda r: (r["pixels"], r["kind"]))
    dose.sort(key=lambda r: r["dose"])
    return semqr, dose, peers


def read_machine(bench):
    m = {}
    path = os.path.join(bench, "machine.txt")
    if os.path.exists(path):
        for line in open(path):
            k, _, v = line.rstrip("\n").partition("=")
            m[k] = v
    return m


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return "%.0f" % v
        return "%.*g" % (digits, v)
    return str(v)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def side_name(side):
    return "%dk" % (side // 1024) if side % 1024 == 0 else str(side)


def markdown(machine, semqr, dose, peers):
    dev = next((r["device"] for r in semqr + dose), "unknown")
    mem_gb = int(machine.get("mem_kb", "0") or 0) / 2**20
    lines = [
        "# semqr benchmark: latest results",
        "",
        "Measured %s on %s (%s cores, %.0f GiB RAM, %s), OpenCL device `%s`, %s (binary built "
        "%s; repository HEAD %s at run time). "
        "Load average before/after: %s / %s. The cores are shared with other work, so "
        "absolute times are noisy (compare within a run, not across runs)."
        % (machine.get("date", "?"), machine.get("cpu", "?"), machine.get("nproc", "?"), mem_gb,
           machine.get("kernel", "?"), dev, machine.get("semqr", "?"),
           machine.get("semqr_built", "?"), machine.get("commit", "?"), machine.get("load_before", "?"),
           machine.get("load_after", "?")),
        "",
        "Plates: default physics (`datasets/generate.sh plate SIZE`, seed 16), 8-bit, "
        "uncompressed. Cold: first run with an empty PoCL kernel cache (every kernel "
        "compiled in that run); warm: later runs, medians. Default options "
        "(2048-pixel tiles, 1 GiB budget).",
        "",
        "## semqr end to end",
        "",
        table(["plate", "run", "Mpixel", "symbols expected", "correct", "wrong", "wall s",
               "Mpixel/s", "symbols/s", "s per Mpixel", "peak RSS MB", "planned MB"],
              [[side_name(r["side"]), r["kind"], r["pixels"] / 1e6, r["expected"],
                r["correct"], r["wrong"], r["wall_s"], r["mpix_per_s"], r["symbols_per_s"],
                r["s_per_mpix"], r["peak_rss_mb"], r["memory_planned_mb"]] for r in semqr]),
        "",
        "## semqr per stage (seconds; Mpixel/s in brackets)",
        "",
        "Read runs on the reader thread, overlapping the rest; upload on the main thread; "
        "the device stages (load is fused into flatten) are their kernels' device times "
        "from OpenCL profiling events, each tile's chain being enqueued at once and waited "
        "for once; group (clustering finder runs into finder "
        "patterns, grouping these into symbols), locate (geometry: version, homography) "
        "and decode (sampling, Reed-Solomon) exclude each other, are summed over the "
        "decoder threads and overlap the rest. Output is the time in the decode callbacks "
        "(writing the JSON Lines), on the main thread, inside `total`; `outside` is the "
        "process wall time minus the library call (start-up, OpenCL platform and context, "
        "exit). Rows marked%s were measured before group and output were split out: their "
        "locate also covered clustering and grouping, and output was not measured (empty "
        "cells)." % BEFORE_SPLIT,
        "",
    ]
    head = ["plate", "run"] + STAGES + ["total", "outside"]
    rows = []
    for r in semqr:
        row = [side_name(r["side"]), r["kind"] + ("" if r["split"] else BEFORE_SPLIT)]
        for st in STAGES:
            s = r[st + "_s"]
            row.append("" if s is None else
                       "%s (%s)" % (fmt(s), fmt(r["pixels"] / s / 1e6 if s > 0 else None)))
        row += [r["total_s"], r["wall_s"] - r["total_s"]]
        rows.append(row)
    lines += [table(head, rows), ""]
    warm = [r for r in semqr if r["kind"].startswith("warm")]
    if len(warm) >= 2:
        lo, hi = warm[0], warm[-1]
        big = [r for r in warm if r["side"] >= 8192] or warm
        lines += ["## Scaling", "",
                  "Warm medians, from %s to %s (x%s the pixels): time per Mpixel %s -> %s s, "
                  "peak RSS %s -> %s MB; the budget is %d MB. Plates of 8k and more "
                  "(fixed start-up amortised): time per Mpixel between %s and %s s (ratio %s), "
                  "peak RSS between %s and %s MB."
                  % (side_name(lo["side"]), side_name(hi["side"]),
                     fmt(float(hi["pixels"] / lo["pixels"])), fmt(lo["s_per_mpix"]),
                     fmt(hi["s_per_mpix"]), fmt(lo["peak_rss_mb"]), fmt(hi["peak_rss_mb"]),
                     BUDGET_MB, fmt(min(r["s_per_mpix"] for r in big)),
                     fmt(max(r["s_per_mpix"] for r in big)),
                     fmt(max(r["s_per_mpix"] for r in big) / min(r["s_per_mpix"] for r in big)),
                     fmt(min(r["peak_rss_mb"] for r in big)),
                     fmt(max(r["peak_rss_mb"] for r in big))), ""]
    plate_peers = [r for r in peers if r["dose"] == 100]
    if plate_peers:
        rows = []
        for r in semqr:
            if r["kind"].startswith("warm"):
                rows.append(["semqr", r["mode"], side_name(r["side"]), r["expected"],
                             r["correct"], r["wrong"], r["wall_s"], r["mpix_per_s"],
                             r["peak_rss_mb"], ""])
        for r in sorted(plate_peers, key=lambda r: (r["pixels"], r["peer"], r["mode"])):
            rows.append([r["peer"], r["mode"], side_name(r["side"]), r["expected"],
                         r["correct"], r["wrong"], r["wall_s"], r["mpix_per_s"],
                         r["peak_rss_mb"], r["error"] or ""])
        lines += ["## Side by side on the same plates", "",
                  "Peers get the raw 8-bit scan: the whole plate, or tiles cut with an "
                  "overlap of the largest symbol plus its quiet zone (every symbol lies whole "
                  "in some tile; payloads merged). Time: the peer's decoding calls, or a "
                  "program's whole run (which includes its own image reading); our tile "
                  "cutting is not counted. One run each. semqr: warm medians, whole process.",
                  "",
                  table(["reader", "input", "plate", "expected", "correct", "wrong", "s",
                         "Mpixel/s", "peak RSS MB", "error"], rows), ""]
    if dose:
        byd = {}
        for r in dose:
            byd.setdefault(r["dose"], {})["semqr"] = r
        for r in peers:
            if r["side"] == 2048 and r["scan"].find("dose") >= 0:
                byd.setdefault(r["dose"], {})["%s %s" % (r["peer"], r["mode"])] = r
        cols = sorted({k for v in byd.values() for k in v}, key=lambda k: (k != "semqr", k))
        rows = [[d] + ["%d/%d (%d wrong)" % (v[c]["correct"], v[c]["expected"], v[c]["wrong"])
                       if c in v else "-" for c in cols] for d, v in sorted(byd.items())]
        lines += ["## Decode rate against dose", "",
                  "2048 x 2048 plates (64 symbols) at default physics but the dose "
                  "(detected quanta per pixel on the film; 100 is the default).", "",
                  table(["dose"] + cols, rows), ""]
    return "\n".join(lines)


CSV_FIELDS = ["tool", "mode", "kind", "scan", "side", "pixels", "dose", "expected", "correct",
              "wrong", "wall_s", "mpix_per_s", "symbols_per_s", "s_per_mpix", "peak_rss_mb",
              "total_s"] + [s + "_s" for s in STAGES] + ["device", "error"]


def write_csv(path, semqr, dose, peers):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in semqr + dose:
            w.writerow({k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()})
        for r in peers:
            r = dict(r, tool=r["peer"])
            w.writerow({k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()})


def plots(results, semqr, dose, peers):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    def series(records, key):
        groups = {}
        for r in records:
            groups.setdefault(key(r), []).append(r)
        return {k: sorted(v, key=lambda r: r["pixels"]) for k, v in sorted(groups.items())}

    plate_peers = [r for r in peers if r["dose"] == 100 and not r["error"]]
    lines = series(semqr, lambda r: "semqr " + ("cold" if r["kind"] == "cold" else "warm"))
    lines.update(series(plate_peers, lambda r: "%s %s" % (r["peer"], r["mode"])))

    for name, field, ylabel, budget in (("throughput.png", "mpix_per_s", "Mpixel/s", False),
                                        ("memory.png", "peak_rss_mb", "peak RSS (MB)", True)):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, rs in lines.items():
            ax.plot([r["pixels"] / 1e6 for r in rs], [r[field] for r in rs], "o",
                    label=label, linestyle="--" if not label.startswith("semqr") else "-")
        if budget:
            ax.axhline(BUDGET_MB, color="grey", linestyle=":", label="semqr budget (1 GiB)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "%g" % v))
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title("%s against scan size (peers: see the table for what they decoded)"
                     % ylabel, fontsize=9)
        ax.set_xlabel("scan size (Mpixel)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(results, name), dpi=100)
        plt.close(fig)

    if dose:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.plot([r["dose"] for r in dose], [100 * r["correct"] / r["expected"] for r in dose],
                "o-", label="semqr")
        dose_peers = [r for r in peers if "dose" in os.path.basename(r["scan"])]
        for label, rs in series(dose_peers, lambda r: "%s %s" % (r["peer"], r["mode"])).items():
            rs = sorted(rs, key=lambda r: r["dose"])
            ax.plot([r["dose"] for r in rs], [100 * r["correct"] / r["expected"] for r in rs],
                    "o--", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("dose (detected quanta per pixel on the film)")
        ax.set_ylabel("symbols decoded correctly (%)")
        ax.set_ylim(-2, 102)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(results, "rate-vs-dose.png"), dpi=100)
        plt.close(fig)


def lowdose_block(path):
    """The block bench/lowdose.py wrote into an existing latest.md, or None."""
    if not os.path.exists(path):
        return None
    m = re.search(re.escape(LATEST_BEGIN) + ".*?" + re.escape(LATEST_END), open(path).read(),
                  re.S)
    return m.group(0) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default="build/bench")
    ap.add_argument("--results", default="bench/results")
    a = ap.parse_args()
    os.makedirs(a.results, exist_ok=True)
    semqr, dose, peers = collect(a.bench)
    if not semqr:
        sys.exit("report.py: no semqr runs under %s/semqr" % a.bench)
    machine = read_machine(a.bench)
    latest = os.path.join(a.results, "latest.md")
    kept = lowdose_block(latest)
    with open(latest, "w") as f:
        f.write(markdown(machine, semqr, dose, peers) + "\n")
        if kept:
            f.write("\n" + kept + "\n")
    write_csv(os.path.join(a.results, "latest.csv"), semqr, dose, peers)
    plots(a.results, semqr, dose, peers)
    print("report.py: wrote %s/latest.md, latest.csv and plots" % a.results)


if __name__ == "__main__":
    main()
