"""`meson install` installs the cpremote package, and the installed one
works where it is: installed under a temporary DESTDIR (a prefix nothing
knows of), it finds the installed library beside it (no CPREMOTE_LIB),
which finds the installed relay (no CPREMOTE_RELAY), and runs a program
on h1."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

from python_tap import diag, done, eq, hosts_dir, ok, ssh_config

hosts_dir()
build = os.path.dirname(os.environ["CPREMOTE_TEST_BUILD"])
work = tempfile.mkdtemp(prefix="cpremote-pyinstalled.")
try:
    root = os.path.join(work, "root")
    r = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--quiet",
                        "--destdir", root], capture_output=True, text=True)
    if not ok(r.returncode == 0, "meson install into a DESTDIR"):
        diag(r.stdout + r.stderr)
    inits = glob.glob(os.path.join(root, "**", "cpremote", "__init__.py"), recursive=True)
    eq(len(inits), 1, "the installed tree has the cpremote package")
    pkg = os.path.dirname(inits[0]) if inits else ""
    ok(os.path.exists(os.path.join(pkg, "_paths.py")), "... with its _paths.py")
    env = {k: v for k, v in os.environ.items()
           if k not in ("CPREMOTE_LIB", "CPREMOTE_RELAY", "LD_LIBRARY_PATH", "PYTHONPATH")}
    env["PYTHONPATH"] = os.path.dirname(pkg)
    prog = ("import cpremote, subprocess, sys\n"
            "print(cpremote.__file__)\n"
            "print(cpremote._capi.lib._name)\n"
            "c = cpremote.run('h1', ['sh', '-c', 'echo installed'], ssh_config=sys.argv[1],"
            " stdout=subprocess.PIPE)\n"
            "print(c.stdout.read().decode().strip(), c.wait(30))\n")
    r = subprocess.run([sys.executable, "-c", prog, ssh_config()], env=env, cwd=work,
                       capture_output=True, text=True, timeout=120)
    lines = r.stdout.splitlines()
    if not ok(r.returncode == 0 and len(lines) == 3,
              "the installed package runs without CPREMOTE_LIB, CPREMOTE_RELAY, PYTHONPATH"
              " to the build"):
        diag(r.stdout + r.stderr)
    lines += ["", "", ""]
    ok(lines[0].startswith(root), "the package imported is the installed one: %s" % lines[0])
    ok(lines[1].startswith(root), "the library loaded is the installed one: %s" % lines[1])
    eq(lines[2], "installed 0", "the program's output and exit code arrive")
finally:
    shutil.rmtree(work, ignore_errors=True)
done()
