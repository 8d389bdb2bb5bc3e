#!/usr/bin/env python3
"""report.py -- turns scripts/bench's raw.txt into table.md, results.json
and chart.png (through gnuplot when it is installed).

Usage: report.py RAW OUTDIR.  RAW holds "KEY VALUE UNIT" lines, one figure
each, and "meta KEY VALUE" lines about the run.  Every row of the table is
one figure, its anchor, the ratio between them and the issue-3 target.
"""
import json
import os
import shutil
import subprocess
import sys

raw_path, out_dir = sys.argv[1], sys.argv[2]
fig, unit, meta = {}, {}, {}
with open(raw_path, encoding="utf-8") as f:
    for line in f:
        parts = line.split()
        if len(parts) < 3:
            continue
        if parts[0] == "meta":
            meta[parts[1]] = " ".join(parts[2:]).replace("_", " ")
            continue
        try:
            fig[parts[0]] = float(parts[1])
        except ValueError:
            continue
        unit[parts[0]] = parts[2]

ORIG = "original cp-remote (npm)"
link = float(meta.get("link_rtt_ms", "20"))
fs, fb = meta.get("fan_small_n", "48"), meta.get("fan_big_n", "1000")

# (id, figure, our key, anchor key, anchor text, kind, target, target text)
# kind: "le" ratio ours/anchor must be <= target; "ge" >= target;
# "speedup" anchor/ours must be >= target; "abs" ours <= target (no anchor);
# "info" no target.
ROWS = [
    ("cold", "cold spawn -> first message (C API)", "api_cold", "ssh_true", "`ssh h1 true`", "le", 1.1, "<= 1.1x"),
    ("cold_cprun", "cold `cprun h1 true`", "cprun_true", "ssh_true", "`ssh h1 true`", "le", 1.1, "<= 1.1x"),
    ("cold_orig", "cold spawn -> first message", "api_cold", "orig_cold", ORIG, "speedup", None, "(none)"),
    ("warm", "warm spawn -> first message", "api_warm", "mux_true", "ControlMaster `ssh -S m h1 true`", "le", 0.25, "<= 0.25x"),
    ("rtt", "round trip, 64-byte message", "rtt_channel", "rtt_ssh", "`ssh h1 cat` echo", "le", 1.2, "<= 1.2x"),
    ("rtt_orig", "round trip, 64-byte message", "rtt_channel", "orig_rtt", ORIG, "speedup", 3, ">= 3x faster"),
]
for k, name in (("aes128_gcm", "aes128-gcm"), ("chacha20_poly1305", "chacha20-poly1305")):
    ROWS += [
        ("tput_tx_" + k, "throughput to the child, " + name, "tput_tx_" + k, "tput_tx_ssh_" + k,
         "`ssh -c %s h1 'cat >/dev/null'`" % name, "ge", 1.0, ">= 1.0x"),
        ("tput_rx_" + k, "throughput from the child, " + name, "tput_rx_" + k, "tput_rx_ssh_" + k,
         "`ssh -c %s h1 'head -c N /dev/zero'`" % name, "ge", 1.0, ">= 1.0x"),
    ]
ROWS += [
    ("tput_tx_orig", "throughput to the child, aes128-gcm", "tput_tx_aes128_gcm", "orig_tput_tx", ORIG, "ge", 10, ">= 10x"),
    ("tput_rx_orig", "throughput from the child, aes128-gcm", "tput_rx_aes128_gcm", "orig_tput_rx", ORIG, "ge", 10, ">= 10x"),
    ("fan_small", "%s children on 3 hosts, each one message" % fs, "fan_small", "orig_fan_small", ORIG, "speedup", 20, ">= 20x faster"),
    ("fan_big", "%s children on 4 hosts, each one message" % fb, "fan_big", None, "", "abs", 5000, "<= 5 s, 0 failures"),
    ("relay_conn", "relay RSS, one connection", "relay_rss_conn", None, "", "abs", 8192, "<= 8 MiB"),
    ("relay_child", "relay RSS per child", "relay_rss_child", None, "", "abs", 256, "<= 256 KiB"),
    ("helper_size", "helper binary size", "helper_size", None, "", "abs", 262144, "<= 256 KiB"),
    ("helper_child", "helper RSS per child (helper %s KiB with one)" % int(fig.get("helper_rss_conn", 0)), "helper_rss_child", None, "", "abs", 1024, "<= 1 MiB"),
    ("link_warm", "%g ms link: warm spawn" % link, "link_warm", "link_mux_true", "ControlMaster over the link", "link_warm", link + 5, "<= 1 RTT + 5 ms"),
    ("link_cold", "%g ms link: cold spawn" % link, "link_cold", "link_ssh_true", "`ssh h1 true` over the link", "link_cold", link, "<= ssh + 1 RTT"),
]


def fmt(v, u):
    if v is None:
        return "-"
    if u == "bytes":
        return "%d KiB" % round(v / 1024)
    if u == "us":
        return "%.1f µs" % v
    return ("%.1f %s" if v >= 100 else "%.2f %s") % (v, u)


results, lines = [], []
for rid, name, ours_k, anc_k, anc_text, kind, target, ttext in ROWS:
    ours, anc = fig.get(ours_k), fig.get(anc_k) if anc_k else None
    u = unit.get(ours_k, "")
    ratio, ok, note = None, None, ""
    if ours is not None and anc is not None and anc > 0 and ours > 0:
        ratio = anc / ours if kind == "speedup" else ours / anc
    if kind in ("le", "ge", "speedup") and target is not None and ratio is not None:
        ok = ratio <= target if kind == "le" else ratio >= target
    elif kind == "abs" and ours is not None:
        ok = ours <= target
        if rid == "fan_big":
            failed = fig.get("fan_big_failed")
            ok = ok and failed == 0
            note = "%d failed" % failed if failed is not None else ""
    elif kind == "link_warm" and ours is not None:
        ok = ours <= target
        note = "%.2f RTT" % (ours / link)
        if fig.get("link_warm_run") is not None:
            note += "; cpremote_run() returns at %.2f RTT" % (fig["link_warm_run"] / link)
    elif kind == "link_cold" and ours is not None and anc is not None:
        ok = ours - anc <= target
        note = "%.2f RTT vs %.2f RTT (%+.1f ms)" % (ours / link, anc / link, ours - anc)
        ratio = ours / anc
    if rid == "fan_small" and fig.get("fan_small_failed"):
        note = "%d failed" % fig["fan_small_failed"]
    if anc_text == ORIG and anc is None:
        note = "original not run: " + meta.get("orig_why", "unknown")
    verdict = "-" if ok is None else ("PASS" if ok else "MISS")
    if ratio is None:
        rtext = "-"
    elif kind == "speedup":
        rtext = "%.1fx faster" % ratio if ratio >= 1 else "%.1fx slower" % (1 / ratio)
    else:
        rtext = "%.2fx" % ratio
    results.append({
        "id": rid, "figure": name, "value": ours, "unit": u,
        "anchor": anc_text or None, "anchor_value": anc, "anchor_unit": unit.get(anc_k) if anc_k else None,
        "ratio": ratio, "ratio_kind": "anchor/ours" if kind == "speedup" else "ours/anchor",
        "target": ttext, "pass": ok, "note": note,
    })
    lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        name, fmt(ours, u), ("%s: %s" % (anc_text, fmt(anc, unit.get(anc_k, "")))) if anc_k else "-",
        rtext, ttext, verdict, note))

head = ("**%s run** on %s, %s, %s cores, %s; load average %s at the start, %s at the end. "
        "Command: `%s`.\n\n" % (meta.get("mode", "?"), meta.get("host", "?"), meta.get("date", "?"),
                                meta.get("cores", "?"), meta.get("ssh", "?"), meta.get("load_start", "?"),
                                meta.get("load_end", "?"), meta.get("command", "scripts/bench")))
table = head + "| figure | cp-remote | anchor | ratio | target | | note |\n|---|---:|---|---:|---|---|---|\n" + "\n".join(lines) + "\n"
passed = sum(1 for r in results if r["pass"] is True)
missed = [r["id"] for r in results if r["pass"] is False]
table += "\n%d PASS, %d MISS%s.\n" % (passed, len(missed), (" (" + ", ".join(missed) + ")") if missed else "")
os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "table.md"), "w", encoding="utf-8") as f:
    f.write(table)
with open(os.path.join(out_dir, "results.json"), "w", encoding="utf-8") as f:
    json.dump({"meta": meta, "raw": {k: {"value": v, "unit": unit[k]} for k, v in fig.items()},
               "figures": results}, f, indent=1)

# The chart: each figure's ratio to its target, so that 1 is the line to
# beat for every row (below 1 is a PASS for every kind once turned round).
if shutil.which("gnuplot"):
    dat = os.path.join(out_dir, "chart.dat")
    with open(dat, "w", encoding="utf-8") as f:
        for r, row in zip(results, ROWS):
            kind, target = row[5], row[6]
            if r["pass"] is None or target is None:
                continue
            v = r["value"]
            if kind == "le":
                score = r["ratio"] / target
            elif kind in ("ge", "speedup"):
                score = target / r["ratio"]
            elif kind == "link_cold":
                score = (v - r["anchor_value"]) / target
            else:
                score = v / target
            f.write('"%s" %g %g\n' % (r["id"], max(score, 0.0001), 1.0))
    gp = """set terminal pngcairo size 1100,520 font 'sans,10'
set output '%s'
set title "cp-remote vs its anchors: figure / target (below 1 = PASS), %s run, %s"
set style data histograms
set style fill solid 0.8
set boxwidth 0.8
set logscale y
set yrange [0.0001:*]
set grid ytics
set xtics rotate by -40 noenhanced
set ylabel 'measured / target (log)'
plot '%s' using 2:xtic(1) title 'figure / target' lc rgb '#3b7dd8', 1 with lines lw 2 lc rgb '#d83b3b' title 'target'
""" % (os.path.join(out_dir, "chart.png"), meta.get("mode", ""), meta.get("date", ""), dat)
    subprocess.run(["gnuplot"], input=gp.encode(), check=False)
