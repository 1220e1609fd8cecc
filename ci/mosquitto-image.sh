#!/usr/bin/env bash
# Builds a small mosquitto image locally, for machines whose Docker engine
# has no registry to pull eclipse-mosquitto:2 from: the host's
# /usr/sbin/mosquitto, the shared libraries ldd lists, and passwd/group
# entries, in a tarball loaded with `docker import`. Tagged
# eclipse-mosquitto:2 (or $1) so that `hil run --broker container` finds it
# (testcontainers pulls only what is missing). Like the real image, it runs
# `mosquitto -c /mosquitto/config/mosquitto.conf`. Does nothing when the tag
# already exists. Needs mosquitto installed (ci/test.sh installs it).
set -euo pipefail
tag="${1:-eclipse-mosquitto:2}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "mosquitto-image: $tag already present"
  exit 0
fi
bin="$(command -v mosquitto || true)"
[ -n "$bin" ] || bin=/usr/sbin/mosquitto
[ -x "$bin" ] || { echo "mosquitto-image: no mosquitto binary on this host (apt-get install mosquitto)" >&2; exit 1; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/sbin" "$root/etc" "$root/mosquitto/config" "$root/mosquitto/data" "$root/mosquitto/log" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$bin" "$root/usr/sbin/mosquitto"
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
grep -E '^(root|nobody|mosquitto):' /etc/passwd > "$root/etc/passwd" || true
grep -E '^(root|nogroup|mosquitto):' /etc/group > "$root/etc/group" || true
printf 'listener 1883\nallow_anonymous true\nuser root\n' > "$root/mosquitto/config/mosquitto.conf"
tar -C "$root" -c . | docker import \
  -c 'CMD ["/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]' \
  -c 'EXPOSE 1883' - "$tag" >/dev/null
echo "mosquitto-image: built $tag from $bin ($(du -sh "$root" | cut -f1))"
