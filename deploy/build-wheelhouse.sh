#!/usr/bin/env bash
# Build the bundle a controller ships to cabinets: the agent's wheel and every dependency as
# wheels, in one reproducible tar. Cabinets have no internet, so nothing is fetched there.
#
#   deploy/build-wheelhouse.sh [--out DIR] [--source DIR] [--version V] [--target PLATFORM PYVER]
#
#   --out DIR        where edge-agent-<version>-wheelhouse.tar goes (default: dist/)
#   --source DIR     the project to build (default: this checkout)
#   --version V      build the wheel with this version instead of pyproject's (test builds)
#   --target P V     cross-download binary wheels for another cabinet; P is a comma-separated
#                    list of platform tags (pip matches them exactly), V the Python version:
#                    --target manylinux2014_aarch64,manylinux_2_28_aarch64 3.11
#                    (Raspberry Pi OS 12, 64-bit: glibc 2.36, Python 3.11)
#                    Without it, wheels match the Python running this script.
#   PYTHON=...       the interpreter used to build (default: python3)
#   --offline        resolve dependencies from WHEELHOUSE_CACHE only, without an index
#   WHEELHOUSE_CACHE=DIR  reuse dependency wheels downloaded before (same requirements)
#
# The tar holds wheelhouse/*.whl, wheelhouse/SHA256SUMS and hooks/agent/ (the upgrade hooks of
# this version); the edge_agent role unpacks it and installs with `pip install --no-index`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(dirname "$here")"
out="$source_dir/dist"
version=""
target=()
index=()
python="${PYTHON:-python3}"

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --source) source_dir="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --target)
      # pip matches platform tags exactly: list every glibc level the cabinet accepts.
      target=(--only-binary=:all: --python-version "$3" --implementation cp)
      IFS=, read -r -a platforms <<< "$2"
      for platform in "${platforms[@]}"; do target+=(--platform "$platform"); done
      shift 3 ;;
    --offline) index=(--no-index); shift ;;
    *) echo "unknown option: $1" >&2; exit 64 ;;
  esac
done

mkdir -p "$out" && out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/wheelhouse"

# Build from a copy, so a --version build never touches the checkout.
tar -C "$source_dir" --exclude=.venv --exclude=.git --exclude=dist --exclude=build \
  --exclude='*.egg-info' -cf - pyproject.toml edge_agent $(cd "$source_dir" && ls README.md 2>/dev/null) \
  | tar -C "$work" -xf -
mkdir -p "$work/src" && mv "$work/pyproject.toml" "$work/edge_agent" "$work/src/"
[ -f "$work/README.md" ] && mv "$work/README.md" "$work/src/"
if [ -n "$version" ]; then
  # The version is either static in pyproject.toml or a literal `__version__` in the package.
  sed -i -E "0,/^version = \"[^\"]*\"/s//version = \"$version\"/" "$work/src/pyproject.toml"
  sed -i -E "s/^__version__ = \"[^\"]*\"/__version__ = \"$version\"/" "$work/src/edge_agent/__init__.py"
fi
# A fixed date makes the wheel, and so the bundle, the same bytes on every build.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-315532800}" \
  "$python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$work/wheelhouse" "$work/src"
wheel="$(ls "$work"/wheelhouse/edge_agent-*.whl)"
built_version="$(basename "$wheel" | cut -d- -f2)"

# Dependencies: binary wheels only (a cabinet has no compiler), from the cache when it has them.
deps="$work/deps"
if [ -n "${WHEELHOUSE_CACHE:-}" ] && [ -d "$WHEELHOUSE_CACHE" ]; then
  cp "$WHEELHOUSE_CACHE"/*.whl "$work/wheelhouse/" 2>/dev/null || true
fi
# pip itself too: the role runs it from its wheel to fill a venv made --without-pip, so a
# cabinet needs neither ensurepip (python3-venv) nor a pip of its own.
"$python" -m pip download --quiet --only-binary=:all: "${target[@]}" "${index[@]}" \
  --find-links "$work/wheelhouse" -d "$deps" "$wheel" pip
cp -n "$deps"/*.whl "$work/wheelhouse/"
if [ -n "${WHEELHOUSE_CACHE:-}" ]; then
  mkdir -p "$WHEELHOUSE_CACHE"
  find "$work/wheelhouse" -name '*.whl' ! -name 'edge_agent-*' -exec cp -n {} "$WHEELHOUSE_CACHE/" \;
fi
# Keep only what the agent needs: the cache may hold wheels of other versions.
keep="$work/keep"
mkdir -p "$keep"
for file in "$deps"/*.whl; do cp "$work/wheelhouse/$(basename "$file")" "$keep/"; done
cp "$wheel" "$keep/"
(cd "$keep" && sha256sum -- *.whl > SHA256SUMS)
# The agent's upgrade hooks travel with the version they belong to.
mkdir -p "$work/hooks"
hooks_src="$source_dir/firmware_hooks/agent"
[ -d "$hooks_src" ] || hooks_src="$here/../firmware_hooks/agent"
cp -r "$hooks_src" "$work/hooks/agent"
find "$work/hooks" -name '__pycache__' -prune -exec rm -rf {} +

bundle="$out/edge-agent-$built_version-wheelhouse.tar"
# Reproducible: same wheels, same bytes, so Ansible sees no change on a second run.
(cd "$keep" && tar --transform 's,^,wheelhouse/,' --sort=name --mtime=@0 --owner=0 --group=0 \
  --numeric-owner -cf "$bundle.tmp" SHA256SUMS -- *.whl)
tar -C "$work" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=go-w \
  -rf "$bundle.tmp" hooks
mv "$bundle.tmp" "$bundle"
(cd "$out" && sha256sum "$(basename "$bundle")" > "$(basename "$bundle").sha256")
echo "$bundle"
