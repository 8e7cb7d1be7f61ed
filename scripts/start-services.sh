#!/usr/bin/env bash
# Start the services the tests need: a one-node Slurm cluster on localhost
# (scripts from the shared tools folder, passed as $1; default ../shared).
set -euo pipefail
shared="${1:-$(cd "$(dirname "$0")/../.." && pwd)/shared}"
start="$shared/tools/slurm-local/start"
if [ ! -x "$start" ] && [ ! -f "$start" ]; then
  echo "error: $start not found; pass the shared folder as SHARED=... (Slurm tests need it)" >&2
  exit 1
fi
# the start script sizes the node with `nproc`, which honours OMP_NUM_THREADS
env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT bash "$start"
