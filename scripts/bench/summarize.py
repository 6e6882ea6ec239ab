#!/usr/bin/env python3
"""Summarize the runs of scripts/bench.sh (one JSON object per line) into tables.

    summarize.py RUNS.jsonl [--meta JSON] [--json OUT] [--markdown]

Per scenario and capture setting, per side (ours; ours built with PGO, when bench.sh --pgo
measured it; ns-3): wall seconds (median, min, max),
the event loop's seconds, events and events/s, frames onto links and frames/s, peak RSS,
pcap bytes and pcap bytes/s (rates per wall second of the median); then the ratios ns-3 /
ours and the targets of shared/bench/README.md; with bench.sh --against REV, the wall time
of this tree against REV's (plain against plain, PGO against PGO) and whether the two
ranges overlap (a change within noise).
"""

import argparse
import json
import statistics
import sys

TARGETS = {  # scenario -> ratio of ns-3's time to ours, pcap off
    "dumbbell_udp": 30,
    "dumbbell_tcp": 30,
    # ns-3's TcpBbr and TcpDctcp runs take 0.8-0.9x its cubic run's time for the same
    # dumbbell while ours cost what cubic does: the same work gives a lower ratio.
    "dumbbell_bbr": 20,
    "dumbbell_dctcp": 20,
    "star_udp_1000": 200,
}
PCAP_TARGET = 10  # ratio with pcap on, or ...
DD_TARGET = 0.60  # ... pcap bytes/s at least this share of dd's
ORDER = {"dumbbell_udp": 0, "dumbbell_tcp": 1, "dumbbell_bbr": 2, "dumbbell_dctcp": 3,
         "star_udp_1000": 4}
# ours_pgo: built with PGO (bench.sh --pgo); base, base_pgo: the commit of --against.
SIDES = ["ours", "base", "ours_pgo", "base_pgo", "ns3"]
SIDE_NAMES = {"ours": "netsim", "ours_pgo": "netsim PGO", "ns3": "ns-3",
              "base": "base", "base_pgo": "base PGO"}


def med(xs):
    return statistics.median(xs) if xs else None


def summarize(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["scenario"], r["pcap"], r["side"]), []).append(r)
    out = []
    for (scen, pcap, side), rs in groups.items():
        walls = sorted(r["wall_s"] for r in rs)
        wall = med(walls)
        events = med([r["events"] for r in rs])
        frames = med([r["frames"] for r in rs])
        pbytes = med([r["pcap_bytes"] for r in rs])
        dds = [r["dd_s"] for r in rs if "dd_s" in r]
        row = {
            "scenario": scen,
            "pcap": bool(pcap),
            "side": side,
            "runs": len(rs),
            "wall_s": {"median": wall, "min": walls[0], "max": walls[-1]},
            "loop_s": med([r["loop_s"] for r in rs]),
            "setup_s": med([r["setup_s"] for r in rs if "setup_s" in r]),
            "events": events,
            "events_per_s": events / wall,
            "frames": frames,
            "frames_per_s": frames / wall,
            "peak_rss_mib": med([r["rss_kb"] for r in rs]) / 1024,
            "pcap_bytes": pbytes,
            "pcap_bytes_per_s": pbytes / wall if pcap else None,
            "delivered_pkts": med([r["delivered_pkts"] for r in rs]),
            "delivered_bytes": med([r["delivered_bytes"] for r in rs]),
            "dd_s": med(dds),
            "dd_bytes_per_s": (pbytes / med(dds)) if dds and med(dds) > 0 else None,
        }
        out.append(row)
    out.sort(key=lambda r: (ORDER.get(r["scenario"], 9), r["pcap"], SIDES.index(r["side"])))
    return out


def ratios(rows):
    by = {(r["scenario"], r["pcap"], r["side"]): r for r in rows}
    res = []
    for (scen, pcap, side), ours in by.items():
        if side in ("ns3", "base", "base_pgo"):
            continue
        ns3 = by.get((scen, pcap, "ns3"))
        r = {"scenario": scen, "pcap": pcap, "side": side}
        if ns3:
            r["wall_ratio"] = ns3["wall_s"]["median"] / ours["wall_s"]["median"]
            r["loop_ratio"] = ns3["loop_s"] / ours["wall_s"]["median"]
            r["rss_ratio"] = ns3["peak_rss_mib"] / ours["peak_rss_mib"]
        if pcap and ours.get("dd_bytes_per_s"):
            r["pcap_vs_dd"] = ours["pcap_bytes_per_s"] / ours["dd_bytes_per_s"]
        res.append(r)
    res.sort(key=lambda r: (ORDER.get(r["scenario"], 9), r["pcap"], SIDES.index(r["side"])))
    return res


def against(rows):
    """This tree's wall time against the --against commit's, plain and PGO."""
    by = {(r["scenario"], r["pcap"], r["side"]): r for r in rows}
    res = []
    for (scen, pcap, side), ours in by.items():
        base = by.get((scen, pcap, {"ours": "base", "ours_pgo": "base_pgo"}.get(side)))
        if not base:
            continue
        o, b = ours["wall_s"], base["wall_s"]
        res.append({"scenario": scen, "pcap": pcap, "side": side,
                    "base_wall_s": b, "wall_s": o, "ratio": o["median"] / b["median"],
                    "overlap": o["min"] <= b["max"] and b["min"] <= o["max"]})
    res.sort(key=lambda r: (ORDER.get(r["scenario"], 9), r["pcap"], SIDES.index(r["side"])))
    return res


AHEAD = ["scenario", "pcap", "build", "base wall s", "this wall s", "this / base", "ranges overlap"]


def against_cells(r):
    return [r["scenario"], "on" if r["pcap"] else "off", "PGO" if r["side"] == "ours_pgo" else "plain",
            fmt_wall(r["base_wall_s"]), fmt_wall(r["wall_s"]), f"{r['ratio']:.3f}",
            "yes" if r["overlap"] else "NO"]


def targets(rows, rats):
    by = {(r["scenario"], r["pcap"], r["side"]): r for r in rows}
    res = []
    for r in rats:
        if "loop_ratio" not in r:
            continue
        scen, pcap, side = r["scenario"], r["pcap"], r["side"]
        who = SIDE_NAMES[side]
        if not pcap:
            want = TARGETS.get(scen)
            if want:
                res.append((f"{who}: {scen}, pcap off: ns-3 run_s / our wall >= {want}x",
                            f"{r['loop_ratio']:.1f}x", r["loop_ratio"] >= want))
        else:
            dd = r.get("pcap_vs_dd")
            ok = r["loop_ratio"] >= PCAP_TARGET or (dd is not None and dd >= DD_TARGET)
            got = f"{r['loop_ratio']:.1f}x" + (f", {100 * dd:.0f}% of dd" if dd is not None else "")
            res.append((f"{who}: {scen}, pcap on: >= {PCAP_TARGET}x or pcap B/s >= {DD_TARGET:.0%} of dd",
                        got, ok))
        ours, ns3 = by[(scen, pcap, side)], by[(scen, pcap, "ns3")]
        res.append((f"{who}: {scen}, pcap {'on' if pcap else 'off'}: peak RSS <= ns-3's "
                     f"({ns3['peak_rss_mib']:.1f} MiB)",
                     f"{ours['peak_rss_mib']:.1f} MiB", ours["peak_rss_mib"] <= ns3["peak_rss_mib"]))
    return res


def si(x, unit=""):
    if x is None:
        return "-"
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.2f} {suf}{unit}".rstrip()
    return f"{x:.0f} {unit}".rstrip()


def fmt_wall(w):
    return f"{w['median']:.3f} ({w['min']:.3f}-{w['max']:.3f})"


HEAD = ["scenario", "pcap", "side", "runs", "wall s med (min-max)", "loop s", "events",
        "events/s", "frames", "frames/s", "peak RSS", "pcap bytes", "pcap B/s", "delivered"]


def cells(r):
    side = SIDE_NAMES[r["side"]]
    tcp = r["scenario"] in ("dumbbell_tcp", "dumbbell_bbr", "dumbbell_dctcp")
    delivered = (f"{r['delivered_bytes'] / 1e6:.1f} MB" if tcp
                 else f"{r['delivered_pkts']:,} pkts")
    return [r["scenario"], "on" if r["pcap"] else "off", side, str(r["runs"]), fmt_wall(r["wall_s"]),
            f"{r['loop_s']:.3f}", f"{r['events']:,}", si(r["events_per_s"]), f"{r['frames']:,}",
            si(r["frames_per_s"]), f"{r['peak_rss_mib']:.1f} MiB",
            si(r["pcap_bytes"], "B") if r["pcap"] else "-",
            si(r["pcap_bytes_per_s"], "B/s") if r["pcap"] else "-", delivered]


def ratio_cells(r):
    fmt = lambda k, suf="x": f"{r[k]:.1f}{suf}" if k in r else "-"
    dd = f"{100 * r['pcap_vs_dd']:.0f}%" if "pcap_vs_dd" in r else "-"
    return [r["scenario"], "on" if r["pcap"] else "off", SIDE_NAMES[r["side"]], fmt("wall_ratio"),
            fmt("loop_ratio"), fmt("rss_ratio"), dd]


RHEAD = ["scenario", "pcap", "ours", "wall ns-3/ours", "ns-3 run_s / our wall", "RSS ns-3/ours",
         "our pcap B/s vs dd"]


def table(head, rows, markdown):
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c) + " |" for c in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in rows)) if rows else len(h) for i, h in enumerate(head)]
    fmt = lambda cs: "  ".join(c.ljust(w) for c, w in zip(cs, widths)).rstrip()
    return "\n".join([fmt(head)] + [fmt(c) for c in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("--meta", default="{}")
    ap.add_argument("--json")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    runs = [json.loads(l) for l in open(a.runs) if l.strip()]
    if not runs:
        sys.exit("summarize.py: no runs")
    meta = json.loads(a.meta)
    rows = summarize(runs)
    rats = ratios(rows)
    vs = against(rows)
    tgts = targets(rows, rats)
    md = a.markdown
    print()
    print(("" if md else "# ") + "netsim bench " + " ".join(f"{k}={v}" for k, v in meta.items() if v != ""))
    print()
    print(table(HEAD, [cells(r) for r in rows], md))
    if any(len(c) > 0 for c in rats) and any("wall_ratio" in r or "pcap_vs_dd" in r for r in rats):
        print()
        print(table(RHEAD, [ratio_cells(r) for r in rats], md))
    if vs:
        print()
        print(table(AHEAD, [against_cells(r) for r in vs], md))
    if tgts:
        print()
        print(table(["target", "measured", "met"], [[t, g, "yes" if ok else "NO"] for t, g, ok in tgts], md))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "summary": rows, "ratios": rats,
                       "against": vs,
                       "targets": [{"target": t, "measured": g, "met": ok} for t, g, ok in tgts],
                       "runs": runs}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
