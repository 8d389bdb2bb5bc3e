#!/usr/bin/env python3
"""charts.py -- the pictures of a scripts/bench run, drawn by gnuplot.

Usage: charts.py RESULTS.JSON OUTDIR.  Writes, from report.py's results:
  bars.png     grouped bars per figure, each panel in its own unit:
               cp-remote beside OpenSSH, ControlMaster and the original
  scaling.png  fan-out time against the number of children on 4 hosts,
               with the local posix_spawn floor of the same child
  hosts.png    `true` on 1..N hosts: cprun, pdsh, clush, parallel-ssh
Every point is a median, its bar the min-max of the repetitions; under
each title: the run's date, commit, load and CPU count.
Exit 0, or 1 when gnuplot is missing or failed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

res = json.load(open(sys.argv[1], encoding="utf-8"))
out_dir = sys.argv[2]
raw, meta = res["raw"], res["meta"]
if not shutil.which("gnuplot"):
    print("charts.py: gnuplot missing (apt-get install gnuplot-nox)", file=sys.stderr)
    sys.exit(1)

RUN = "%s run, %s, commit %s, load %s at the start, %s at the end, %s CPUs%s" % (
    meta.get("mode", "?"), meta.get("date", "?"), meta.get("commit", "?"), meta.get("load_start", "?"),
    meta.get("load_end", "?"), meta.get("cores_start", "?"),
    "" if res.get("publishable") else " - NOT PUBLISHABLE (see table.md)")
COLOR = {"cp-remote": "#2f6fd0", "OpenSSH": "#8c8c8c", "ControlMaster": "#e08a1e", "original cp-remote": "#3a9b4a",
         "local posix_spawn floor": "#8c8c8c", "cprun": "#2f6fd0", "pdsh": "#8c8c8c", "clush": "#e08a1e",
         "parallel-ssh": "#b04ab0"}
tmp = tempfile.mkdtemp(prefix="bench-charts.")


def stat(k, scale=1.0):
    """(median, min, max) of raw figure K times SCALE, or None."""
    r = raw.get(k)
    return None if r is None else (r["median"] * scale, r["min"] * scale, r["max"] * scale)


def title(what):
    return 'set title "%s\\n{/*0.8 %s}"' % (what, RUN.replace('"', "'"))


def gnuplot(script):
    p = subprocess.run(["gnuplot"], input=script.encode(), capture_output=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        return False
    return True


def panel(name, heading, ylabel, groups):
    """One clustered histogram: GROUPS is [(label, {system: key})]."""
    systems = [s for s in COLOR if any(s in g for _, g in groups)]
    rows = []
    for label, g in groups:
        cells = []
        for s in systems:
            v = stat(g[s]) if s in g else None
            cells += ["NaN"] * 3 if v is None else ["%g" % x for x in v]
        if any(c != "NaN" for c in cells):
            rows.append('"%s" %s' % (label, " ".join(cells)))
    if not rows:
        return ""
    dat = os.path.join(tmp, name + ".dat")
    with open(dat, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    plots = []
    for i, s in enumerate(systems):
        c = 2 + 3 * i
        plots.append("'%s' using %d:%d:%d%s title '%s' lc rgb '%s'" % (
            dat, c, c + 1, c + 2, ":xtic(1)" if i == 0 else "", s, COLOR[s]))
    return "set title '%s' noenhanced\nset ylabel '%s'\nset yrange [0:*]\nplot %s\n" % (
        heading, ylabel, ", ".join(plots))


def bars():
    newproc = ("cprun with ControlMaster options" if meta.get("cprun_controlmaster") == "yes"
               else "cprun cold, no reuse yet")
    panels = [
        ("cold", "cold spawn", "ms, to the first message", [
            ("C API", {"cp-remote": "api_cold", "OpenSSH": "ssh_true", "original cp-remote": "orig_cold"}),
            ("cprun h1 true", {"cp-remote": "cprun_true", "OpenSSH": "ssh_true"}),
        ]),
        ("warm", "warm spawn (new process: %s)" % newproc, "ms, to the first message", [
            ("same process", {"cp-remote": "api_warm", "ControlMaster": "mux_true"}),
            ("new process", {"cp-remote": "cprun_newproc", "ControlMaster": "cm_true"}),
        ]),
        ("link", "over a %s ms round-trip link" % meta.get("link_rtt_ms", "20"), "ms, to the first message", [
            ("cold spawn", {"cp-remote": "link_cold", "OpenSSH": "link_ssh_true"}),
            ("warm spawn", {"cp-remote": "link_warm", "ControlMaster": "link_mux_true"}),
        ]),
        ("rtt", "round trip, 64-byte message", "µs", [
            ("round trip", {"cp-remote": "rtt_channel", "OpenSSH": "rtt_ssh", "original cp-remote": "orig_rtt"}),
        ]),
        ("tput", "throughput, one channel (aes128-gcm, chacha20-poly1305)", "MB/s", [
            ("to child, aes", {"cp-remote": "tput_tx_aes128_gcm", "OpenSSH": "tput_tx_ssh_aes128_gcm",
                                "original cp-remote": "orig_tput_tx"}),
            ("from, aes", {"cp-remote": "tput_rx_aes128_gcm", "OpenSSH": "tput_rx_ssh_aes128_gcm",
                                  "original cp-remote": "orig_tput_rx"}),
            ("to, chacha", {"cp-remote": "tput_tx_chacha20_poly1305", "OpenSSH": "tput_tx_ssh_chacha20_poly1305"}),
            ("from, chacha", {"cp-remote": "tput_rx_chacha20_poly1305",
                                "OpenSSH": "tput_rx_ssh_chacha20_poly1305"}),
        ]),
        ("fan", "%s children on 3 hosts, one message each" % meta.get("fan_small_n", "?"), "ms until the last answer", [
            ("fan-out", {"cp-remote": "fan_small", "original cp-remote": "orig_fan_small"}),
        ]),
    ]
    body = "".join(panel(*p) for p in panels)
    if not body:
        return True
    head = """set terminal pngcairo size 1500,900 font 'sans,10'
set output '%s'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
set offsets 0, 0, graph 0.3, 0
set xtics noenhanced
set multiplot layout 2,3 title "cp-remote beside its anchors, each figure in its own unit (medians; bars: min-max)\\n{/*0.8 %s}"
""" % (os.path.join(out_dir, "bars.png"), RUN)
    return gnuplot(head + body + "unset multiplot\n")


def curve_data(name, points):
    dat = os.path.join(tmp, name + ".dat")
    with open(dat, "w", encoding="utf-8") as f:
        for x, v in points:
            f.write("%g %g %g %g\n" % ((x,) + v))
    return dat


def scaling():
    counts = [int(n) for n in meta.get("fan_counts", "").split()]
    ours = [(n, stat("fan_%d" % n, 1e-3)) for n in counts if stat("fan_%d" % n)]
    floor = [(n, stat("floor_%d" % n, 1e-3)) for n in counts if stat("floor_%d" % n)]
    if not ours:
        return True
    # Per child, in ms: a flat line is the goal.
    ours_pc = [(n, tuple(x * 1e3 / n for x in v)) for n, v in ours]
    floor_pc = [(n, tuple(x * 1e3 / n for x in v)) for n, v in floor]
    a, b = curve_data("fan", ours), curve_data("floor", floor)
    c, d = curve_data("fan_pc", ours_pc), curve_data("floor_pc", floor_pc)
    labels = ""
    for n in counts:
        lost = raw.get("fan_%d_failed" % n)
        if lost and lost["max"] > 0 and stat("fan_%d" % n):
            labels += "set label 'failed: up to %d' at %d,%g offset 0,1 center tc rgb '#c02020'\n" % (
                lost["max"], n, stat("fan_%d" % n, 1e-3)[2])
    script = """set terminal pngcairo size 1300,520 font 'sans,10'
set output '%s'
set multiplot layout 1,2 title "Fan-out: N children on 4 hosts, each answering one message, beside N local posix\\\\_spawns\\n{/*0.8 %s}"
set grid
set key top left
set offsets graph 0.03, graph 0.03, 0, 0
set xlabel 'children'
set ylabel 's until the last answer'
set yrange [0:*]
%s
plot '%s' using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb '%s' title 'cp-remote (bench\\_client fanout)', \\
     '%s' using 1:2:3:4 with yerrorlines lw 2 pt 5 dt 2 lc rgb '%s' title 'local posix\\_spawn floor (bench\\_local)'
unset label
set ylabel 'ms per child'
plot '%s' using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb '%s' title 'cp-remote', \\
     '%s' using 1:2:3:4 with yerrorlines lw 2 pt 5 dt 2 lc rgb '%s' title 'local floor'
unset multiplot
""" % (os.path.join(out_dir, "scaling.png"), RUN, labels, a, COLOR["cp-remote"], b, COLOR["local posix_spawn floor"],
       c, COLOR["cp-remote"], d, COLOR["local posix_spawn floor"])
    return gnuplot(script)


def hosts():
    counts = [int(n) for n in meta.get("host_counts", "").split()]
    tools = [("cprun", "cprun"), ("pdsh", "pdsh"), ("clush", "clush"), ("pssh", "parallel-ssh")]
    plots = []
    for i, (t, name) in enumerate(tools):
        pts = [(n, stat("hosts_%s_%d" % (t, n), 1e-3)) for n in counts if stat("hosts_%s_%d" % (t, n))]
        if pts:
            plots.append("'%s' using 1:2:3:4 with yerrorlines lw 2 pt %d lc rgb '%s' title '%s'" % (
                curve_data("hosts_" + t, pts), 7 + i, COLOR[name], name))
    if not plots:
        return True
    script = """set terminal pngcairo size 1000,600 font 'sans,10'
set output '%s'
set title "true on N hosts, cold (each host its own sshd, default MaxStartups)\\n{/*0.8 %s}"
set grid
set key top left
set logscale x 2
set xrange [%g:%g]
set xlabel 'hosts'
set ylabel 's, wall time of the whole command'
set yrange [0:*]
plot %s
""" % (os.path.join(out_dir, "hosts.png"), RUN, min(counts) / 1.2, max(counts) * 1.2, ", ".join(plots))
    return gnuplot(script)


ok = bars() and scaling() and hosts()
shutil.rmtree(tmp, ignore_errors=True)
# The old single chart ("figure / target") is replaced by these three.
for old in ("chart.png", "chart.dat"):
    if os.path.exists(os.path.join(out_dir, old)):
        os.remove(os.path.join(out_dir, old))
sys.exit(0 if ok else 1)
