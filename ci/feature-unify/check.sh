#!/usr/bin/env bash
# Lists the third-party crates whose features differ between the workspace
# build and ci/test.sh's package builds (each such crate, and every crate
# above it, is compiled twice). Empty output: ci/feature-unify/Cargo.toml
# is up to date. Run from anywhere; reads Cargo.lock only (no build).
set -euo pipefail
cd "$(dirname "$0")/../.."
tree() { cargo tree --quiet "$@" -e normal,build,dev --prefix none --format '{p}|{f}' | sed 's/ (\*)$//' | sort -u; }
ws="$(tree --workspace --features hil/containers)"
for build in "-p resilient-mqtt --no-default-features --features embedded-tokio" \
             "-p resilient-mqtt-bridge --features embedded" \
             "-p resilient-mqtt-bridge --no-default-features"; do
  # shellcheck disable=SC2086
  tree $build | while IFS='|' read -r pkg feats; do
    case "$pkg" in *"(/"*) continue ;; esac   # workspace crates
    want="$(printf '%s\n' "$ws" | grep -F "$pkg|" | cut -d'|' -f2 | paste -sd' ' -)"
    [ "$want" = "$feats" ] || echo "$build: $pkg: [$feats], the workspace: [$want]"
  done
done
