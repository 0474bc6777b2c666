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
# script started it (so it is stopped again on exit). Port 5000, or 5005 when
# something else holds 5000.
registry_started=0
registry_port=""
start_registry() {
    local reg="$shared/fixtures/registry.sh" port
    for port in 5000 5005; do
        if "$reg" status "$port" >/dev/null 2>&1; then
            registry_port=$port
            break
        fi
        if ! curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null; then
            log "starting the fixture registry on 127.0.0.1:$port"
            "$reg" start "$port" >&2
            registry_started=1
            registry_port=$port
            break
        fi
    done
    [[ -n "$registry_port" ]] || die "ports 5000 and 5005 are taken by something else"
    export CTK_TEST_REGISTRY="127.0.0.1:$registry_port"
}

stop_registry() {
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
