#!/usr/bin/env bash
# Times `semqr simulate` on a SIZE x SIZE plate filled with symbols at default
# physics (8-bit strips, no compression), RUNS times, and prints each run's
# wall time, peak memory and throughput, then the median wall time.
#
#   bench/sim_timing.sh [SEMQR] [SIZE] [RUNS]     defaults: build/semqr 16384 3
#
# The plate is written to $TMPDIR (default /tmp) and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
semqr=${1:-build/semqr}
size=${2:-16384}
runs=${3:-3}
out=${TMPDIR:-/tmp}/semqr-sim-bench-$$.tif
trap 'rm -f "$out" "${out%.tif}.json" "$out.time"' EXIT

times=()
for ((i = 1; i <= runs; i++)); do
  /usr/bin/time -f '%e %M' -o "$out.time" \
    "$semqr" simulate -o "$out" --no-truth --width "$size" --height "$size" --rows 0 --cols 0
  read -r secs kb < "$out.time"
  mpx=$(awk -v s="$secs" -v n="$size" 'BEGIN { printf "%.1f", n * n / s / 1e6 }')
  echo "run $i: ${secs} s, peak ${kb} KB, ${mpx} Mpixel/s"
  times+=("$secs")
done
median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "median of $runs: $median s for $size x $size ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
