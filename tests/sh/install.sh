#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds programs outside the
# tree against the installed library: the README's C example through
# pkg-config (shared and static) and through CMake's find_package(semqr), and
# runs them. Usage: install.sh SEMQR_CLI BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$2 src=$3
work=$build/tests/tmp_install
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

# The README's example: the ```c block after the line "<!-- example -->".
awk '/<!-- example -->/{f=1;next} f&&/^```c/{g=1;next} g&&/^```/{exit} g' "$src/README.md" >"$work/example.c"
[ -s "$work/example.c" ] || { echo "no C example found in README.md"; exit 1; }

extra=()
grep -q '^SEMQR_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && extra=(-fsanitize=address,undefined)
libdir=$(ls -d "$prefix"/lib*/ | head -n 1)
export PKG_CONFIG_PATH=$libdir/pkgconfig

# shared, through pkg-config
cc -std=c11 -Wall -Wextra -Werror "${extra[@]}" "$work/example.c" -o "$work/example_shared" \
   $(pkg-config --cflags --libs semqr)
LD_LIBRARY_PATH=$libdir "$work/example_shared" >"$work/out_shared.txt"
# static, through pkg-config --static
cc -std=c11 -Wall -Wextra -Werror "${extra[@]}" "$work/example.c" -o "$work/example_static" \
   $(pkg-config --cflags semqr) "$libdir/libsemqr.a" $(pkg-config --static --libs-only-l semqr | sed 's/-lsemqr//')
"$work/example_static" >"$work/out_static.txt"

# CMake package
mkdir -p "$work/cmake_proj"
cp "$work/example.c" "$work/cmake_proj/example.c"
cat >"$work/cmake_proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(semqr_consumer C)
find_package(semqr REQUIRED)
add_executable(example example.c)
target_link_libraries(example PRIVATE semqr::static)
CM
cmake -S "$work/cmake_proj" -B "$work/cmake_build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_FLAGS="${extra[*]:-}" -DCMAKE_EXE_LINKER_FLAGS="${extra[*]:-}" >/dev/null
cmake --build "$work/cmake_build" >/dev/null
"$work/cmake_build/example" >"$work/out_cmake.txt"

# The installed CLI runs, and the three programs printed the example's expected line.
"$prefix/bin/semqr" --version | grep -q '^semqr '
for f in shared static cmake; do
  grep -q 'Hello, ceramic' "$work/out_$f.txt" || { echo "example ($f) printed:"; cat "$work/out_$f.txt"; exit 1; }
done
echo "3 passed, 0 failed"
