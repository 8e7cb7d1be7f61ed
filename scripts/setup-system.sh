#!/usr/bin/env bash
# Install the Debian packages ionflow's tests run for real: cp2k, slurm-wlm, munge.
# Idempotent: does nothing when they are present. Needs root (or sudo) when they are not.
set -euo pipefail
need=()
command -v cp2k.psmp >/dev/null 2>&1 || need+=(cp2k)
command -v slurmctld >/dev/null 2>&1 || need+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || need+=(munge)
if [ ${#need[@]} -eq 0 ]; then
  echo "system packages present: cp2k, slurm-wlm, munge"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: need root to install ${need[*]} (apt-get); install them and rerun" >&2
    exit 1
  fi
fi
echo "installing ${need[*]} ..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
echo "installed ${need[*]}"
