# shellcheck shell=bash
# examples/lab/lib.sh: what every chapter script of the lab book (docs/) shares.
# Sourced, not run. Each chapter:
#   - runs as root against the loopback registry $REG (default 127.0.0.1:5000);
#   - keeps everything in its own temporary directory $LAB (its store:
#     CTK_ROOT=$LAB/root, CTK_RUN=$LAB/run, CTK_CONFIG=$LAB/ctk.json) and removes
#     all it made when it ends, also on failure (containers, networks, volumes,
#     network namespaces, mounts, its ctld processes);
#   - finds the tools on PATH (the installed names), or in $CTK_BIN: either a
#     directory holding them or a build tree's tools/ (tools/<tool>/<tool>);
#   - prints each command as `$ command` before its output, and `#### section: NAME`
#     lines that the book's quotes refer to (docs/*.md: <!-- output: SCRIPT#NAME -->).
#     Output that names $LAB shows the variable's name, not the temporary path.
set -euo pipefail
export LC_ALL=C.UTF-8

REG="${REG:-127.0.0.1:5000}"
case "$REG" in 127.*) ;; *) echo "lab: the registry must be on loopback" >&2; exit 2 ;; esac
[[ $(id -u) -eq 0 ]] || { echo "lab: run as root" >&2; exit 2; }

if [[ -n "${CTK_BIN:-}" ]]; then
    for t in ctl ctld reg-fetch img-unpack img-pack ns-run net-bridge vol-mount; do
        [[ -d "$CTK_BIN/$t" ]] && PATH="$CTK_BIN/$t:$PATH"
    done
    PATH="$CTK_BIN:$PATH"
fi
export PATH
for t in ctl ctld reg-fetch img-unpack img-pack ns-run net-bridge vol-mount jq curl; do
    command -v "$t" >/dev/null || { echo "lab: $t not found (set CTK_BIN)" >&2; exit 2; }
done

LAB="$(mktemp -d /tmp/ctk-lab.XXXXXX)"
export LAB
export CTK_ROOT="$LAB/root" CTK_RUN="$LAB/run" CTK_CONFIG="$LAB/ctk.json"
cd "$LAB"

# lab_config SUBNET BRIDGE: the default network of this chapter's store (never 172.17/16,
# never the host's ctk0) and no upstream DNS (nothing leaves the machine).
lab_config() {
    printf '{"network": {"default_subnet": "%s", "default_bridge": "%s", "dns": []}}\n' "$1" "$2" >"$CTK_CONFIG"
}

_lab_netns=() _lab_pids=() _lab_stores=("$CTK_ROOT $CTK_RUN") _lab_hooks=()
lab_netns_added() { _lab_netns+=("$@"); }                   # named netns to remove at the end
lab_store() { _lab_stores+=("$1 $2"); }                      # another store to empty at the end
lab_on_exit() { _lab_hooks+=("$1"); }                        # a command run first at the end
lab_pid() { _lab_pids+=("$1"); }                             # a process of ours, killed at the end

# start_ctld SOCKET [ctld options]: a daemon on unix://SOCKET over the current store, killed at
# the end by its PID; waits until it answers /_ping.
start_ctld() {
    local sock="$1"; shift
    ctld -H "unix://$sock" "$@" >>"$LAB/ctld.log" 2>&1 &
    LAB_CTLD_PID=$!
    _lab_pids+=("$LAB_CTLD_PID")
    for _ in $(seq 100); do
        curl -sf --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "lab: ctld on $sock did not answer" >&2; cat "$LAB/ctld.log" >&2; return 1
}

_lab_cleanup() {
    local status=$? h s root run id net pid n
    set +e
    cd /
    for h in "${_lab_hooks[@]}"; do eval "$h" >/dev/null 2>&1; done
    for pid in "${_lab_pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
    for s in "${_lab_stores[@]}"; do
        read -r root run <<<"$s"
        for id in $(CTK_ROOT="$root" CTK_RUN="$run" ctl ps -aq 2>/dev/null); do
            CTK_ROOT="$root" CTK_RUN="$run" ctl rm -f -v "$id" >/dev/null 2>&1
        done
        for net in $(CTK_ROOT="$root" CTK_RUN="$run" net-bridge ls 2>/dev/null | jq -r '.name // .Name // empty' 2>/dev/null); do
            CTK_ROOT="$root" CTK_RUN="$run" net-bridge rm "$net" >/dev/null 2>&1
        done
        CTK_ROOT="$root" CTK_RUN="$run" vol-mount prune --all >/dev/null 2>&1
    done
    for n in "${_lab_netns[@]}"; do ip netns del "$n" 2>/dev/null; done
    # whatever is still mounted below $LAB (bundles unpacked by hand), deepest first
    findmnt -rn -o TARGET | grep "^$LAB/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$LAB"
    exit "$status"
}
trap _lab_cleanup EXIT
trap 'exit 130' INT TERM

section() { printf '#### section: %s\n' "$1"; }

# run 'COMMAND': print it as `$ COMMAND` (as written, variables unexpanded), then run it in
# this shell (so its assignments stay) with stderr folded into stdout; the lab's temporary path
# prints as $LAB. Each command starts in $LAB. The output goes through a file, not a pipe: a
# detached container's monitor must not hold a pipe that this script then waits on.
run() {
    printf '$ %s\n' "$1"
    local rc=0
    cd "$LAB"
    eval "$1" >"$LAB/.out" 2>&1 || rc=$?
    cd "$LAB"
    sed "s|$LAB|\$LAB|g" "$LAB/.out"
    return "$rc"
}
# say TEXT: a line of commentary in the output
say() { printf '# %s\n' "$*"; }
