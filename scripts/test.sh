#!/usr/bin/env bash
# usage: scripts/test.sh [meson test args...]
#   The whole test suite, from a fresh Debian 12 machine: installs the Debian
#   packages (scripts/install-deps.sh), builds, starts the loopback registry and
#   the fixture images from ../shared/fixtures, runs the `unit` and
#   `integration` suites, then builds the unit tests with ASan+UBSan and runs
#   them, then builds the libFuzzer targets with clang and runs each for a
#   bounded time (scripts/fuzz.sh), then the guest lane (scripts/vm-lane.sh:
#   suites in a Debian 12 guest with pure cgroup v2; CTK_SKIP_VM=1 skips it).
#   Stops the registry it started, also on failure. Run as root.
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

status=0
log "unit and integration suites"
meson test -C "$build" --suite unit --suite integration --print-errorlogs \
    --num-processes "${CTK_TEST_JOBS:-2}" "$@" || status=1

log "sanitizer job: unit suite with ASan+UBSan"
asan="$top/build-asan"
if [[ ! -f "$asan/build.ninja" ]]; then
    meson setup "$asan" "$top" -Dunit_only=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debug -Dcpp_args=-g1 >/dev/null
fi
ninja -C "$asan" >/dev/null || { ninja -C "$asan" | tail -n 40; status=1; }
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C "$asan" --suite unit --print-errorlogs || status=1

# Every parser of outside input under libFuzzer (clang, build-fuzz) from its
# checked-in corpus, CTK_FUZZ_SECONDS (default 10) each; see scripts/fuzz.sh.
log "fuzz job: libFuzzer targets of tests/fuzz"
"$top/scripts/fuzz.sh" "${CTK_FUZZ_SECONDS:-10}" || status=1

# The guest lane: suites in a Debian 12 guest with pure cgroup v2 (and the
# other steps of scripts/vm-lane.d), after the host's; CTK_SKIP_VM=1 skips it.
log "guest lane: scripts/vm-lane.sh"
"$top/scripts/vm-lane.sh" || status=1

if [[ $status == 0 ]]; then log "all tests passed"; else log "FAILED"; fi
exit $status
