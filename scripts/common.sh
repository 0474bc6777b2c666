# shellcheck shell=bash
# Shared by scripts/*.sh: where things are, logging, the fixture registry.
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${CTK_SHARED_DIR:-}"
if [[ -z "$shared" && -d "$top/../shared" ]]; then shared="$(cd "$top/../shared" && pwd)"; fi
build="${CTK_BUILD_DIR:-$top/build}"
export CTK_CACHE="${CTK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ctk-fixtures}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "run as root (sudo $0)"; }

need_shared() {
    [[ -n "$shared" && -d "$shared/fixtures" ]] || die "../shared (fixtures, reference) not found beside $top"
}

# Configures (once) and builds the release tree in $build.
build_ctk() {
    if [[ ! -f "$build/build.ninja" ]]; then
        log "meson setup $build"
        # No debug info: it nearly doubles the compile time of the
        # template-heavy files (JSON, Asio) and nothing here reads it.
        meson setup "$build" "$top" -Ddebug=false >/dev/null
    fi
    log "building"
    ninja -C "$build" >/dev/null || { ninja -C "$build" | tail -n 40; die "build failed"; }
}

# Starts the loopback registry from ../shared/fixtures unless one of ours
# answers already; sets CTK_TEST_REGISTRY and registry_started=1 when this
# script started it (so it is stopped again on exit). Port 5000; when
# something else listens there, or the registry will not start on it (its
# log is shown), the next of 5005, 5010, 5015. Every test reads the port
# from CTK_TEST_REGISTRY.
registry_started=0
registry_port=""
start_registry() {
    local reg="${CTK_REGISTRY_SCRIPT:-$shared/fixtures/registry.sh}" port holder
    for port in 5000 5005 5010 5015; do
        if "$reg" status "$port" >/dev/null 2>&1; then
            registry_port=$port
            break
        fi
        if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null; then
            log "127.0.0.1:$port answers as a registry not started by us: trying the next port"
            continue
        fi
        holder="$(ss -Hltnp "sport = :$port" 2>/dev/null || true)"
        if [[ -n "$holder" ]]; then
            log "port $port is taken: $holder"
            continue
        fi
        log "starting the fixture registry on 127.0.0.1:$port"
        if "$reg" start "$port" >&2; then
            registry_started=1
            registry_port=$port
            break
        fi
        # registry.sh can lose track of a registry that did start (its pid check
        # failed, seen twice in CI): one of ours answering on the port is taken
        # over, and stopped by its pid at the end
        if adopt_registry "$port"; then
            break
        fi
        log "the fixture registry did not start on port $port; its log:"
        tail -n 20 "${CTK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ctk-fixtures}/run/registry-$port/registry.log" >&2 || true
        "$reg" stop "$port" >&2 || true
    done
    [[ -n "$registry_port" ]] || die "no fixture registry: ports 5000, 5005, 5010 and 5015 all failed"
    export CTK_TEST_REGISTRY="127.0.0.1:$registry_port"
}

# The docker-registry serving the fixture storage on 127.0.0.1:PORT, if one
# answers there: registry_started=1, stopped by stop_registry through its pid.
registry_pid=""
adopt_registry() {
    local port=$1 pid cmd
    sleep 1
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null || return 1
    pid="$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)"
    [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
    cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
    [[ $cmd == *docker-registry*"registry-$port/config.yml"* ]] || return 1
    log "the fixture registry runs on 127.0.0.1:$port (pid $pid) though registry.sh lost track of it: using it"
    registry_started=1 registry_port=$port registry_pid=$pid
}

stop_registry() {
    if [[ $registry_started == 1 && -n $registry_pid ]]; then
        log "stopping the fixture registry (pid $registry_pid)"
        kill "$registry_pid" 2>/dev/null || true
        for _ in $(seq 50); do [[ -e /proc/$registry_pid ]] || break; sleep 0.1; done
        registry_started=0
        return 0
    fi
    if [[ $registry_started == 1 ]]; then
        log "stopping the fixture registry"
        "$shared/fixtures/registry.sh" stop "$registry_port" >&2 || true
        registry_started=0
    fi
}

make_images() {
    log "building and pushing the fixture images (first run: ~2 min)"
    "$shared/fixtures/make-images.sh" "$CTK_TEST_REGISTRY" >/dev/null
}
