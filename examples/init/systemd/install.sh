#!/usr/bin/env bash
# usage: examples/init/systemd/install.sh [REGISTRY]
#   Installs the two example units (ctk-web.service: ns-run in the
#   foreground; ctk-web-detached.service: ns-run run -d) into
#   /etc/systemd/system and makes their bundles under /var/lib/ctk-example
#   from REGISTRY/tiny (default 127.0.0.1:5000). Each container takes 2 s to
#   get ready, then touches /ready in its rootfs and sends READY=1 with a
#   static sd-notify copied into the rootfs (built as
#   build/tests/integration/ns-run/sd-notify). Run from the source tree the
#   units name the build's tools instead of /usr/local/bin. Root, systemd.
#   Then: systemctl start ctk-web (returns once the container is ready).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top="$(cd "$here/../../.." && pwd)"
reg="${1:-127.0.0.1:5000}"
helper="$top/build/tests/integration/ns-run/sd-notify"
[[ -x $helper ]] || { echo "install.sh: build the tree first ($helper is missing)" >&2; exit 1; }
script='rm -f /ready; echo "getting ready"; sleep 2; touch /ready; exec sd-notify READY=1 sleep 100000'
for name in web web-detached; do
    bundle=/var/lib/ctk-example/$name
    if [[ -e $bundle ]]; then
        "$top/build/tools/img-unpack/img-unpack" --release "$bundle" >/dev/null 2>&1 || rm -rf "$bundle"
    fi
    mkdir -p /var/lib/ctk-example
    "$top/examples/init/make-bundle.sh" "$bundle" "$reg/tiny:latest" sh -c "$script" >/dev/null
    install -m 0755 "$helper" "$bundle/rootfs/bin/sd-notify"
done
for unit in ctk-web.service ctk-web-detached.service; do
    # /usr/local/bin/TOOL -> the build's tools/TOOL/TOOL when that exists
    sed -E "s|/usr/local/bin/([a-z-]+)|$top/build/tools/\\1/\\1|g" "$here/$unit" >/etc/systemd/system/$unit
done
systemctl daemon-reload
echo "installed ctk-web.service and ctk-web-detached.service"
