#!/usr/bin/env bash
# usage: scripts/run.sh [COMMAND...]
#   The main job, from a fresh Debian 12 machine, offline: installs the Debian
#   packages, builds ctk, gets a small image into the default store
#   (/var/lib/ctk, /run/ctk) and runs a container from it with `ctl run`
#   (default command: a greeting from inside the container). The image is
#   pulled from the loopback fixture registry when one answers on
#   127.0.0.1:5000 (`ctl pull 127.0.0.1:5000/tiny:latest`); otherwise it is
#   made with `ctl import` of a busybox rootfs (the busybox-static binary and
#   its applets; no download). Run as root.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
"$top/scripts/install-deps.sh"
build_ctk
ctl="$build/tools/ctl/ctl"
[[ -x "$ctl" ]] || die "ctl is not built"
image="busybox:latest"
registry="${CTK_RUN_REGISTRY:-127.0.0.1:5000}"
if curl -fsS -o /dev/null --max-time 2 "http://$registry/v2/tiny/manifests/latest" \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' 2>/dev/null; then
    image="$registry/tiny:latest"
    log "ctl pull $image"
    "$ctl" pull -q "$image" >/dev/null
fi
# shellcheck disable=SC2016 # expanded inside the container
[[ $# -gt 0 ]] || set -- sh -c 'echo "hello from $(hostname), pid $$, in a ctk container"; id; ls /'

if ! "$ctl" image inspect "$image" >/dev/null 2>&1; then
    busybox="$(command -v busybox)"
    [[ -n "$busybox" ]] || die "busybox-static is not installed"
    rootfs="$(mktemp -d /tmp/ctk-busybox.XXXXXX)"
    trap 'rm -rf "$rootfs"' EXIT
    mkdir -p "$rootfs"/{bin,etc,root,tmp,proc,sys,dev}
    chmod 1777 "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in $("$rootfs/bin/busybox" --list); do
        [[ "$applet" == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    log "ctl import $rootfs $image"
    "$ctl" import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' "$rootfs" "$image" >/dev/null
fi
log "ctl run --rm --network none $image $*"
"$ctl" run --rm --network none "$image" "$@"
