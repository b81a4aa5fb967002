#!/usr/bin/env bash
# The semqr benchmark: one command from plates to tables and plots.
#
#   bench/run.sh [--sizes 2k,8k,16k] [--repeats 3] [--out build/bench]
#                [--semqr build/semqr] [--plates build/plates]
#                [--peer-sizes LIST] [--doses 10,20,40,80,160,320,640] [--no-peers]
#                [--results bench/results]
#
# 1. Plates: build/plates/plate-SIZE.tif (+ .json truth) are rendered by
#    datasets/generate.sh (default physics, seed 16) unless already there;
#    they are reused by later runs (delete one to render it again).
# 2. semqr: each plate is decoded once cold, with PoCL's kernel cache
#    (POCL_CACHE_DIR) and semqr's binary cache (SEMQR_CACHE_DIR) pointed at
#    a fresh empty directory so every kernel is compiled in that run, then
#    REPEATS times warm with the caches it filled.
#    Every run is wrapped in /usr/bin/time -v for the wall time and peak
#    resident memory; its JSON Lines (the last line a summary with seconds
#    per stage) are kept under OUT/semqr/SIZE/.
# 3. Peers (bench/peers.py, in a virtual environment OUT/venv it creates):
#    zbarimg, zxing-cpp and quirc (if QUIRC_BIN or `quirc` is found), on the
#    whole plate and on overlapping tiles, for the sizes of --peer-sizes
#    (default: those of --sizes up to 16k; larger ones take them minutes).
# 4. Dose sweep: 2048 x 2048 plates at each dose of --doses (detected quanta
#    per pixel on the film), decoded once by semqr (decode rate only) and by
#    the peers.
#    --doses none skips it.
# 5. bench/report.py writes RESULTS/latest.md, latest.csv and the PNG plots.
#
# Running it again redoes the measurements (not the plates) of the sizes,
# doses and peers asked for, replacing theirs in OUT and keeping the others,
# and rewrites RESULTS from all of OUT. Sizes: 2k, 8k, 16k, 32k, 64k or a
# number of pixels.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=2k,8k,16k
repeats=3
out=build/bench
semqr=build/semqr
plates=build/plates
peer_sizes=
doses=10,20,40,80,160,320,640
peers=1
results=bench/results

usage() { sed -n '2,/^set /s/^# \{0,1\}//p' "$0"; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=${2:?}; shift 2 ;;
    --repeats) repeats=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --semqr) semqr=${2:?}; shift 2 ;;
    --plates) plates=${2:?}; shift 2 ;;
    --peer-sizes) peer_sizes=${2:?}; shift 2 ;;
    --doses) doses=${2:?}; shift 2 ;;
    --no-peers) peers=0; shift ;;
    --results) results=${2:?}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "run.sh: unknown option $1" >&2; usage ;;
  esac
done
[ -x "$semqr" ] || { echo "run.sh: $semqr is not an executable semqr (build first)" >&2; exit 2; }
case $repeats in '' | *[!0-9]* | 0) echo "run.sh: --repeats needs a positive number" >&2; exit 2 ;; esac

pixels() { # SIZE -> pixels per side
  case $1 in
    *k) echo $(( ${1%k} * 1024 )) ;;
    *[!0-9]* | '') echo "run.sh: bad size $1 (2k, 8k, 16k, 32k, 64k or pixels)" >&2; exit 2 ;;
    *) echo "$1" ;;
  esac
}
IFS=, read -r -a size_list <<< "$sizes"
for s in "${size_list[@]}"; do pixels "$s" > /dev/null; done
if [ -z "$peer_sizes" ]; then
  for s in "${size_list[@]}"; do
    [ "$(pixels "$s")" -le 16384 ] && peer_sizes+=${peer_sizes:+,}$s
  done
fi

if [ ! -x /usr/bin/time ]; then
  echo "run.sh: /usr/bin/time missing, installing the Debian package 'time'" >&2
  apt-get install -y time > /dev/null
fi

mkdir -p "$out" "$plates"

# The machine, once per run: what the numbers were measured on.
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "nproc=$(nproc)"
  echo "mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
  echo "kernel=$(uname -sr)"
  echo "semqr=$("$semqr" --version 2>&1 | head -1)"
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "semqr_built=$(date -u -r "$semqr" +%Y-%m-%dT%H:%MZ)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"

# Renders plate-SIZE unless it is there; refuses when the disk cannot hold it.
plate() {
  local size=$1 px
  px=$(pixels "$size")
  [ -s "$plates/plate-$size.tif" ] && [ -s "$plates/plate-$size.json" ] && return 0
  local need_kb=$(( px * px * 3 / 2048 )) free_kb # 8-bit image and truth, with room
  free_kb=$(df -Pk "$plates" | awk 'NR == 2 { print $4 }')
  if [ "$free_kb" -lt "$need_kb" ]; then
    echo "run.sh: plate-$size needs about $(( need_kb / 1024 )) MB, $plates has $(( free_kb / 1024 )) MB free" >&2
    exit 1
  fi
  echo "run.sh: rendering $plates/plate-$size.tif ($px x $px)" >&2
  /usr/bin/time -f '%e %M' -o "$out/sim-$size.time" \
    datasets/generate.sh "$semqr" plate "$size" "$plates"
}

# Decodes SCAN into DIR/run-NAME.jsonl with DIR/run-NAME.time beside it,
# with the PoCL kernel cache and semqr's binary cache in CACHE.
decode() {
  local scan=$1 dir=$2 name=$3 cache=$4
  POCL_CACHE_DIR=$cache SEMQR_CACHE_DIR=$cache/semqr /usr/bin/time -v -o "$dir/run-$name.time" \
    "$semqr" decode "$scan" -o "$dir/run-$name.jsonl"
}

for s in "${size_list[@]}"; do
  plate "$s"
  dir=$out/semqr/$s
  rm -rf "$dir"
  mkdir -p "$dir"
  cache=$(mktemp -d "${TMPDIR:-/tmp}/semqr-bench-pocl.XXXXXX")
  echo "run.sh: semqr decode plate-$s: cold, then $repeats warm" >&2
  decode "$plates/plate-$s.tif" "$dir" cold "$cache"
  for ((i = 1; i <= repeats; i++)); do
    decode "$plates/plate-$s.tif" "$dir" "warm$i" "$cache"
    # Only the cold run's symbols are kept: warm runs decode the same file.
    tail -n 1 "$dir/run-warm$i.jsonl" > "$dir/run-warm$i.summary" && rm "$dir/run-warm$i.jsonl"
  done
  rm -rf "$cache"
done

if [ "$doses" != none ]; then
  cache=$(mktemp -d "${TMPDIR:-/tmp}/semqr-bench-pocl.XXXXXX")
  IFS=, read -r -a dose_list <<< "$doses"
  mkdir -p "$plates/dose"
  for d in "${dose_list[@]}"; do
    scan=$plates/dose/plate-2k-dose$d.tif
    if [ ! -s "$scan" ] || [ ! -s "${scan%.tif}.json" ]; then
      "$semqr" simulate -o "$scan" --width 2048 --height 2048 --rows 0 --cols 0 \
        --template 'P{plate}-R{row}-C{col}' --seed 16 --dose "$d"
    fi
    dir=$out/dose/$d
    rm -rf "$dir"
    mkdir -p "$dir"
    decode "$scan" "$dir" warm1 "$cache"
  done
  rm -rf "$cache"
fi

venv=$out/venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import numpy, PIL, zxingcpp, matplotlib' 2> /dev/null; then
  echo "run.sh: setting up $venv (numpy, pillow, zxing-cpp, matplotlib)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy pillow zxing-cpp matplotlib
fi
if [ "$peers" = 1 ]; then
  rm -rf "$out/peers"
  args=()
  IFS=, read -r -a peer_list <<< "$peer_sizes"
  for s in "${peer_list[@]}"; do args+=("$plates/plate-$s.tif"); done
  if [ "$doses" != none ]; then
    for d in "${dose_list[@]}"; do args+=("$plates/dose/plate-2k-dose$d.tif"); done
  fi
  "$venv/bin/python" bench/peers.py --out "$out/peers" "${args[@]}"
fi

echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
"$venv/bin/python" bench/report.py --bench "$out" --results "$results"
