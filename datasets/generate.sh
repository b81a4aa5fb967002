#!/usr/bin/env bash
# Regenerates the sample datasets of datasets/ bit for bit, or renders large
# benchmark plates.
#
#   datasets/generate.sh [SEMQR]              the samples, into datasets/
#   datasets/generate.sh [SEMQR] plate SIZE [DIR]
#                                             a SIZE x SIZE plate (8k, 16k, 32k,
#                                             64k or a number of pixels) filled
#                                             with symbols at default physics,
#                                             into DIR (default build/plates)
#
# SEMQR is the semqr binary (default build/semqr). Every file is a pure
# function of the options below, the seed and the real SEM images in
# datasets/real-sem/: running this again rewrites the same bytes (the ground
# truth records the paths as given here, relative to the repository).
set -euo pipefail
cd "$(dirname "$0")/.."

semqr=build/semqr
if [ $# -gt 0 ] && [ "$1" != plate ]; then
  semqr=$1
  shift
fi
[ -x "$semqr" ] || { echo "generate.sh: $semqr is not an executable semqr (build first)" >&2; exit 2; }

sim() { # NAME OPTIONS...: datasets/NAME.tif and datasets/NAME.json
  local name=$1
  shift
  "$semqr" simulate -o "datasets/$name.tif" "$@"
}

if [ $# -gt 0 ] && [ "$1" = plate ]; then
  size=${2:?plate needs a size: 8k, 16k, 32k, 64k or pixels}
  dir=${3:-build/plates}
  case $size in
    *k) px=$(( ${size%k} * 1024 )) ;;
    *) px=$size ;;
  esac
  mkdir -p "$dir"
  "$semqr" simulate -o "$dir/plate-$size.tif" --width "$px" --height "$px" --rows 0 --cols 0 \
    --template 'P{plate}-R{row}-C{col}' --seed 16
  exit 0
fi

# 1. A clean symbol: expected values, no noise; default probe, rim and drift.
sim clean --no-noise --seed 1
# 2. Low dose: 20 detected quanta per pixel on the film (a 0.1 us dwell).
sim low-dose --dose 20 --dwell-us 0.1 --seed 2
# 3. Drift within one slow frame: 20 us dwell (3.3 s), 300 nm/min, one
#    charging jump, stronger vibration.
sim drift --dwell-us 20 --flyback-us 100 --drift 300,150 --jumps 1 --jump-min-px 1 \
  --jump-max-px 3 --vibration-px 0.2 --dose 400 --seed 3
# 4. Inverted polarity: milled modules brighter than the film.
sim inverted --polarity bright --seed 4
# 5. An 8-frame stack for drift-corrected frame integration: fast noisy
#    frames 10 s apart drifting 30/-20 nm per minute.
sim stack8 --frames 8 --dwell-us 0.3 --dose 30 --frame-gap-s 10 --drift 30,-20 --seed 5
# 6. A 16-bit scan with FEI and Zeiss metadata and a data bar.
sim scan16 --bits 16 --dose 400 --zeiss --databar 40 --hv-kv 5 --halo-nm 95 --seed 6
# 7. A small tiled BigTIFF: 2 x 2 symbols, 128-pixel tiles, Deflate.
sim tiled-bigtiff --grid 2x2 --tiled --tile-size 128 --bigtiff 1 --compression deflate \
  --rotation-range 10 --seed 7
# 8. A plate of 10 x 10 symbols at default physics, slightly turned and
#    jittered, Deflate.
sim plate100 --grid 10x10 --rotation-range 2 --jitter-nm 50 --compression deflate --seed 8
# 9. Damage that needs erasures: a patch of 130 grey modules (some 20 of the
#    70 codewords of 3-M; errors alone correct 13), plus a particle.
sim damaged --missing 130 --particles 1 --particle-sigma-nm 10 --seed 9
# 10. A symbol on a real SEM background (KIT as-cast alloy, Zeiss InLens,
#     11.16 nm pixels, CC0-1.0).
sim texture --texture datasets/real-sem/kit_as-cast_10k_InLens.tif --texture-pixel-nm 11.16 \
  --width 400 --height 300 --seed 10
# 11. No symbol at all: a real SEM image (KIT Zeiss Merlin SE2, CC0-1.0) as
#     the instrument wrote it, and a ground truth listing no symbol.
cp datasets/real-sem/kit_zeiss_merlin_SE2.tif datasets/no-symbol.tif
cat > datasets/no-symbol.json <<'EOF'
{
  "generator": "datasets/generate.sh (a copy of datasets/real-sem/kit_zeiss_merlin_SE2.tif)",
  "image": {"width": 1024, "height": 768, "frames": 1, "bits": 8, "databar_rows": 0, "pixel_nm": 55.82},
  "symbol_count": 0,
  "symbols": []
}
EOF
echo "datasets: regenerated"
