#!/usr/bin/env bash
# usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   Builds the libFuzzer targets of tests/fuzz with Debian's clang in
#   $top/build-fuzz (configured on first use: -Dfuzz=true -Dunit_only=true,
#   only the libraries the targets link are built) and runs each for SECONDS
#   (default 20) from a copy of its seed corpus tests/fuzz/corpus/<name>/ (the
#   checked-in corpus is never modified). TARGETs: names such as `http` or
#   `layer_tar`; default all. Fails when a target crashes, leaks, hangs
#   (-timeout) or runs out of memory; the reproducer is kept in
#   build-fuzz/artifacts/ and the output's tail printed. Reproduce with
#   build-fuzz/tests/fuzz/<name>_fuzz <file>.
#   CTK_FUZZ_JOBS: ninja's -j for the build (default: ninja's own).
#   CTK_FUZZ_CREATE_TYPE_ERRORS=allow: create_body does not count nlohmann's
#   type errors (a create body field of the wrong type: ctld answers 500, Docker
#   400) as findings; its corpus holds two such reproducers (finding-*).
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

seconds="${1:-20}"
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || die "usage: scripts/fuzz.sh [SECONDS] [TARGET...]"
shift || true
fuzz_build="$top/build-fuzz"
command -v clang++ >/dev/null || die "clang++ not found (Debian: apt-get install clang)"

if [[ ! -f "$fuzz_build/build.ninja" ]]; then
    log "meson setup $fuzz_build (clang, libFuzzer, ASan+UBSan)"
    # -O1 with line tables: fast enough to fuzz, quick to compile, traces with lines
    CXX=clang++ meson setup "$fuzz_build" "$top" -Dfuzz=true -Dunit_only=true -Dbuildtype=plain -Db_ndebug=false \
        "-Dcpp_args=-O1 -gline-tables-only" >/dev/null
fi
log "building the fuzz targets"
jobs=()
[[ -n "${CTK_FUZZ_JOBS:-}" ]] && jobs=(-j "$CTK_FUZZ_JOBS")
ninja -C "$fuzz_build" "${jobs[@]}" fuzz >/dev/null || { ninja -C "$fuzz_build" "${jobs[@]}" fuzz | tail -n 40; die "fuzz build failed"; }

targets=("$@")
if [[ ${#targets[@]} == 0 ]]; then
    for f in "$top"/tests/fuzz/*_fuzz.cpp; do
        n="$(basename "$f")"
        targets+=("${n%_fuzz.cpp}")
    done
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ctk-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
artifacts="$fuzz_build/artifacts"
mkdir -p "$artifacts"

status=0
for t in "${targets[@]}"; do
    exe="$fuzz_build/tests/fuzz/${t}_fuzz"
    seeds="$top/tests/fuzz/corpus/$t"
    [[ -x "$exe" ]] || die "no fuzz target $t ($exe)"
    [[ -d "$seeds" ]] || die "no seed corpus for $t ($seeds)"
    corpus="$work/corpus-$t"
    mkdir -p "$corpus" "$work/tmp-$t"
    cp "$seeds"/* "$corpus"/
    log "fuzzing $t for ${seconds}s"
    if TMPDIR="$work/tmp-$t" \
        ASAN_OPTIONS=detect_leaks=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
            -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
            "$corpus" >"$work/$t.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done' "$work/$t.log" | sed "s/^/  $t: /" >&2 || true
    else
        status=1
        log "FUZZ FAILURE in $t:"
        grep -vE '^#[0-9]+|^INFO:|^stat::' "$work/$t.log" | tail -n 60 >&2
        grep -h 'Test unit written to' "$work/$t.log" >&2 || true
    fi
    rm -rf "$corpus" "$work/tmp-$t"
done
if [[ $status == 0 ]]; then log "fuzzing: no findings in ${#targets[@]} targets"; else log "fuzzing FAILED"; fi
exit $status
