#!/usr/bin/env bash
# shellcheck disable=SC2015 # A && ok || bad: ok always succeeds
# Guest check (scripts/vm-lane.d/20-systemd-notify.sh boots the systemd guest
# and runs this in the source tree, the registry up): systemd as PID 1 runs
#  - examples/init/systemd/ctk-web.service (Type=notify, ns-run in the
#    foreground): `systemctl start` returns only once the container has said
#    READY=1 (its /ready exists), MainPID is ns-run, stop removes the container;
#  - ctk-web-detached.service (ns-run run -d): MainPID becomes the container's
#    process, stop removes it;
#  - contrib/systemd ctld.socket + ctld.service: the first connection to
#    /run/ctk/ctld.sock starts ctld (socket activation), which answers;
#  - contrib/systemd ctl-container@.service: a container named by the
#    instance runs while the unit is active and is removed when it stops.
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
b="$top/build/tools"
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
state() { "$b/ns-run/ns-run" state "$1" 2>/dev/null | jq -r "$2"; }

"$top/examples/init/systemd/install.sh"

# --- ns-run in the foreground, Type=notify
systemctl start ctk-web.service     # blocks until READY=1 (or fails after TimeoutStartSec)
if [[ -e /var/lib/ctk-example/web/rootfs/ready ]]; then ok "ctk-web: started after the container was ready"
else bad "ctk-web: systemctl start returned before the container said READY"; fi
[[ $(systemctl is-active ctk-web.service) == active ]] && ok "ctk-web: active" || bad "ctk-web: not active"
main=$(systemctl show -p MainPID --value ctk-web.service)
[[ $(cat "/proc/$main/comm" 2>/dev/null) == ns-run ]] && ok "ctk-web: MainPID $main is ns-run" \
    || bad "ctk-web: MainPID $main is $(cat "/proc/$main/comm" 2>/dev/null) (want ns-run)"
[[ $(state ctk-web .status) == running ]] && ok "ctk-web: container running" || bad "ctk-web: container not running"
systemctl stop ctk-web.service
if "$b/ns-run/ns-run" state ctk-web >/dev/null 2>&1; then bad "ctk-web: container left after stop"
else ok "ctk-web: stop removed the container"; fi

# --- ns-run run -d, Type=notify: the container's process becomes the main one
systemctl start ctk-web-detached.service
[[ -e /var/lib/ctk-example/web-detached/rootfs/ready ]] && ok "ctk-web-detached: started after READY" \
    || bad "ctk-web-detached: started before READY"
main=$(systemctl show -p MainPID --value ctk-web-detached.service)
pid=$(state ctk-web-detached .pid)
[[ $main == "$pid" && $main != 0 ]] && ok "ctk-web-detached: MainPID $main is the container's process" \
    || bad "ctk-web-detached: MainPID $main, container pid $pid"
systemctl stop ctk-web-detached.service
if "$b/ns-run/ns-run" state ctk-web-detached >/dev/null 2>&1; then bad "ctk-web-detached: container left after stop"
else ok "ctk-web-detached: stop removed the container"; fi
[[ -z $main || ! -e /proc/$main ]] && ok "ctk-web-detached: its process is gone" || bad "ctk-web-detached: $main still runs"

# --- contrib/systemd: ctld by socket activation
for unit in ctld.socket ctld.service ctl-container@.service; do
    sed -E "s|/usr/local/bin/([a-z-]+)|$b/\\1/\\1|g" "$top/contrib/systemd/$unit" >"/etc/systemd/system/$unit"
done
systemctl daemon-reload
systemctl start ctld.socket
[[ $(systemctl is-active ctld.service) != active ]] && ok "ctld: not started before a connection" \
    || bad "ctld: already active"
if [[ $(curl -s -m 30 --unix-socket /run/ctk/ctld.sock http://ctld/_ping) == OK ]]; then ok "ctld: answered through the activated socket"
else bad "ctld: no answer on /run/ctk/ctld.sock"; journalctl -u ctld.service --no-pager | tail -20; fi
[[ $(systemctl is-active ctld.service) == active ]] && ok "ctld: active (Type=notify: READY=1 arrived)" \
    || bad "ctld: $(systemctl is-active ctld.service)"
journalctl -u ctld.service --no-pager | grep -q "from systemd" && ok "ctld: took the socket from systemd" \
    || bad "ctld: did not log the activated socket"
systemctl stop ctld.service ctld.socket

# --- contrib/systemd: ctl-container@.service
mkdir -p /etc/ctk/containers
printf 'IMAGE=127.0.0.1:5000/tiny\nCMD=sleep 100000\nCTL_ARGS=--network none --init\n' >/etc/ctk/containers/ctkdemo.env
systemctl start ctl-container@ctkdemo.service
running=
for _ in $(seq 1 120); do
    if [[ $("$b/ctl/ctl" ps --filter name=ctkdemo --format '{{.Names}} {{.State}}' 2>/dev/null) == "ctkdemo running" ]]; then
        running=1; break; fi
    sleep 0.5
done
[[ -n $running ]] && ok "ctl-container@ctkdemo: the container runs" \
    || { bad "ctl-container@ctkdemo: no running container"; journalctl -u ctl-container@ctkdemo --no-pager | tail -20; }
systemctl stop ctl-container@ctkdemo.service
gone=
for _ in $(seq 1 60); do
    [[ -z $("$b/ctl/ctl" ps -a -q --filter name=ctkdemo 2>/dev/null) ]] && { gone=1; break; }
    sleep 0.5
done
[[ -n $gone ]] && ok "ctl-container@ctkdemo: stop removed the container" || bad "ctl-container@ctkdemo: container left"

exit $fail
