"""FireWorks resolves ionflow's objects by name without walking its packages (and tests)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import json, sys
from fireworks.utilities.fw_serializers import load_object
from ionflow.hpc.fw_objects import register_fireworks_objects
register_fireworks_objects()
task = load_object({"_fw_name": "ScriptTask", "script": ["true"]})
adapter = load_object({"_fw_name": "CommonAdapter", "_fw_q_type": "SLURM", "queue": "debug"})
print(json.dumps({
    "task": type(task).__name__,
    "adapter": type(adapter).__name__,
    "tests_imported": sorted(m for m in sys.modules if m.startswith("fireworks") and ".tests" in m),
}))
"""


def test_registered_objects_load_without_importing_fireworks_tests():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"task": "ScriptTask", "adapter": "CommonAdapter", "tests_imported": []}


def test_without_registration_fireworks_walks_its_test_modules():
    """The failure mode the registration prevents (FireWorks 2.1.x ``load_object``)."""
    probe = PROBE.replace("register_fireworks_objects()\n", "")
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["task"] == "ScriptTask"
    assert got["tests_imported"]  # e.g. fireworks.user_objects.firetasks.tests.*
