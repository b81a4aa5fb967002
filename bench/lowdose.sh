#!/usr/bin/env bash
# Low-dose, drift and frame-stack benchmark (issue 5): semqr beside ZBar and
# zxing-cpp on the same simulated scans.
#
#   bench/lowdose.sh [--parts dose,drift,stack,ablation] [--seeds 16,17,18]
#                    [--doses LIST] [--stack-doses 5,10,20,40]
#                    [--drift-size 6144] [--ablation-doses auto|D1,D2]
#                    [--semqr build/semqr] [--out build/bench/lowdose]
#                    [--plates build/plates/lowdose] [--venv build/bench/venv]
#                    [--results bench/results] [--no-peers]
#
# Parts (each renders its scans once, keyed on the options and the semqr
# binary, and decodes them; every seed is one 2048 x 2048 plate of 64
# symbols unless said otherwise):
#   dose      default physics (version 3, 49 nm modules, 8 nm pixels: 6.125
#             px per module) but the dose, at every dose of --doses (detected
#             quanta per pixel on the film; "clean" is a noise-free render)
#             and every seed; semqr with default options, ZBar and zxing-cpp
#             on each whole plate and on 1024-pixel tiles cut for them.
#   drift     linear drift of 40 nm/min (32,24) with charging jumps (2 per
#             frame on average, 0.5-5 px each), 1 us dwell, 6.125 nm pixels
#             (8 px per 49 nm module), dose 100, on --drift-size square
#             plates (6144: 361 symbols each), every seed; semqr and peers.
#   stack     8-frame stacks at each per-frame dose of --stack-doses, every
#             seed, in two scenarios: "default" (default physics between
#             frames: 8,4 nm/min, no jumps) and "drift" (40 nm/min and 2
#             jumps per frame, as above); decoded as one frame (--page 0),
#             as the plain mean (--stack mean) and registered (--stack
#             register, the default).
#   ablation  each low-dose step off in turn (--no-denoise, --sampling
#             centre, --no-erasures, --no-padding, --retry-ms 0, and for stacks --stack
#             mean) on the dose plates at three doses (auto: semqr's lowest
#             dose with >= 99 %, the grid dose below it and the grid's
#             lowest, from the dose part's results) and on the stacks of each scenario at the
#             lowest per-frame dose where the registered stack reaches 99 %.
# Then bench/lowdose.py writes RESULTS/lowdose.md, lowdose.csv and
# lowdose-rate-vs-dose.png, and a short section into RESULTS/latest.md.
#
# Raw results: OUT/semqr/PART/RUN.{jsonl,err,meta} (one semqr run over
# several scans; .meta lists the flags, scans, exit status and seconds),
# OUT/peers/NAME-PEER.json (bench/peers.py), OUT/machine.txt (the last
# invocation), OUT/parts.txt (per part: seconds, when it ended, when its semqr
# was built). Running a part again replaces its results only.
set -euo pipefail
cd "$(dirname "$0")/.."

parts=dose,drift,stack,ablation
seeds=16,17,18
doses=20,30,40,45,50,55,60,65,70,80,100,160,320,640,1280,1920,2560,3840,5120,7680,10240,clean
stack_doses=5,10,20,40
drift_size=6144
ablation_doses=auto
semqr=build/semqr
out=build/bench/lowdose
plates=build/plates/lowdose
venv=build/bench/venv
results=bench/results
peers=1

usage() { sed -n '2,/^set /s/^# \{0,1\}//p' "$0" | sed '$d'; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --parts) parts=${2:?}; shift 2 ;;
    --seeds) seeds=${2:?}; shift 2 ;;
    --doses) doses=${2:?}; shift 2 ;;
    --stack-doses) stack_doses=${2:?}; shift 2 ;;
    --drift-size) drift_size=${2:?}; shift 2 ;;
    --ablation-doses) ablation_doses=${2:?}; shift 2 ;;
    --semqr) semqr=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --plates) plates=${2:?}; shift 2 ;;
    --venv) venv=${2:?}; shift 2 ;;
    --results) results=${2:?}; shift 2 ;;
    --no-peers) peers=0; shift ;;
    -h | --help) usage ;;
    *) echo "lowdose.sh: unknown option $1" >&2; usage ;;
  esac
done
if [ ! -x "$semqr" ]; then
  echo "lowdose.sh: $semqr is not an executable semqr (build first)" >&2
  exit 2
fi
IFS=, read -r -a part_list <<< "$parts"
IFS=, read -r -a seed_list <<< "$seeds"
IFS=, read -r -a dose_list <<< "$doses"
IFS=, read -r -a stack_dose_list <<< "$stack_doses"
for p in "${part_list[@]}"; do
  case $p in
    dose | drift | stack | ablation) ;;
    *) echo "lowdose.sh: unknown part $p" >&2; exit 2 ;;
  esac
done
want() { [[ ,$parts, == *,$1,* ]]; }

# The physics of the drift part and the drift stack scenario.
drift_opts=(--drift "32,24" --jumps 2 --dwell-us 1)
stack_frames=8

mkdir -p "$out" "$plates"
binsum=$(md5sum < "$semqr" | cut -d' ' -f1)
{
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  echo "nproc=$(nproc)"
  echo "semqr=$("$semqr" --version 2>&1 | head -1)"
  echo "commit=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)"
  echo "tree_changes=$(git status --porcelain --untracked-files=no 2> /dev/null | wc -l)"
  echo "semqr_built=$(date -u -r "$semqr" +%Y-%m-%dT%H:%MZ)"
  echo "parts=$parts"
  echo "seeds=$seeds"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/machine.txt"
touch "$out/parts.txt"

# render FILE.tif OPTIONS...: `semqr simulate` into FILE.tif and FILE.json,
# unless both exist from the same options and the same semqr binary
# (FILE.args records them).
render() {
  local tif=$1 stamp
  shift
  stamp="$binsum $*"
  if [ -s "$tif" ] && [ -s "${tif%.tif}.json" ] &&
    [ "$(cat "${tif%.tif}.args" 2> /dev/null)" = "$stamp" ]; then
    return 0
  fi
  mkdir -p "$(dirname "$tif")"
  "$semqr" simulate -o "$tif" "$@"
  printf '%s\n' "$stamp" > "${tif%.tif}.args"
}

# decode PART RUN FLAGS... -- SCANS...: one semqr run over the scans into
# OUT/semqr/PART/RUN.jsonl; its stderr into RUN.err; flags, scans, exit status
# and wall seconds into RUN.meta. A failing run is recorded, not fatal: the
# report shows its error.
decode() {
  local part=$1 run=$2 flags=() scans dir t0 rc=0
  shift 2
  while [ "$1" != -- ]; do flags+=("$1"); shift; done
  shift
  scans=("$@")
  dir=$out/semqr/$part
  mkdir -p "$dir"
  echo "lowdose.sh: semqr decode ${flags[*]:-(defaults)} on ${#scans[@]} scans ($part/$run)" >&2
  t0=$(date +%s.%N)
  "$semqr" decode "${flags[@]}" -o "$dir/$run.jsonl" "${scans[@]}" 2> "$dir/$run.err" || rc=$?
  {
    echo "part=$part"
    echo "run=$run"
    echo "flags=${flags[*]}"
    echo "exit=$rc"
    echo "seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
    for s in "${scans[@]}"; do echo "scan=$s"; done
  } > "$dir/$run.meta"
}

# The options every 2048 x 2048 plate shares: filled with symbols, unique
# payloads.
plate_opts=(--width 2048 --height 2048 --rows 0 --cols 0 --template 'P{plate}-R{row}-C{col}')

dose_scan() { echo "$plates/dose/dose-d$1-s$2.tif"; }
dose_render() { # DOSE SEED
  if [ "$1" = clean ]; then
    render "$(dose_scan "$1" "$2")" "${plate_opts[@]}" --seed "$2" --no-noise
  else
    render "$(dose_scan "$1" "$2")" "${plate_opts[@]}" --seed "$2" --dose "$1"
  fi
}
stack_scan() { echo "$plates/stack/stack-$1-d$2-s$3.tif"; }
stack_render() { # SCENARIO DOSE SEED
  local extra=()
  [ "$1" = drift ] && extra=("${drift_opts[@]}")
  render "$(stack_scan "$1" "$2" "$3")" "${plate_opts[@]}" --seed "$3" --dose "$2" \
    --frames "$stack_frames" "${extra[@]}"
}

# The Python environment of peers.py and lowdose.py, made as run.sh makes it.
need_venv() {
  if [ ! -x "$venv/bin/python" ] ||
    ! "$venv/bin/python" -c 'import numpy, PIL, zxingcpp, matplotlib' 2> /dev/null; then
    echo "lowdose.sh: setting up $venv (numpy, pillow, zxing-cpp, matplotlib)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q numpy pillow zxing-cpp matplotlib
  fi
}

peers_on() { # SCANS...: bench/peers.py into OUT/peers
  [ "$peers" = 1 ] || return 0
  need_venv
  "$venv/bin/python" bench/peers.py --out "$out/peers" "$@"
}

# part_done PART START: records in OUT/parts.txt the part's wall seconds, when
# it ended and when the semqr binary it ran was built ("PART=SECS END BUILT").
part_done() {
  local secs
  secs=$(awk -v a="$2" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  grep -v "^$1=" "$out/parts.txt" > "$out/parts.txt.new" || true
  echo "$1=$secs $(date -u +%Y-%m-%dT%H:%MZ) $(date -u -r "$semqr" +%Y-%m-%dT%H:%MZ)" \
    >> "$out/parts.txt.new"
  mv "$out/parts.txt.new" "$out/parts.txt"
  echo "lowdose.sh: part $1 took $secs s" >&2
}

if want dose; then
  t=$(date +%s.%N)
  rm -rf "$out/semqr/dose"
  rm -f "$out"/peers/dose-*.json
  all=()
  for d in "${dose_list[@]}"; do
    scans=()
    for s in "${seed_list[@]}"; do
      dose_render "$d" "$s"
      scans+=("$(dose_scan "$d" "$s")")
    done
    decode dose "d$d" -- "${scans[@]}"
    all+=("${scans[@]}")
  done
  peers_on "${all[@]}"
  part_done dose "$t"
fi

if want drift; then
  t=$(date +%s.%N)
  rm -rf "$out/semqr/drift"
  rm -f "$out"/peers/drift-*.json
  scans=()
  for s in "${seed_list[@]}"; do
    scans+=("$plates/drift/drift-s$s.tif")
    # 49 nm / 6.125 nm = 8 px per module; FEI metadata carries the pixel size.
    render "${scans[-1]}" --width "$drift_size" --height "$drift_size" --rows 0 --cols 0 \
      --template 'P{plate}-R{row}-C{col}' --seed "$s" --pixel-nm 6.125 "${drift_opts[@]}"
  done
  decode drift default -- "${scans[@]}"
  peers_on "${scans[@]}"
  part_done drift "$t"
fi

if want stack; then
  t=$(date +%s.%N)
  rm -rf "$out/semqr/stack"
  for sc in default drift; do
    for d in "${stack_dose_list[@]}"; do
      scans=()
      for s in "${seed_list[@]}"; do
        stack_render "$sc" "$d" "$s"
        scans+=("$(stack_scan "$sc" "$d" "$s")")
      done
      decode stack "$sc-d$d-page0" --page 0 -- "${scans[@]}"
      decode stack "$sc-d$d-mean" --stack mean -- "${scans[@]}"
      decode stack "$sc-d$d-register" --stack register -- "${scans[@]}"
    done
  done
  part_done stack "$t"
fi

if want ablation; then
  t=$(date +%s.%N)
  # Picks the doses from the dose and stack parts' results (lowdose.py).
  need_venv
  picks=$("$venv/bin/python" bench/lowdose.py --bench "$out" --pick "$ablation_doses")
  rm -rf "$out/semqr/ablation"
  variants=("all-on" "no-denoise:--no-denoise" "sigma-third:--denoise-sigma 2.042"
            "centre:--sampling centre"
            "no-erasures:--no-erasures" "no-padding:--no-padding" "no-retry:--retry-ms 0")
  mapfile -t pick_list <<< "$picks"
  for pick in "${pick_list[@]}"; do
    read -r kind sc d <<< "$pick"
    [ -n "$kind" ] || continue
    scans=()
    for s in "${seed_list[@]}"; do
      if [ "$kind" = dose ]; then
        dose_render "$d" "$s"
        scans+=("$(dose_scan "$d" "$s")")
      else
        stack_render "$sc" "$d" "$s"
        scans+=("$(stack_scan "$sc" "$d" "$s")")
      fi
    done
    vs=("${variants[@]}")
    [ "$kind" = stack ] && vs+=("stack-mean:--stack mean")
    for v in "${vs[@]}"; do
      name=${v%%:*}
      flags=()
      [[ $v == *:* ]] && read -r -a flags <<< "${v#*:}"
      decode ablation "$kind-$sc-d$d-$name" "${flags[@]}" -- "${scans[@]}"
    done
  done
  part_done ablation "$t"
fi

echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
need_venv
"$venv/bin/python" bench/lowdose.py --bench "$out" --results "$results"
