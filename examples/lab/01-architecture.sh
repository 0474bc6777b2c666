#!/usr/bin/env bash
# shellcheck disable=SC2016 # commands are printed as written, then run
# usage: examples/lab/01-architecture.sh      (docs/01-architecture.md)
#   Clients talk to a daemon over a UNIX socket with REST (the Docker Engine API):
#   curl, the docker CLI and ctl -H against one ctld, then one client and two daemons.
# shellcheck source=examples/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_config 10.241.0.0/24 ctklab1

# Daemon A over the store $LAB/root, daemon B over a second store $LAB/b.
start_ctld "$LAB/a.sock"
PID_A=$LAB_CTLD_PID
mkdir -p "$LAB/b"
lab_store "$LAB/b/root" "$LAB/b/run"
CTK_ROOT="$LAB/b/root" CTK_RUN="$LAB/b/run" start_ctld "$LAB/b.sock"
export A="unix://$LAB/a.sock" B="unix://$LAB/b.sock"

section socket
run 'ls -l $LAB/a.sock | cut -c1-10'
run 'curl -s --unix-socket $LAB/a.sock http://localhost/_ping; echo'
run 'curl -s --unix-socket $LAB/a.sock http://localhost/version | jq "{ApiVersion, MinAPIVersion, Os}"'

section pull
run 'curl -s -X POST --unix-socket $LAB/a.sock "http://localhost/v1.41/images/create?fromImage=$REG/tiny&tag=latest" | jq -c "{status}"'
run 'curl -s --unix-socket $LAB/a.sock http://localhost/v1.41/images/json | jq -r ".[].RepoTags[]"'

section clients
run 'docker -H $A run --rm --network none $REG/tiny echo hello through the docker CLI'
run 'docker -H $A run -d --name sleeper --network none $REG/tiny sleep 300 | cut -c1-12'
run 'docker -H $A ps --format "{{.Names}} {{.Image}} {{.Status}}"'
run 'ctl -H $A ps --format "{{.Names}} {{.Image}} {{.Status}}"'
run 'curl -s --unix-socket $LAB/a.sock http://localhost/v1.41/containers/json | jq -r ".[].Names[]"'

section two-daemons
run 'docker -H $B ps -a --format "{{.Names}}" | wc -l'
run 'docker -H $B images --format "{{.Repository}}:{{.Tag}}" | wc -l'
run 'docker -H $B pull -q $REG/tiny'
run 'docker -H $B run -d --name sleeper --network none $REG/tiny sleep 300 | cut -c1-12'
run 'for d in $A $B; do docker -H $d inspect -f "{{.Name}} {{.State.Pid}}" sleeper; done'
run 'ls $LAB/root/containers | cut -c1-12; ls $LAB/b/root/containers | cut -c1-12'

section no-daemon
run 'ctl ps --format "{{.Names}} {{.Status}}"'
say "stop daemon A: its container keeps running, and ctl without -H reads the same store"
kill "$PID_A"; wait "$PID_A" 2>/dev/null || true
run 'ctl ps --format "{{.Names}} {{.Status}}"'
run 'docker -H $A ps || echo "exit status $?"'
run 'ctl stop -t 1 sleeper'
