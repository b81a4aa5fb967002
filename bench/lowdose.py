#!/usr/bin/env python3
"""Scores and reports the runs of bench/lowdose.sh: decode rate against dose,
under drift, on frame stacks, and the ablation of the low-dose steps.

    lowdose.py --bench build/bench/lowdose --results bench/results
    lowdose.py --bench build/bench/lowdose --pick auto|D1,D2

Reads BENCH/machine.txt, BENCH/parts.txt, BENCH/semqr/PART/RUN.meta with
RUN.jsonl and RUN.err beside it, and BENCH/peers/*.json (bench/peers.py).
Every scan is scored against its ground truth (SCAN.json) by peers.score:
payloads of the symbols inside the image are expected; a decoded payload
among them is correct, any other wrong. Scans are named by lowdose.sh:
dose-dDOSE-sSEED, drift-sSEED, stack-SCENARIO-dDOSE-sSEED ("clean" as DOSE
is a noise-free render).

Writes RESULTS/lowdose.md, lowdose.csv (one row per scan and reader run) and
lowdose-rate-vs-dose.png, and puts the conclusions into RESULTS/latest.md
between the markers LATEST_BEGIN and LATEST_END (replacing what was there;
bench/report.py keeps that block when it rewrites latest.md).

--pick prints the scans the ablation runs on, one "KIND SCENARIO DOSE" line
each: with auto, the dose plates at semqr's lowest 99 % dose and at the grid
dose below it (from the dose part), otherwise at the doses given; then per
stack scenario the lowest per-frame dose at which the registered stack
reached 99 % (the highest stack dose if none did).
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import load_truth, score  # noqa: E402

GOAL = 0.99  # the decode rate a reader must reach
LATEST_BEGIN = "<!-- lowdose.sh: begin -->"
LATEST_END = "<!-- lowdose.sh: end -->"
SCAN_NAME = re.compile(r"^(?:dose-d(?P<dose>\w+)|drift|stack-(?P<scenario>[a-z]+)-d(?P<sdose>\d+))"
                       r"-s(?P<seed>\d+)$")
PEER_ORDER = ["zbar whole", "zbar tiles", "zxing whole", "zxing tiles", "quirc whole",
              "quirc tiles"]
ABLATION = [("all-on", "everything on (defaults)"), ("no-denoise", "--no-denoise"),
            ("sigma-third", "--denoise-sigma 2.042 (a third of a module)"),
            ("centre", "--sampling centre"), ("no-erasures", "--no-erasures"),
            ("no-padding", "--no-padding"), ("no-retry", "--retry-ms 0"),
            ("stack-mean", "--stack mean")]


# --- reading --------------------------------------------------------------

def scan_info(path):
    """(kind, scenario, dose, seed) from a scan's file name; dose is a float
    (inf for the noise-free render) or None for drift plates."""
    name = os.path.splitext(os.path.basename(path))[0]
    m = SCAN_NAME.match(name)
    if not m:
        raise ValueError("%s: not a lowdose.sh scan name" % path)
    seed = int(m.group("seed"))
    if m.group("dose"):
        d = m.group("dose")
        return "dose", None, float("inf") if d == "clean" else float(d), seed
    if m.group("scenario"):
        return "stack", m.group("scenario"), float(m.group("sdose")), seed
    return "drift", None, None, seed


def read_meta(path):
    meta = {"scan": []}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition("=")
        if k == "scan":
            meta["scan"].append(v)
        else:
            meta[k] = v
    return meta


def semqr_records(bench):
    """One record per scan of every semqr run."""
    out = []
    for mpath in sorted(glob.glob(os.path.join(bench, "semqr", "*", "*.meta"))):
        meta = read_meta(mpath)
        stem = mpath[:-len(".meta")]
        payloads, summaries = {}, {}
        if os.path.exists(stem + ".jsonl"):
            for line in open(stem + ".jsonl"):
                o = json.loads(line)
                if o.get("type") == "symbol":
                    payloads.setdefault(o["file"], []).append(o["payload"])
                elif o.get("type") == "summary":
                    summaries[o["file"]] = o
        err_lines = []
        if os.path.exists(stem + ".err"):
            err_lines = [line.strip() for line in open(stem + ".err") if line.strip()]
        for scan in meta["scan"]:
            kind, scenario, dose, seed = scan_info(scan)
            truth = load_truth(scan)
            expected, correct, wrong = score(payloads.get(scan, []), truth)
            s = summaries.get(scan)
            error = None
            if s is None:
                error = "no summary (exit %s)%s" % (meta["exit"], ": " + err_lines[-1]
                                                     if err_lines else "")
            out.append({"part": meta["part"], "run": meta["run"], "reader": "semqr",
                        "mode": meta["flags"] or "defaults", "flags": meta["flags"],
                        "scan": scan, "kind": kind, "scenario": scenario, "dose": dose,
                        "seed": seed, "frames": truth["image"].get("frames", 1),
                        "expected": expected, "correct": correct, "wrong": wrong,
                        "stack": s.get("stack") if s else None,
                        "frames_integrated": s.get("frames_integrated") if s else None,
                        "seconds": float(meta["seconds"]), "error": error})
    return out


def peer_records(bench):
    out = []
    for p in sorted(glob.glob(os.path.join(bench, "peers", "*.json"))):
        for r in json.load(open(p)):
            kind, scenario, dose, seed = scan_info(r["scan"])
            mode = "whole" if r["mode"] == "whole" else "tiles"
            out.append({"part": kind, "run": "", "reader": r["peer"],
                        "mode": mode if mode == "whole" else "tiles %d" % r["tile"],
                        "series": "%s %s" % (r["peer"], mode), "flags": "",
                        "scan": r["scan"], "kind": kind, "scenario": scenario, "dose": dose,
                        "seed": seed, "frames": 1, "expected": r["expected"],
                        "correct": r["correct"], "wrong": r["wrong"], "stack": None,
                        "frames_integrated": None, "seconds": r["seconds"],
                        "error": r["error"]})
    return out


def read_kv(path):
    kv = {}
    if os.path.exists(path):
        for line in open(path):
            k, _, v = line.rstrip("\n").partition("=")
            kv[k] = v
    return kv


# --- aggregation ----------------------------------------------------------

def total(records):
    """(expected, correct, wrong, errors) summed over records."""
    return (sum(r["expected"] for r in records), sum(r["correct"] for r in records),
            sum(r["wrong"] for r in records), sorted({r["error"] for r in records if r["error"]}))


def rate(records):
    e, c, _, _ = total(records)
    return c / e if e else 0.0


def cell(records):
    """correct/expected (rate), with wrong payloads and errors when any."""
    if not records:
        return "-"
    e, c, w, errs = total(records)
    s = "%d/%d (%s %%)" % (c, e, pct(c / e if e else 0.0))
    if w:
        s += ", **%d wrong**" % w
    if errs:
        s += ", error: " + "; ".join(errs)[:160]
    return s


def pct(x):
    """A rate in per cent, rounded down to 0.1 so that a rate below 99 % never
    shows as 99.0."""
    v = math.floor(1000 * x + 1e-9) / 10
    return "%.0f" % v if v in (0.0, 100.0) else "%.1f" % v


def dose_name(d):
    if d == float("inf"):
        return "no noise"
    return "%g" % d


def threshold(by_dose):
    """(lowest dose from which on every numeric grid dose reaches GOAL, the
    grid dose just below it, which does not) for {dose: records}; the
    noise-free render is left out. (None, highest dose) if the highest
    numeric dose fails."""
    doses = sorted(d for d in by_dose if d != float("inf"))
    thr = None
    for d in reversed(doses):
        if rate(by_dose[d]) >= GOAL:
            thr = d
        else:
            return thr, d
    return thr, None


def series_by_dose(records, key):
    """{series: {dose: [records]}} for the dose part."""
    out = {}
    for r in records:
        if r["kind"] == "dose":
            out.setdefault(key(r), {}).setdefault(r["dose"], []).append(r)
    return out


# --- picking the ablation scans -------------------------------------------

def pick(semqr, arg):
    lines = []
    if arg == "auto":
        dose = series_by_dose([r for r in semqr if r["part"] == "dose"], lambda r: "semqr")
        if "semqr" not in dose:
            sys.exit("lowdose.py: no dose part results to pick the ablation doses from; "
                     "run --parts dose first or pass --ablation-doses D1,D2")
        thr, below = threshold(dose["semqr"])
        doses = [d for d in (thr, below) if d is not None]
        # and the lowest dose of the grid, where the rescues matter most
        low = min(d for d in dose["semqr"] if d > 0)
        if low not in doses:
            doses.append(low)
    else:
        doses = [float(d) for d in arg.split(",")]
    lines += ["dose plate %g" % d for d in doses]
    stacks = {}
    for r in semqr:
        if r["part"] == "stack" and r["run"].endswith("-register"):
            stacks.setdefault(r["scenario"], {}).setdefault(r["dose"], []).append(r)
    for sc in sorted(stacks):
        ok = [d for d in sorted(stacks[sc]) if rate(stacks[sc][d]) >= GOAL]
        lines.append("stack %s %g" % (sc, ok[0] if ok else max(stacks[sc])))
    if not stacks:
        print("lowdose.py: no stack part results; the ablation runs on dose plates only",
              file=sys.stderr)
    return "\n".join(lines)


# --- report ---------------------------------------------------------------

def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def options_line(truth):
    o = truth["options"]
    return ("`--width %d --height %d --pixel-nm %g --module-nm %g --drift %g,%g --jumps %g "
            "--jump-min-px %g --jump-max-px %g --dwell-us %g --dose %g` (version %d; %g px per "
            "module; frame time %.1f s)"
            % (o["width"], o["height"], o["pixel_nm"], o["module_nm"],
               o["drift_nm_per_min"][0], o["drift_nm_per_min"][1], o["jumps_per_frame"],
               o["jump_min_px"], o["jump_max_px"], o["dwell_us"], o["dose"], o["version"],
               truth["derived"]["module_px"], truth["derived"]["frame_time_s"]))


def jumps_text(truth):
    js = truth["derived"].get("jumps", [])
    if not js:
        return "none"
    return ", ".join("%.1f px" % (j["shift_px"][0] ** 2 + j["shift_px"][1] ** 2) ** 0.5
                     for j in js)


def dose_section(semqr, peers, lines, summary):
    dose_semqr = series_by_dose([r for r in semqr if r["part"] == "dose"], lambda r: "semqr")
    dose_peers = series_by_dose(peers, lambda r: r["series"])
    series = dict(dose_semqr)
    series.update(dose_peers)
    if not series:
        return
    names = ["semqr"] + [p for p in PEER_ORDER if p in series]
    doses = sorted({d for s in series.values() for d in s})
    seeds = sorted({r["seed"] for s in series.values() for rs in s.values() for r in rs})
    rows = [[dose_name(d)] + [cell(series[n].get(d, [])) for n in names] for d in doses]
    thr = {n: threshold(series[n]) for n in names}
    ceiling = max(d for d in doses if d != float("inf"))
    peer_thr = [(t, b, n) for n, (t, b) in thr.items() if n != "semqr" and t is not None]
    s_thr, s_below = thr.get("semqr", (None, None))

    if s_thr is None:
        concl = ("semqr does not reach 99 %% at %s (the highest dose measured), so the ratio "
                 "is undefined." % dose_name(ceiling))
    else:
        below = (" (%s %% at %s)" % (pct(rate(series["semqr"][s_below])), dose_name(s_below))
                 if s_below is not None else " (the lowest dose measured)")
        concl = "semqr decodes >= 99 %% from dose **%s**%s" % (dose_name(s_thr), below)
        if peer_thr:
            t, b, n = min(peer_thr)
            bound = (" (at most %s / %s = %.3g: the peer fails at %s)"
                     % (dose_name(s_thr), dose_name(b), s_thr / b, dose_name(b))
                     if b is not None else "")
            ratio = s_thr / t
            concl += ("; the best peer, %s, from **%s** (%s %% at %s). Ratio semqr / best peer "
                      "= %s / %s = **%.3g**%s. Goal <= 0.25: **%s**."
                      % (n, dose_name(t), pct(rate(series[n][b])) if b is not None else "-",
                         dose_name(b) if b is not None else "-", dose_name(s_thr),
                         dose_name(t), ratio, bound, "met" if ratio <= 0.25 else "not met"))
        else:
            best = max((rate(series[n][ceiling]), n) for n in names[1:]) if names[1:] else None
            concl += ("; no peer reaches 99 %% up to %s%s. Ratio semqr / best peer < %s / %s "
                      "= **%.3g** (a bound: the peers' 99 %% dose lies above %s, if anywhere). "
                      "Goal <= 0.25: **%s**."
                      % (dose_name(ceiling),
                         " (best: %s, %s %%)" % (best[1], pct(best[0])) if best else "",
                         dose_name(s_thr), dose_name(ceiling), s_thr / ceiling,
                         dose_name(ceiling), "met" if s_thr / ceiling <= 0.25 else "not met"))
    summary.append("**Dose:** " + concl)
    per = 64 * len(seeds)
    lines += ["## Decode rate against dose", "",
              "2048 x 2048 plates of 64 symbols (version 3-M, 49 nm modules, 8 nm pixels: "
              "6.125 px per module), default physics but the dose (detected quanta per pixel "
              "on the film; 100 is the default), seeds %s: %d symbols per dose, so 99 %% "
              "allows %d missed. *no noise* is the same render without noise (`--no-noise`). "
              "semqr with default options; the peers on the whole plate and on 1024-pixel "
              "tiles overlapping by a symbol with its quiet zone (payloads merged). A reader's "
              "99 %% dose is the lowest grid dose from which on every higher grid dose reaches "
              "99 %%; the grid dose below it fails, so its true threshold lies in between. "
              "Plot: `lowdose-rate-vs-dose.png`."
              % (", ".join(map(str, seeds)), per, int(per * (1 - GOAL))), "",
              concl, "",
              table(["dose"] + names, rows), "",
              "99 % dose per reader: " + "; ".join(
                  "%s %s" % (n, dose_name(thr[n][0]) if thr[n][0] is not None
                             else "none up to %s" % dose_name(ceiling)) for n in names) + ".",
              ""]


def drift_section(semqr, peers, lines, summary):
    recs = [r for r in semqr + peers if r["kind"] == "drift" and r["part"] == "drift"]
    if not recs:
        return
    scans = sorted({r["scan"] for r in recs})
    truths = {s: load_truth(s) for s in scans}
    rows = []
    for name, key in [("semqr (defaults)", lambda r: r["reader"] == "semqr")] + \
            [(p, lambda r, p=p: r["reader"] != "semqr" and r["series"] == p) for p in PEER_ORDER]:
        rs = [r for r in recs if key(r)]
        if not rs:
            continue
        per_seed = ", ".join("%d/%d" % (r["correct"], r["expected"])
                             for r in sorted(rs, key=lambda r: r["seed"]))
        rows.append([name, cell(rs), per_seed])
        if name.startswith("semqr"):
            e, c, w, errs = total(rs)
            summary.append("**Drift** (40 nm/min, charging jumps, 1 us dwell, 8 px per module, "
                           "%d symbols): semqr %d/%d (%s %%), %d wrong; goal >= 99 %% and no "
                           "wrong payload: **%s**."
                           % (e, c, e, pct(c / e if e else 0), w,
                              "met" if e and c / e >= GOAL and w == 0 and not errs
                              else "not met"))
    t0 = truths[scans[0]]
    lines += ["## Drift", "",
              "One frame per plate, simulated with %s, default physics otherwise; seeds %s; "
              "%d symbols per plate. Charging jumps are steps of the beam position at random "
              "times (Poisson, the given mean per frame), each with a random direction and a "
              "size between the two bounds; those drawn here: %s. The decoder gets the pixel "
              "size from the FEI metadata the simulator writes. Peers as in the dose sweep."
              % (options_line(t0), ", ".join(str(truths[s]["options"]["seed"]) for s in scans),
                 sum(1 for x in t0["symbols"] if x.get("inside", True)),
                 "; ".join("seed %d: %s" % (truths[s]["options"]["seed"], jumps_text(truths[s]))
                           for s in scans)), "",
              table(["reader", "decoded (all seeds)", "per seed"], rows), ""]


def stack_section(semqr, lines, summary):
    recs = [r for r in semqr if r["part"] == "stack"]
    if not recs:
        return
    groups = {}
    for r in recs:
        mode = r["run"].rsplit("-", 1)[1]
        groups.setdefault((r["scenario"], r["dose"]), {}).setdefault(mode, []).append(r)
    rows, ok = [], {}
    for (sc, d), g in sorted(groups.items()):
        single, mean, reg = g.get("page0", []), g.get("mean", []), g.get("register", [])
        passes = single and reg and rate(single) < 0.5 and rate(reg) >= GOAL and \
            total(reg)[2] == 0
        if passes:
            ok.setdefault(sc, []).append(d)
        modes = sorted({r["stack"] or "?" for r in reg})
        rows.append([sc, "%g" % d, "%g" % (d * 8), cell(single), cell(mean), cell(reg),
                     ", ".join(modes), "yes" if passes else "no"])
    seeds = sorted({r["seed"] for r in recs})
    scen = {}
    for r in recs:
        scen.setdefault(r["scenario"], r["scan"])
    desc = []
    for sc, scan in sorted(scen.items()):
        t = load_truth(scan)
        o = t["options"]
        desc.append("*%s*: drift %g,%g nm/min, %g charging jumps per frame, frame gap %g s, "
                    "frame time %.1f s"
                    % (sc, o["drift_nm_per_min"][0], o["drift_nm_per_min"][1],
                       o["jumps_per_frame"], o["frame_gap_s"], t["derived"]["frame_time_s"]))
    for sc in sorted(scen):
        if ok.get(sc):
            g = groups[(sc, ok[sc][-1])]
            summary.append("**Stack** (%s scenario): single frames < 50 %% and the registered "
                           "8-frame stack >= 99 %% at per-frame dose %s: **met** (at %g: one "
                           "frame %s %%, mean %s %%, registered %s %%)."
                           % (sc, ", ".join("%g" % d for d in ok[sc]), ok[sc][-1],
                              pct(rate(g["page0"])), pct(rate(g.get("mean", []))),
                              pct(rate(g["register"]))))
        else:
            summary.append("**Stack** (%s scenario): no per-frame dose measured where single "
                           "frames decode < 50 %% and the registered stack >= 99 %%: "
                           "**not met**." % sc)
    lines += ["## Frame stacks", "",
              "8-frame stacks (one TIFF page per frame, `--frames 8`) of 2048 x 2048 plates "
              "(64 symbols), seeds %s, at each per-frame dose; scenarios: %s. Each stack is "
              "decoded three times: one frame (`--page 0`), the frames averaged as they are "
              "(`--stack mean`) and registered then averaged (`--stack register`, the "
              "default). *summary stack* is what semqr's summary line reports it did for "
              "the register runs. *meets (c)*: page 0 below 50 %% and the registered stack "
              "at least 99 %% with no wrong payload."
              % (", ".join(map(str, seeds)), "; ".join(desc)), "",
              table(["scenario", "dose per frame", "stack dose", "single frame (page 0)",
                     "--stack mean", "--stack register", "summary stack", "meets (c)"], rows),
              ""]


def ablation_section(semqr, lines):
    recs = [r for r in semqr if r["part"] == "ablation"]
    if not recs:
        return
    cols, cells = [], {}
    for r in recs:
        kind, sc, d, variant = re.match(r"^(dose|stack)-([a-z]+)-d(\w+)-(.+)$",
                                        r["run"]).groups()
        col = ("dose %s plates" % dose_name(float(d)) if kind == "dose"
               else "%s stack, %s per frame" % (sc, d))
        if col not in cols:
            cols.append(col)
        cells.setdefault((variant, col), []).append(r)
    seeds = sorted({r["seed"] for r in recs})
    rows = [[label] + [cell(cells.get((v, c), [])) for c in cols] for v, label in ABLATION]
    lines += ["## Ablation: what each low-dose step buys", "",
              "The same scans decoded with everything on (semqr's defaults: module-scale "
              "denoising, soft sampling with per-module reliability, erasures in Reed-Solomon, "
              "padding-aware decoding of short messages, retries of undecoded symbols "
              "(`--retry-ms`), registered stacks), then with one step off at a time. Dose "
              "plates at semqr's 99 %% dose, the grid dose below it and the grid's lowest; "
              "stacks (8 frames) at the lowest per-frame dose where the registered stack "
              "reached 99 %%; seeds %s. The default denoising sigma is 0.24 module (1.47 px "
              "at 6.125 px per module), where the decode rate against sigma peaks at every "
              "dose measured; `--denoise-sigma 2.042` is the third of a module used before "
              "(the noise measured in each scan, in the summary, does not change sigma: the "
              "peak does not move with the dose). `--sampling centre` keeps the retries, which "
              "sample the denoised image; `--retry-ms 0` alone shows what they add. "
              "`--no-padding` shows what assuming the pad codewords of these short messages "
              "(8 or 9 characters in 44 data codewords) adds; a symbol filled to its capacity "
              "has none."
              % ", ".join(map(str, seeds)), "",
              table(["decode options"] + cols, rows), ""]


def markdown(machine, parts, semqr, peers):
    lines, summary = [], []
    dose_section(semqr, peers, lines, summary)
    drift_section(semqr, peers, lines, summary)
    stack_section(semqr, lines, summary)
    ablation_section(semqr, lines)
    # parts.txt: PART=SECONDS [ENDED BINARY-BUILT]
    secs = {k: int(v.split()[0]) for k, v in parts.items() if v}
    builds = {v.split()[2] for v in parts.values() if len(v.split()) >= 3}
    when = {}
    if len(builds) > 1:  # parts measured with different binaries: say which
        when = {k: " (ended %s, semqr built %s)" % tuple(v.split()[1:3])
                for k, v in parts.items() if len(v.split()) >= 3}
    e, c, w, errs = total(semqr + peers)
    summary.append("**Wrong payloads:** %d over all %d scan decodings (semqr runs and peers); "
                   "%s." % (w, len(semqr + peers), "errors: " + "; ".join(errs)[:300]
                            if errs else "no reader run failed"))
    head = ["# semqr at low dose, under drift and on frame stacks (issue 5)", "",
            "Last run of `bench/lowdose.sh` started %s on %s (%s cores) with %s (binary "
            "built %s; repository HEAD %s%s at run time), parts %s; load average "
            "before/after: %s / %s (the 2 cores are shared with other work). Run time per "
            "part: %s; total %d s."
            % (machine.get("date", "?"), machine.get("cpu", "?"), machine.get("nproc", "?"),
               machine.get("semqr", "?"), machine.get("semqr_built", "?"),
               machine.get("commit", "?"),
               " with %s tracked files modified" % machine["tree_changes"]
               if machine.get("tree_changes", "0") != "0" else "", machine.get("parts", "?"),
               machine.get("load_before", "?"), machine.get("load_after", "?"),
               ", ".join("%s %d s%s" % (k, v, when.get(k, "")) for k, v in secs.items()),
               sum(secs.values())), "",
            "## In short", ""] + ["- " + s for s in summary] + [""]
    return "\n".join(head + lines), summary


CSV_FIELDS = ["part", "run", "reader", "mode", "flags", "scan", "scenario", "dose", "seed",
              "frames", "expected", "correct", "wrong", "stack", "frames_integrated", "seconds",
              "error"]


def write_csv(path, records):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in records:
            d = r["dose"]
            w.writerow(dict(r, dose="" if d is None else "clean" if d == float("inf")
                            else "%g" % d))


def plot(path, semqr, peers):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = series_by_dose([r for r in semqr if r["part"] == "dose"], lambda r: "semqr")
    series.update(series_by_dose(peers, lambda r: r["series"]))
    if not series:
        return
    numeric = sorted({d for s in series.values() for d in s if d != float("inf")})
    clean_x = numeric[-1] * 2
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for n in ["semqr"] + [p for p in PEER_ORDER if p in series]:
        s = series[n]
        xs = [d for d in numeric if d in s]
        style = "o-" if n == "semqr" else ("s--" if "tiles" in n else "^:")
        line, = ax.plot(xs, [100 * rate(s[d]) for d in xs], style, label=n, markersize=4)
        if float("inf") in s:
            ax.plot([clean_x], [100 * rate(s[float("inf")])], style[0], color=line.get_color(),
                    markersize=6)
    ax.axhline(100 * GOAL, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ticks = [d for d in (10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240)
             if numeric[0] <= d <= numeric[-1]]
    ax.set_xticks(ticks + [clean_x])
    ax.set_xticklabels(["%g" % t for t in ticks] + ["no\nnoise"], fontsize=8)
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("dose (detected quanta per pixel on the film; default 100)")
    ax.set_ylabel("symbols decoded correctly (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Version 3 at 6.125 px per module, default physics; dotted: 99 %", fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def update_latest(path, summary):
    """Replaces (or appends) the marked low-dose block of latest.md."""
    block = "\n".join([LATEST_BEGIN, "## Low dose, drift and frame stacks (bench/lowdose.sh)",
                       "", "Full tables and options: `results/lowdose.md`, plot "
                       "`results/lowdose-rate-vs-dose.png`.", ""] +
                      ["- " + s for s in summary] + [LATEST_END])
    text = open(path).read() if os.path.exists(path) else ""
    pat = re.compile(re.escape(LATEST_BEGIN) + ".*?" + re.escape(LATEST_END), re.S)
    if pat.search(text):
        text = pat.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default="build/bench/lowdose")
    ap.add_argument("--results", default="bench/results")
    ap.add_argument("--pick", help="print the ablation scans (auto or D1,D2) and exit")
    a = ap.parse_args()
    semqr = semqr_records(a.bench)
    if a.pick:
        print(pick(semqr, a.pick))
        return
    peers = peer_records(a.bench)
    if not semqr:
        sys.exit("lowdose.py: no semqr runs under %s/semqr" % a.bench)
    machine = read_kv(os.path.join(a.bench, "machine.txt"))
    parts = read_kv(os.path.join(a.bench, "parts.txt"))
    os.makedirs(a.results, exist_ok=True)
    md, summary = markdown(machine, parts, semqr, peers)
    with open(os.path.join(a.results, "lowdose.md"), "w") as f:
        f.write(md + "\n")
    write_csv(os.path.join(a.results, "lowdose.csv"), semqr + peers)
    plot(os.path.join(a.results, "lowdose-rate-vs-dose.png"), semqr, peers)
    update_latest(os.path.join(a.results, "latest.md"), summary)
    print("lowdose.py: wrote %s/lowdose.md, lowdose.csv, lowdose-rate-vs-dose.png and the "
          "low-dose section of latest.md" % a.results)


if __name__ == "__main__":
    main()
