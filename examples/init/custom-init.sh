#!/bin/bash
# usage: custom-init.sh   (as PID 1: init=/path/to/custom-init.sh, or
#                          scripts/vm-test.sh --init examples/init/custom-init.sh)
#   The smallest "custom init system" for containers: PID 1 of a machine
#   mounts what the tools need, makes a bridge network with net-bridge,
#   unpacks an image twice with img-unpack and starts two containers with
#   ns-run on that network: a web server, and a client that fetches its page
#   over the bridge. PID 1 is the containers' reaper (ns-run run -d hands
#   them over, as runc does to its caller's subreaper). It then stops
#   everything, writes its status (0: the client got the page) to
#   $CTK_VM_STATUS when set, and powers the machine off.
#   Not PID 1 (a dry run on a host): it mounts nothing, uses a temporary store
#   and does not power off. Network: 10.87.0.0/24 (CTK_INIT_SUBNET).
#   Image: CTK_INIT_IMAGE, default the fixture layout $CTK_CACHE/oci/tiny:latest
#   (no registry needed), else 127.0.0.1:5000/tiny through reg-fetch.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
log() { echo "custom-init: $*"; }
tool() { # the build's tool when run from the source tree, else PATH's
    local built="$here/../../build/tools/$1/$1"
    if [[ -x $built ]]; then echo "$built"; else command -v "$1"; fi
}
NS_RUN="$(tool ns-run)" NET_BRIDGE="$(tool net-bridge)" IMG_UNPACK="$(tool img-unpack)"
pid1=0; [[ $$ -eq 1 ]] && pid1=1

# --- 1. what the kernel does not mount for us (a real init's first job)
mounted() { [[ -r /proc/self/mounts ]] && awk -v d="$1" '$2 == d { f = 1 } END { exit !f }' /proc/self/mounts; }
if [[ $pid1 == 1 ]]; then
    mounted /proc || mount -t proc proc /proc
    mounted /sys || mount -t sysfs sysfs /sys
    mounted /dev || mount -t devtmpfs devtmpfs /dev
    mounted /run || mount -t tmpfs -o mode=0755 tmpfs /run
    mounted /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup
    mounted /tmp || mount -t tmpfs tmpfs /tmp
    mkdir -p /dev/pts /dev/shm
    mounted /dev/pts || mount -t devpts devpts /dev/pts
    mounted /dev/shm || mount -t tmpfs tmpfs /dev/shm
    ip link set lo up
    hostname custom-init
    export CTK_ROOT=/var/lib/ctk CTK_RUN=/run/ctk
else
    work="$(mktemp -d /tmp/ctk-custom-init.XXXXXX)"
    export CTK_ROOT="$work/root" CTK_RUN="$work/run"
fi
mkdir -p "$CTK_ROOT" "$CTK_RUN" /run/netns
# The containers' cgroups go beneath ours; at the root of the cgroup2 tree
# (PID 1's cgroup) there is no no-internal-process rule to mind.
subnet="${CTK_INIT_SUBNET:-10.87.0.0/24}" net=ctkinit
image="${CTK_INIT_IMAGE:-}"
if [[ -z $image ]]; then
    if [[ -d ${CTK_CACHE:-/nonexistent}/oci/tiny ]]; then image="$CTK_CACHE/oci/tiny:latest"
    else image=127.0.0.1:5000/tiny:latest; fi
fi
bundles="$CTK_RUN/custom-init"

unpack() { # unpack NAME CMD...: a bundle of the image in the namespace ctkinit-NAME
    local name="$1" b="$bundles/$1"; shift
    if [[ -d ${image%:*} ]]; then "$IMG_UNPACK" --no-sync --image "$image" "$b" "$@" >/dev/null
    else "$(tool reg-fetch)" pull --quiet "$image" | "$IMG_UNPACK" --no-sync - "$b" "$@" >/dev/null; fi || return 1
    jq --arg p "/run/netns/ctkinit-$name" \
        '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
        "$b/config.json" >"$b/config.json.new" && mv "$b/config.json.new" "$b/config.json"
}
join_network() { # join_network NAME: netns ctkinit-NAME attached to the bridge; prints its address
    ip netns add "ctkinit-$1" || return 1
    "$NET_BRIDGE" attach "$net" --netns "/run/netns/ctkinit-$1" --name "$1" | jq -r '.ips[0].address' | cut -d/ -f1
}

run_demo() {
    log "network $net ($subnet) with net-bridge"
    "$NET_BRIDGE" create "$net" --subnet "$subnet" >/dev/null || return 1
    server_ip="$(join_network server)" && [[ -n $server_ip ]] || return 1
    client_ip="$(join_network client)" && [[ -n $client_ip ]] || return 1
    log "server $server_ip, client $client_ip"

    unpack server /bin/busybox httpd -f -p 8080 -h /www || return 1
    mkdir -p "$bundles/server/rootfs/www"
    echo "hello from the server container" >"$bundles/server/rootfs/www/index.html"
    unpack client sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://$server_ip:8080/ && exit 0; sleep 0.5; done; exit 1" || return 1

    # run -d: ns-run returns once the server runs; its process is ours to reap.
    "$NS_RUN" run -d --bundle "$bundles/server" server </dev/null >/dev/null || return 1
    log "server: $("$NS_RUN" state server | jq -r '"\(.status), pid \(.pid)"')"
    # The client in the foreground: its output and status are the demo's.
    answer="$("$NS_RUN" run --bundle "$bundles/client" client </dev/null)"
    log "client got: $answer"
    [[ $answer == "hello from the server container" ]]
}

stop_all() {
    "$NS_RUN" kill server KILL 2>/dev/null
    "$NS_RUN" delete --force server 2>/dev/null
    "$NS_RUN" delete --force client 2>/dev/null
    for n in server client; do
        "$NET_BRIDGE" detach "$net" --netns "/run/netns/ctkinit-$n" >/dev/null 2>&1
        ip netns del "ctkinit-$n" 2>/dev/null
        "$IMG_UNPACK" --release "$bundles/$n" >/dev/null 2>&1
    done
    "$NET_BRIDGE" rm "$net" >/dev/null 2>&1
    wait 2>/dev/null  # reap what ns-run handed over
}

run_demo
status=$?
stop_all
log "status $status"
if [[ $pid1 == 1 ]]; then
    [[ -n ${CTK_VM_STATUS:-} ]] && echo "$status" >"$CTK_VM_STATUS"
    sync
    umount /run/ctk-job 2>/dev/null
    poweroff -f || echo o >/proc/sysrq-trigger
    sleep 60
else
    rm -rf "$work"
    exit $status
fi
