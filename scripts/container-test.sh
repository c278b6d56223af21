#!/usr/bin/env bash
# Builds the container image as plexsync:local with podman and runs it the way a user would:
#   1. `plexsync --version` and `plexsync-scheduler --version` print the root package.json's version;
#   2. the scheduler refuses, in one line, to listen beyond loopback without a secret;
#   3. the demo passes inside the container;
#   4. the scheduler syncs a few scenes from a fake Stash to a fake Plex on the host network (database in a mounted
#      /data, secret from a mounted file), is healthy, and exits 0 on SIGTERM (scripts/container-scheduler.ts).
# The base image is not pulled: debian:trixie-slim is built here with mmdebstrap from the Debian mirror apt uses.
# When podman cannot run at all (not installed, no permission, no runtime) it says why in one line and exits 0.
# Needs: root, podman, runc, mmdebstrap (apt-get install podman runc mmdebstrap), and `pnpm install` done.
set -uo pipefail
cd "$(dirname "$0")/.."

IMAGE=plexsync:local
BASE=docker.io/library/debian:trixie-slim
# The sandbox these run in refuses to raise limits, and crun cannot drive its cgroups: runc, cgroupfs, fixed limits.
PODMAN=(podman --runtime runc --cgroup-manager=cgroupfs)
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

skip() { echo "container test skipped: $*"; exit 0; }
fail() { echo "container test FAILED: $*"; exit 1; }
first_line() { tr -s '\n' ' ' | cut -c1-200; }

command -v podman >/dev/null || skip "podman is not installed (apt-get install podman runc mmdebstrap)"
command -v runc >/dev/null || skip "runc is not installed (apt-get install runc)"
[ "$(id -u)" = 0 ] || skip "podman runs as root here, and this is uid $(id -u)"
out=$("${PODMAN[@]}" info 2>&1 >/dev/null) || skip "podman cannot run: $(printf '%s' "$out" | first_line)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the base image ------------------------------------------------------------------------------------------
if ! "${PODMAN[@]}" image exists "$BASE"; then
  command -v mmdebstrap >/dev/null || skip "mmdebstrap is not installed, and $BASE cannot be pulled (apt-get install mmdebstrap)"
  # The Debian mirror apt uses here (deb822 URIs: or a one-line `deb` entry), not a security or third-party one.
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
    | tr ' ' '\n' | grep -E '/debian/?$' | head -n 1)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "== building $BASE with mmdebstrap from $mirror"
  mmdebstrap --quiet --variant=minbase trixie "$work/trixie.tar" "$mirror" || fail "mmdebstrap could not build trixie from $mirror"
  "${PODMAN[@]}" import "$work/trixie.tar" "$BASE" >/dev/null || fail "podman import of the trixie tarball failed"
  rm -f "$work/trixie.tar"
fi
out=$("${PODMAN[@]}" run --rm --network=host "${LIMITS[@]}" "$BASE" true 2>&1) \
  || skip "podman cannot run a container here: $(printf '%s' "$out" | first_line)"

# --- the image -----------------------------------------------------------------------------------------------
echo "== podman build -t $IMAGE"
build_args=()
# Behind a TLS-intercepting proxy the build must trust the CA this machine trusts (npm registry requests).
ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$ca" ]; then build_args+=(-v "$ca:/run/build-ca.crt:ro" --build-arg BUILD_CA=/run/build-ca.crt); fi
started=$(date +%s)
"${PODMAN[@]}" build --format docker --pull=never --network=host "${LIMITS[@]}" "${build_args[@]}" -t "$IMAGE" . >"$work/build.log" 2>&1 \
  || { tail -n 30 "$work/build.log"; fail "podman build failed (above)"; }
echo "  built in $(($(date +%s) - started)) s"

# One-shot runs: no health checks (podman would try to schedule them with systemd, which is not here).
run() { "${PODMAN[@]}" run --rm --network=host --no-healthcheck "${LIMITS[@]}" "$@"; }
version=$(node -p 'require("./package.json").version')

echo "== versions"
got=$(run "$IMAGE" plexsync --version 2>"$work/err") || fail "plexsync --version: $(cat "$work/err")"
[ "$got" = "$version" ] || fail "plexsync --version printed '$got', not $version"
got=$(run "$IMAGE" plexsync-scheduler --version 2>"$work/err") || fail "plexsync-scheduler --version: $(cat "$work/err")"
[ "$got" = "$version" ] || fail "plexsync-scheduler --version printed '$got', not $version"
echo "  plexsync and plexsync-scheduler: $version"

echo "== the scheduler without a secret"
got=$(run -e PLEXSYNC_PLEX_TOKEN=x "$IMAGE" 2>&1); code=$?
[ "$code" = 2 ] || fail "the scheduler without a secret exited $code, not 2: $got"
[ "$(printf '%s\n' "$got" | wc -l)" = 1 ] || fail "the refusal is not one line: $got"
case "$got" in *PLEXSYNC_WEBHOOK_SECRET*) ;; *) fail "the refusal does not name PLEXSYNC_WEBHOOK_SECRET: $got" ;; esac
echo "  refused: $got"

echo "== the demo in the container"
run "$IMAGE" plexsync-demo >"$work/demo.log" 2>&1 || { tail -n 30 "$work/demo.log"; fail "the demo failed in the container"; }
tail -n 1 "$work/demo.log" | sed 's/^/  /'

echo "== the scheduler against fake servers on the host network"
node --conditions=@plexsync/source --import tsx scripts/container-scheduler.ts "$IMAGE" -- "${PODMAN[@]:1}" \
  || fail "the scheduler in the container (above)"

echo "container test passed"
