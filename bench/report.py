#!/usr/bin/env python3
"""report.py -- turns scripts/bench's raw.txt into table.md and results.json.

Usage: report.py RAW OUTDIR.  RAW holds "sample KEY VALUE UNIT" lines (one
repetition of an interleaved figure), "KEY VALUE UNIT" lines (a figure
measured once), "fail KEY" lines and "meta KEY VALUE" lines about the run.
A figure is the median of its samples, shown with their min-max.  Every
row of the table is one figure, its anchor, the ratio of the medians and
the target of issue 15 (or issue 3 where 15 sets none).
"""
import json
import os
import sys

raw_path, out_dir = sys.argv[1], sys.argv[2]
samples, unit, meta, failed = {}, {}, {}, []
whys = []
with open(raw_path, encoding="utf-8") as f:
    for line in f:
        p = line.split()
        if len(p) == 2 and p[0] == "fail":
            failed.append(p[1])
        if len(p) < 3:
            continue
        if p[0] == "meta":
            v = " ".join(p[2:]).replace("_", " ")
            if p[1] == "why":
                whys.append(v)
            else:
                meta[p[1]] = v
            continue
        if p[0] == "sample" and len(p) >= 4:
            k, v, u = p[1], p[2], p[3]
        else:
            k, v, u = p[0], p[1], p[2]
        try:
            samples.setdefault(k, []).append(float(v))
        except ValueError:
            continue
        unit[k] = u


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


fig = {k: median(v) for k, v in samples.items() if v}
ORIG = "original cp-remote (npm)"
link = float(meta.get("link_rtt_ms", "20"))
fs = meta.get("fan_small_n", "48")
fan_counts = [int(n) for n in meta.get("fan_counts", "").split()]
host_counts = [int(n) for n in meta.get("host_counts", "").split()]
cm = meta.get("cprun_controlmaster") == "yes"
ANCHOR_TOOLS = [("pdsh", "pdsh"), ("clush", "clush"), ("pssh", "parallel-ssh")]

# The best of pdsh, clush and parallel-ssh at each host count: the anchor
# of cprun's fan-out (the name of the winner goes into the note).
for n in host_counts:
    best = [(fig["hosts_%s_%d" % (t, n)], name) for t, name in ANCHOR_TOOLS if "hosts_%s_%d" % (t, n) in fig]
    if best:
        fig["hosts_best_%d" % n], meta["hosts_best_%d" % n] = min(best)
        unit["hosts_best_%d" % n] = "ms"

# (id, figure, our key, anchor key, anchor text, kind, target, target text)
# kind: "le" ratio ours/anchor must be <= target; "ge" >= target;
# "speedup" anchor/ours must be >= target; "abs" ours <= target (no anchor);
# "fan" ours/anchor <= target and no child failed; "link_*" see below.
ROWS = [
    ("cold", "cold spawn -> first message (C API)", "api_cold", "ssh_true", "`ssh h1 true`", "le", 1.1, "<= 1.1x"),
    ("cold_cprun", "cold `cprun h1 true`", "cprun_true", "ssh_true", "`ssh h1 true`", "le", 1.1, "<= 1.1x"),
    ("cold_orig", "cold spawn -> first message", "api_cold", "orig_cold", ORIG, "speedup", None, "(none)"),
    ("warm", "warm spawn, same process", "api_warm", "mux_true", "ControlMaster `ssh -S m h1 true`", "le", 0.25, "<= 0.25x"),
    ("warm_newproc", "warm spawn from a new process: `cprun%s h1 true`" % (" -o ControlMaster=auto ..." if cm else ""),
     "cprun_newproc", "cm_true", "`ssh -o ControlMaster=auto ... h1 true`", "le", 0.25, "<= 0.25x"),
    ("rtt", "round trip, 64-byte message", "rtt_channel", "rtt_ssh", "`ssh h1 cat` echo", "le", 1.0, "<= 1.0x"),
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
]
for n in fan_counts:
    ROWS.append(("fan_%d" % n, "%d children on 4 hosts, each one message" % n, "fan_%d" % n, "floor_%d" % n,
                 "%d local posix_spawns of the same child" % n, "fan", 1.5, "<= 1.5x, 0 failed"))
for n in host_counts:
    if n >= 32:
        ROWS.append(("hosts_%d" % n, "`true` on %d hosts, cold (`cprun -H`)" % n, "hosts_cprun_%d" % n,
                     "hosts_best_%d" % n, "the best of pdsh, clush, parallel-ssh", "le", 0.15, "<= 0.15x"))
ROWS += [
    ("relay_conn", "relay RSS, one connection", "relay_rss_conn", None, "", "abs", 8192, "<= 8 MiB"),
    ("relay_child", "relay RSS per child", "relay_rss_child", None, "", "abs", 256, "<= 256 KiB"),
    ("helper_size", "helper binary size", "helper_size", None, "", "abs", 262144, "<= 256 KiB"),
    ("helper_child", "helper RSS per child (helper %s KiB with one)" % int(fig.get("helper_rss_conn", 0)),
     "helper_rss_child", None, "", "abs", 1024, "<= 1 MiB"),
    ("link_warm", "%g ms link: warm spawn" % link, "link_warm", "link_mux_true", "ControlMaster over the link",
     "link_warm", link + 5, "<= 1 RTT + 5 ms"),
    ("link_cold", "%g ms link: cold spawn" % link, "link_cold", "link_ssh_true", "`ssh h1 true` over the link",
     "link_cold", link, "<= ssh + 1 RTT"),
]


def fmt1(v, u):
    if u == "bytes":
        return "%d KiB" % round(v / 1024)
    return ("%.0f" if v >= 1000 else "%.1f" if v >= 100 else "%.2f") % v


def fmt(k):
    """KEY's median in its unit, with the min-max of its samples when there are several."""
    if k is None or k not in fig:
        return "-"
    u = unit.get(k, "")
    s = samples.get(k, [])
    text = fmt1(fig[k], u)
    if len(s) > 1:
        text += " (%s-%s)" % (fmt1(min(s), u), fmt1(max(s), u))
    return text + ("" if u == "bytes" else " " + ("µs" if u == "us" else u))


def judge(rid, ours_k, anc_k, anc_text, kind, target):
    """The ratio, PASS/MISS (None: no target) and a note for one row."""
    ours, anc = fig.get(ours_k), fig.get(anc_k) if anc_k else None
    ratio, ok, note = None, None, ""
    if ours is not None and anc is not None and anc > 0 and ours > 0:
        ratio = anc / ours if kind == "speedup" else ours / anc
    if kind in ("le", "ge", "speedup", "fan") and target is not None and ratio is not None:
        ok = ratio >= target if kind in ("ge", "speedup") else ratio <= target
    elif kind == "abs" and ours is not None:
        ok = ours <= target
    elif kind == "link_warm" and ours is not None:
        ok = ours <= target
        note = "%.2f RTT" % (ours / link)
        if "link_warm_run" in fig:
            note += "; cpremote_run() returns at %.2f RTT" % (fig["link_warm_run"] / link)
    elif kind == "link_cold" and ours is not None and anc is not None:
        ok = ours - anc <= target
        note = "%.2f RTT vs %.2f RTT (%+.1f ms)" % (ours / link, anc / link, ours - anc)
    if kind == "fan" or rid == "fan_small":
        lost = samples.get(ours_k + "_failed", [])
        floor_lost = samples.get(anc_k + "_failed", []) if anc_k else []
        if lost and max(lost) > 0:
            ok = False if kind == "fan" else ok
            note = "failed: %s of %s" % ("/".join("%d" % x for x in lost), ours_k.split("_")[1] if kind == "fan" else fs)
        if floor_lost and max(floor_lost) > 0:
            note += "; local floor failed: %s" % "/".join("%d" % x for x in floor_lost)
    if rid == "warm_newproc" and not cm:
        note = "cprun cannot yet reuse a connection across processes: this is a cold `cprun h1 true`"
    if rid.startswith("hosts_") and anc_k in meta:
        note = "best: %s; %s" % (meta[anc_k], ", ".join(
            "%s %s" % (name, fmt("hosts_%s_%s" % (t, rid.split("_")[1]))) for t, name in ANCHOR_TOOLS
            if "hosts_%s_%s" % (t, rid.split("_")[1]) in fig))
    if anc_text == ORIG and anc is None:
        note = "original not run: " + meta.get("orig_why", "unknown")
    if ours_k in failed or (anc_k and anc_k in failed):
        note = (note + "; " if note else "") + "a measurement failed"
    return ratio, ok, note


results, lines = [], []
for rid, name, ours_k, anc_k, anc_text, kind, target, ttext in ROWS:
    ratio, ok, note = judge(rid, ours_k, anc_k, anc_text, kind, target)
    verdict = "-" if ok is None else ("PASS" if ok else "MISS")
    if ratio is None:
        rtext = "-"
    elif kind == "speedup":
        rtext = "%.1fx faster" % ratio if ratio >= 1 else "%.1fx slower" % (1 / ratio)
    else:
        rtext = "%.2fx" % ratio
    results.append({
        "id": rid, "figure": name, "key": ours_k, "value": fig.get(ours_k), "unit": unit.get(ours_k),
        "samples": samples.get(ours_k, []), "anchor": anc_text or None, "anchor_key": anc_k,
        "anchor_value": fig.get(anc_k) if anc_k else None, "anchor_samples": samples.get(anc_k, []) if anc_k else [],
        "ratio": ratio, "ratio_kind": "anchor/ours" if kind == "speedup" else "ours/anchor",
        "target": ttext, "pass": ok, "note": note,
    })
    lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
        name, fmt(ours_k), ("%s: %s" % (anc_text, fmt(anc_k))) if anc_k else "-", rtext, ttext, verdict, note))

publishable = meta.get("publishable") == "yes"
head = ("**%s run** of %s on %s, %s, %s → %s CPUs, %s; 1/5/15-minute load average %s at the start, %s at the end. "
        "Medians of %s interleaved repetitions (%s for spawns, round trips and the link), min-max in brackets. "
        "Command: `%s`.\n\n" % (
            meta.get("mode", "?"), meta.get("commit", "?"), meta.get("host", "?"), meta.get("date", "?"),
            meta.get("cores_start", "?"), meta.get("cores_end", "?"), meta.get("ssh", "?"),
            meta.get("load_start", "?"), meta.get("load_end", "?"), meta.get("reps", "?"), meta.get("sreps", "?"),
            meta.get("command", "scripts/bench")))
busy = [(k[5:], v) for k, v in meta.items() if k.startswith("busy_") and k != "busy_end"]
if busy:
    head += "CPUs busy at the start of each section (over 2 s): %s.\n\n" % ", ".join("%s %s %%" % kv for kv in busy)
if not publishable:
    head += "**Not publishable:** %s.\n\n" % "; ".join(whys or ["unknown"])
if meta.get("hosts_why"):
    head += "Hosts: %s.\n\n" % meta["hosts_why"]
table = head + "| figure | cp-remote | anchor | ratio | target | | note |\n|---|---:|---|---:|---|---|---|\n" + "\n".join(lines) + "\n"
passed = sum(1 for r in results if r["pass"] is True)
missed = [r["id"] for r in results if r["pass"] is False]
table += "\n%d PASS, %d MISS%s.\n" % (passed, len(missed), (" (" + ", ".join(missed) + ")") if missed else "")
os.makedirs(out_dir, exist_ok=True)
with open(os.path.join(out_dir, "table.md"), "w", encoding="utf-8") as f:
    f.write(table)
raw = {k: {"median": fig[k], "min": min(v), "max": max(v), "n": len(v), "unit": unit[k], "samples": v}
       for k, v in samples.items() if v}
with open(os.path.join(out_dir, "results.json"), "w", encoding="utf-8") as f:
    json.dump({"publishable": publishable, "not_publishable_because": whys, "meta": meta, "failed": failed,
               "raw": raw, "figures": results}, f, indent=1, ensure_ascii=False)
