#!/usr/bin/env bash
# usage: examples/init/make-bundle.sh BUNDLE IMAGE [CMD [ARG...]]
#   The bundle the init-system examples run: pulls IMAGE into the store
#   (reg-fetch, $CTK_ROOT) and unpacks it into BUNDLE (img-unpack, a flat
#   rootfs), with CMD as the process when given. What `ctl create` does first,
#   without ctl: an init system then runs `ns-run run --bundle BUNDLE ID`.
#   Example: make-bundle.sh /var/lib/ctk-example/web 127.0.0.1:5000/tiny httpd -f -p 8080
set -euo pipefail
[[ $# -ge 2 ]] || { sed -n '2,7s/^# \{0,1\}//p' "$0" >&2; exit 2; }
bundle="$1" image="$2"
shift 2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tool() { # the build's tool when run from the source tree, else PATH's
    local built="$here/../../build/tools/$1/$1"
    if [[ -x "$built" ]]; then echo "$built"; else command -v "$1"; fi
}
"$(tool reg-fetch)" pull --quiet "$image" | "$(tool img-unpack)" --no-sync - "$bundle" "$@" >/dev/null
echo "$bundle"
