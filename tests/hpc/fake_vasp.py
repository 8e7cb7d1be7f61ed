"""Fake VASP executable for custodian fault tests (run as ``python fake_vasp.py MODE``).

It prints a real VASP error log (custodian's ZBRENT test log from the shared data) or
writes the outputs of a real finished VASP run (the Si endpoint relaxation of the shared
atomate2 NEB set, which passes all of custodian's default VASP handlers):

- ``zbrent_once``: fails with ZBRENT until the INCAR carries custodian's fix for it
  (``NELMIN = 8``), then succeeds — a custodian-correctable failure.
- ``zbrent_always``: always fails with ZBRENT — custodian runs out of fixes.
- ``ok``: succeeds at once.
- ``zbrent_crash_then_ok``: counts its calls in ``$FAKE_VASP_STATE`` (any folder): call 1
  fails with ZBRENT, call 2 crashes (exit 1), later calls succeed when the INCAR carries
  ``NELMIN = 8`` and fail with ZBRENT otherwise. Every failing call writes a CONTCAR with
  the first atom moved by 0.01 (fractional x) from the POSCAR, like an ionic step, so a
  rerun that starts from the last CONTCAR can be told from one that starts over.
"""

import gzip
import os
import shutil
import sys
from pathlib import Path

SHARED = Path(os.environ.get("IONFLOW_SHARED_DATA", "/work/shared/data"))
ZBRENT_LOG = SHARED / "errors/custodian_vasp/stdout_cases/vasp.zbrent"
FINISHED = SHARED / "neb/atomate2_si_vacancy_neb/relax_endpoint_1/outputs"


def _incar() -> dict[str, str]:
    out = {}
    for line in Path("INCAR").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip().upper()] = value.split("!")[0].strip()
    return out


def _succeed() -> None:
    for name in ("vasprun.xml", "OUTCAR", "CONTCAR"):
        with gzip.open(FINISHED / f"{name}.gz", "rb") as src, open(name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    Path("OSZICAR").write_text(
        "       N       E                     dE             d eps       ncg     rms"
        "          rms(c)\n"
        "DAV:   1    -0.100000000000E+02   -0.10000E+02   -0.10000E+03    16   0.500E+01\n"
        "DAV:   2    -0.100100000000E+02   -0.10000E-01   -0.10000E-01    16   0.100E+00\n"
        "   1 F= -.10010000E+02 E0= -.10010000E+02  d E =-.100100E+02\n"
    )
    print(" running on    1 total cores")
    print(" reached required accuracy - stopping structural energy minimisation")
    print(" General timing and accounting informations for this job:")


def _fail_zbrent() -> None:
    shutil.copy("POSCAR", "CONTCAR")
    sys.stdout.write(ZBRENT_LOG.read_text())


def _step_contcar() -> None:
    lines = Path("POSCAR").read_text().splitlines()
    start = 9 if lines[7].strip()[:1].lower() == "s" else 8  # after Selective dynamics
    x, rest = lines[start].split(None, 1)
    lines[start] = f"  {float(x) + 0.01:.10f} {rest}"
    Path("CONTCAR").write_text("\n".join(lines) + "\n")


def _call_number() -> int:
    state = Path(os.environ["FAKE_VASP_STATE"])
    n = int(state.read_text()) + 1 if state.exists() else 1
    state.write_text(str(n))
    return n


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
    with open("fake_vasp_calls.log", "a") as log:
        log.write(f"{mode} NELMIN={_incar().get('NELMIN')}\n")
    if mode == "zbrent_crash_then_ok":
        call = _call_number()
        if call >= 3 and _incar().get("NELMIN") == "8":
            _succeed()
            return 0
        _step_contcar()
        if call == 2:
            print("forrtl: severe (174): SIGSEGV, segmentation fault occurred")
            return 1
        sys.stdout.write(ZBRENT_LOG.read_text())
        return 0
    if mode == "ok" or (mode == "zbrent_once" and _incar().get("NELMIN") == "8"):
        _succeed()
    else:
        _fail_zbrent()
    return 0


if __name__ == "__main__":
    sys.exit(main())
