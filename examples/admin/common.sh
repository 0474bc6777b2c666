# shellcheck shell=bash
# Sourced by the examples/admin scripts: the tools of the build tree when run
# from the source tree (else those on PATH), and die().
admin_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tool() {
    local built="$admin_here/../../build/tools/$1/$1"
    if [[ -x $built ]]; then echo "$built"; else command -v "$1" || { echo "no $1 on PATH" >&2; return 1; }; fi
}
die() { echo "${0##*/}: $*" >&2; exit 1; }
command -v jq >/dev/null || die "needs jq"
