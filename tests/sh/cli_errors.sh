#!/usr/bin/env bash
# Bad input to the CLI: every case must exit non-zero with a clear message on
# stderr naming the problem, and never crash (a signal exit is >= 128).
# Usage: cli_errors.sh SEMQR_CLI BUILD_DIR SOURCE_DIR
set -u
semqr=$1
tmp=$2/tests/tmp_cli_errors
mkdir -p "$tmp"
pass=0 fail=0

# expect STATUS PATTERN -- COMMAND...: exit status must equal STATUS and stderr match PATTERN.
expect() {
  local want=$1 pattern=$2; shift 3
  local err rc
  err=$("$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -eq "$want" ] && grep -qiE -- "$pattern" <<<"$err"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $* -> exit $rc (want $want), stderr: $err"
  fi
}

head -c 1300 /dev/zero | tr '\0' 'a' >"$tmp/long.txt"
printf 'hello' >"$tmp/short.txt"
printf 'not an image at all\n' >"$tmp/text.png"
: >"$tmp/empty.pgm"
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0' >"$tmp/truncated.png"
printf 'II*\0\x08\0\0\0\x0f\0' >"$tmp/truncated.tif"
printf 'P5\n99999999 99999999\n255\n' >"$tmp/huge.pgm"

expect 1 "need .* bits.*holds"    -- "$semqr" encode -l H -i "$tmp/long.txt" -o "$tmp/x.png"
expect 1 "need .* bits.*holds"    -- "$semqr" encode --version 1 "this is far more than version one holds at M"
expect 2 "level.*'X'"                 -- "$semqr" encode -l X hello
expect 2 "version.*1 to 40.*'41'"     -- "$semqr" encode --version 41 hello
expect 2 "version.*'abc'"             -- "$semqr" encode --version abc hello
expect 2 "mask.*0 to 7.*'8'"          -- "$semqr" encode --mask 8 hello
expect 2 "mode.*'octal'"              -- "$semqr" encode --mode octal hello
expect 2 "numeric|offset"             -- "$semqr" encode --mode numeric 12a4
expect 2 "eci.*'-5'"                  -- "$semqr" encode --eci -5 hello
expect 2 "structured-append.*'17'"    -- "$semqr" encode --structured-append 17 hello
expect 2 "scale.*'0'"                 -- "$semqr" encode -s 0 -o "$tmp/x.png" hello
expect 2 "unknown option '--frobnicate'" -- "$semqr" encode --frobnicate hello
expect 2 "needs a value"              -- "$semqr" encode hello --level
expect 2 "min-version 9 is above"     -- "$semqr" encode --min-version 9 --max-version 3 hello
expect 2 "extension|\\.xyz"           -- "$semqr" encode -o "$tmp/x.xyz" hello
expect 1 "cannot open.*nonexistent"   -- "$semqr" encode -i "$tmp/nonexistent.bin"
expect 1 "nonexistent"                -- "$semqr" decode --pure "$tmp/nonexistent.png"
expect 1 "text.png.*(not a|unknown|format)" -- "$semqr" decode --pure "$tmp/text.png"
expect 1 "empty.pgm"                  -- "$semqr" decode --pure "$tmp/empty.pgm"
expect 1 "truncated.png"              -- "$semqr" decode --pure "$tmp/truncated.png"
expect 1 "truncated.tif"              -- "$semqr" decode --pure "$tmp/truncated.tif"
expect 1 "huge.pgm.*(large|dimension|size)" -- "$semqr" decode --pure "$tmp/huge.pgm"
expect 1 "short.txt"                  -- "$semqr" decode --pure "$tmp/short.txt"
expect 2 "no image"                   -- "$semqr" decode --pure
expect 2 "unknown option"             -- "$semqr" decode --bogus x.png
expect 2 "unknown command 'bogus'"    -- "$semqr" bogus
expect 2 "usage"                      -- "$semqr"

# Every numeric option of simulate is range-checked in the library's terms:
# a value far outside any range is refused, naming the option and its range.
for opt in $("$semqr" simulate --help | grep -oE -- '--[a-z0-9-]+ [XN]$|--[a-z0-9-]+ [XN] ' |
             awk '{print $1}' | sort -u); do
  expect 2 "$opt expects .*(from .* to |>= )" -- "$semqr" simulate "$opt" 1e300 -o "$tmp/never.tif"
done

# New decode options.
expect 2 "--stack expects register or mean"   -- "$semqr" decode --stack median x.tif
expect 2 "--sampling expects soft or centre"  -- "$semqr" decode --sampling hard x.tif
expect 2 "--retry-ms"                          -- "$semqr" decode --retry-ms -1 x.tif
expect 2 "--frame-period-s"                    -- "$semqr" decode --frame-period-s 0 x.tif
expect 2 "--line-shift-max"                    -- "$semqr" decode --line-shift-max 33 x.tif
expect 2 "--detect-scale expects auto, 1 or 2" -- "$semqr" decode --detect-scale 4 x.tif
expect 2 "--detect-scale expects auto, 1 or 2" -- "$semqr" decode --detect-scale half x.tif
expect 2 "--denoise-sigma expects a number from 0.01 to 5" -- "$semqr" decode --denoise-sigma 5.5 x.tif
expect 2 "--denoise-sigma"                     -- "$semqr" decode --denoise-sigma 0 x.tif

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
