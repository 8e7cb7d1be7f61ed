"""Fake VASP executable for custodian fault tests (run as ``python fake_vasp.py MODE``).

It prints a real VASP error log (custodian's ZBRENT test log from the shared data) or
writes the outputs of a real finished VASP run (the Si endpoint relaxation of the shared
atomate2 NEB set, which passes all of custodian's default VASP handlers):

- ``zbrent_once``: fails with ZBRENT until the INCAR carries custodian's fix for it
  (``NELMIN = 8``), then succeeds — a custodian-correctable failure.
- ``zbrent_always``: always fails with ZBRENT — custodian runs out of fixes.
- ``ok``: succeeds at once.
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


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
    with open("fake_vasp_calls.log", "a") as log:
        log.write(f"{mode} NELMIN={_incar().get('NELMIN')}\n")
    if mode == "ok" or (mode == "zbrent_once" and _incar().get("NELMIN") == "8"):
        _succeed()
    else:
        _fail_zbrent()
    return 0


if __name__ == "__main__":
    sys.exit(main())
