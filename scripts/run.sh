#!/usr/bin/env bash
# usage: scripts/run.sh [COMMAND...]
#   The main job, from a fresh Debian 12 machine: installs the Debian packages,
#   builds ctk, starts the loopback registry with the fixture images, pulls
#   127.0.0.1:5000/tiny:latest into the default store and runs a container from
#   it (default command: a greeting from inside the container). Run as root.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
need_shared
"$top/scripts/install-deps.sh"
build_ctk
trap stop_registry EXIT
start_registry
make_images

image="$CTK_TEST_REGISTRY/tiny:latest"
[[ $# -gt 0 ]] || set -- sh -c 'echo "hello from $(hostname), pid $$, in a ctk container"; cat /etc/os-release 2>/dev/null | head -1; id'
tools="$build/tools"
for t in reg-fetch img-unpack ns-run; do
    [[ -x "$tools/$t/$t" ]] || die "$t is not built yet"
done
bundle="$(mktemp -d /tmp/ctk-run.XXXXXX)"
id="ctk-run-$$"
cleanup() {
    "$tools/ns-run/ns-run" delete --force "$id" >/dev/null 2>&1 || true
    "$tools/img-unpack/img-unpack" --release "$bundle" >/dev/null 2>&1 || true
    rm -rf "$bundle"
    stop_registry
}
trap cleanup EXIT
log "reg-fetch pull $image | img-unpack - $bundle"
"$tools/reg-fetch/reg-fetch" pull --quiet "$image" \
    | "$tools/img-unpack/img-unpack" --mode overlay - "$bundle" -- "$@" >/dev/null
log "ns-run run --bundle $bundle $id"
"$tools/ns-run/ns-run" run --bundle "$bundle" "$id"
