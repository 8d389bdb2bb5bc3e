"""Runs the pytest example of examples/python/ against the test hosts.

Copies it into DIR (argv[1]; the build tree, where the hosts' user can
read echo_child.py), points it at the hosts' ssh_config and runs pytest
there.  Exit 77 (skipped) without test hosts or without pytest.
"""

import os
import shutil
import subprocess
import sys

hosts = os.environ.get("CPREMOTE_TEST_DIR")
if not hosts:
    print("no test hosts: CPREMOTE_TEST_DIR is not set (use scripts/test)")
    sys.exit(77)
try:
    import pytest  # noqa: F401
except ImportError:
    print("pytest is not installed for %s (Debian: python3-pytest)" % sys.executable)
    sys.exit(77)

dest = sys.argv[1]
src = os.environ["CPREMOTE_EXAMPLE_SRC"]
os.makedirs(dest, exist_ok=True)
for name in ("conftest.py", "test_pytest_hosts.py", "echo_child.py"):
    shutil.copy(os.path.join(src, name), dest)
    os.chmod(os.path.join(dest, name), 0o755 if name.endswith("child.py") else 0o644)
env = dict(os.environ, CPREMOTE_SSH_CONFIG=os.path.join(hosts, "ssh_config"))
sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                          "--rootdir", dest, dest], env=env, cwd=dest))
