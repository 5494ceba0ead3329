#!/usr/bin/env bash
# tools/dist.sh BUILD_DIR OUT_DIR — assembles the relocatable folder made by `make dist`.
#
# OUT_DIR/spinlock            the binary, linked with DT_RPATH $ORIGIN/lib (make DIST=1)
# OUT_DIR/libspinlock_cuda.so the CUDA plugin, when it was built (needs the target's CUDA libs)
# OUT_DIR/{lua,recipes,configs,docs}
# OUT_DIR/lib/*.so*           every shared library the binary and lyaml need, except glibc's
#                             own (libc, libm, ld-linux... must come from the target system);
#                             GCC's runtimes (libgomp, libgfortran, libquadmath) are bundled
# OUT_DIR/lib/lua/yaml.so, OUT_DIR/lua/lyaml/   lyaml (Debian lua-yaml), found via package.cpath
# OUT_DIR/licenses/<package>  the Debian copyright file of every bundled library's package
#
# Then it checks the result: ldd resolves every bundled library inside OUT_DIR, and the
# binary runs with an empty environment.
set -euo pipefail
build=${1:?usage: tools/dist.sh BUILD_DIR OUT_DIR}
out=${2:?usage: tools/dist.sh BUILD_DIR OUT_DIR}

rm -rf "$out"
mkdir -p "$out/lib/lua" "$out/licenses"
cp "$build/spinlock" "$out/"
if [ -f "$build/libspinlock_cuda.so" ]; then cp "$build/libspinlock_cuda.so" "$out/"; fi
for d in lua recipes configs docs; do
  if [ -d "$d" ]; then cp -R "$d" "$out/"; fi
done
cp README.md "$out/" 2>/dev/null || true

lyaml_so=/usr/lib/x86_64-linux-gnu/lua/5.1/yaml.so
cp "$lyaml_so" "$out/lib/lua/"
cp -R /usr/share/lua/5.1/lyaml "$out/lua/"

# glibc's libraries stay with the target system: bundling them breaks more than it fixes.
is_system() {
  case "$1" in
    linux-vdso.so.*|ld-linux*|libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|\
    libresolv.so.*|libutil.so.*|libanl.so.*|libnsl.so.*|libmvec.so.*) return 0 ;;
  esac
  return 1
}

# ldd lists the whole dependency closure, so one pass over the binary and yaml.so suffices.
ldd "$build/spinlock" "$lyaml_so" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
while read -r lib; do
  name=$(basename "$lib")
  is_system "$name" && continue
  cp -L "$lib" "$out/lib/$name"
  real=$(readlink -f "$lib")
  # merged /usr: dpkg may have registered the file under /lib instead of /usr/lib
  pkg=$( (dpkg -S "$real" || dpkg -S "${real#/usr}") 2>/dev/null | head -1 | cut -d: -f1) || true
  if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
    cp "/usr/share/doc/$pkg/copyright" "$out/licenses/$pkg"
  fi
done
for pkg in lua-yaml luajit; do
  [ -f "/usr/share/doc/$pkg/copyright" ] && cp "/usr/share/doc/$pkg/copyright" "$out/licenses/$pkg"
done

# ---- checks ----
fail=0
missing=$(ldd "$out/spinlock" | awk '/not found/ { print $1 }')
if [ -n "$missing" ]; then echo "dist: unresolved libraries: $missing" >&2; fail=1; fi
outside=$(ldd "$out/spinlock" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
          while read -r name path; do
            is_system "$name" || case "$path" in "$(cd "$out" && pwd)"/lib/*) ;; *) echo "$name=$path" ;; esac
          done)
if [ -n "$outside" ]; then echo "dist: libraries resolved outside $out/lib: $outside" >&2; fail=1; fi
got=$(env -i "$out/spinlock" -e 'print(require("spinlock.paths").home); print(require("lyaml").load("a: 1").a)')
want="$(cd "$out" && pwd)
1"
if [ "$got" != "$want" ]; then
  echo "dist: scrubbed-environment run printed:" >&2; echo "$got" >&2; fail=1
fi
if ! env -i "$out/spinlock" -e 'print(require("spinlock").zeros(2))'; then
  echo "dist: the engine does not run from $out with an empty environment" >&2; fail=1
fi
if [ "$fail" -ne 0 ]; then exit 1; fi
echo "dist: $out ready ($(ls "$out/lib" | grep -c '\.so') bundled libraries, $(du -sh "$out" | cut -f1)); checked with env -i"
