#!/usr/bin/env bash
# usage: scripts/run.sh [COMMAND...]
#   The main job, from a fresh Debian 12 machine and without any registry:
#   installs the Debian packages, builds ctk, makes a busybox image with
#   `ctl import` (the busybox-static binary and its applets; no download) and
#   runs a container from it with `ctl run` (default command: a greeting from
#   inside the container). Uses the default store (/var/lib/ctk, /run/ctk).
#   Run as root.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
"$top/scripts/install-deps.sh"
build_ctk
ctl="$build/tools/ctl/ctl"
[[ -x "$ctl" ]] || die "ctl is not built"
image="busybox:latest"
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
