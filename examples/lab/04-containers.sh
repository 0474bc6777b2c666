#!/usr/bin/env bash
# shellcheck disable=SC2016 # commands are printed as written, then run
# usage: examples/lab/04-containers.sh      (docs/04-containers.md)
#   A container by hand: ns-run on an OCI bundle, its namespaces and cgroups seen from
#   inside and from outside, pause and resume, then ctl --explain run, run by hand.
# shellcheck source=examples/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_config 10.244.0.0/24 ctklab4
lab_on_exit 'ns-run --root "$CTK_RUN/lab" delete -f lab4'
lab_on_exit 'img-unpack --release "$LAB/c"'
export NSR="ns-run --root $CTK_RUN/lab"   # ns-run's state of this chapter's containers

section bundle
run 'ctl pull -q $REG/tiny:latest'
run 'img-unpack --image $REG/tiny:latest --hostname lab4 $LAB/c -- sleep 300 | jq "{mode, rootfs}"'
run 'jq -c ".process.args, .process.cwd, .hostname, [.linux.namespaces[].type]" $LAB/c/config.json'
run 'jq -r ".mounts[].destination" $LAB/c/config.json | tr "\n" " "; echo'

section run
run 'ns-run --root $CTK_RUN/lab run -d --monitor --stdio-log $LAB/c.log --bundle $LAB/c lab4'
run 'ns-run --root $CTK_RUN/lab state lab4 | jq "{id, status, bundle}"'
run 'P=$(ns-run --root $CTK_RUN/lab state lab4 | jq .pid); ps -o user,comm,args -p $P'

section namespaces
run 'for ns in cgroup ipc mnt net pid user uts; do [ $(readlink /proc/$P/ns/$ns) = $(readlink /proc/self/ns/$ns) ] && echo "$ns: the host'"'"'s" || echo "$ns: its own"; done'
run '$NSR exec lab4 ps'
run '$NSR exec lab4 hostname; echo "the host: $(hostname)"'
run '$NSR exec lab4 ip addr'
run '$NSR exec lab4 sh -c "wc -l < /proc/self/mountinfo"; wc -l < /proc/self/mountinfo'
run '$NSR exec lab4 ls /'

if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    # The sections below read cgroup v1 files (the layout the book was written on); on a pure
    # cgroup v2 host the same things are in /sys/fs/cgroup/<path>/{cgroup.freeze,pids.max,
    # memory.max,pids.current}, see docs/04-containers.md.
    echo "lab: pure cgroup v2 here: the pause, cgroups and stop sections (cgroup v1 files) are left out" >&2
    run '$NSR kill lab4 KILL; $NSR wait lab4; $NSR delete lab4'
else
section pause
run 'G=$(awk -F: "\$2 == \"freezer\" {print \$3}" /proc/$P/cgroup); echo $G'
run '$NSR pause lab4; $NSR state lab4 | jq -r .status'
run 'cat /sys/fs/cgroup/freezer$G/freezer.state'
run 'timeout 2 $NSR exec lab4 echo hello || echo "exit status $?"'
run '$NSR resume lab4; $NSR state lab4 | jq -r .status'
section cgroups
run 'G=$(awk -F: "\$2 == \"pids\" {print \$3}" /proc/$P/cgroup); echo $G'
run '$NSR update --memory 64m --pids-limit 20 lab4'
run 'cat /sys/fs/cgroup/pids$G/pids.max /sys/fs/cgroup/pids$G/cgroup.procs | sed "s/^$P\$/<the sleep>/"'
run 'M=$(awk -F: "\$2 == \"memory\" {print \$3}" /proc/$P/cgroup); cat /sys/fs/cgroup/memory$M/memory.limit_in_bytes'
run '$NSR exec lab4 cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes'
run '$NSR exec lab4 sh -c "for i in \$(seq 30); do sleep 60 >/dev/null 2>&1 & done" || echo "exit status $?"'
run 'cat /sys/fs/cgroup/pids$G/pids.current'

section stop
run '$NSR kill lab4 TERM; sleep 1; $NSR state lab4 | jq -r .status'
run '$NSR kill lab4 KILL; $NSR wait lab4'
run '$NSR delete lab4; test -e /sys/fs/cgroup/pids$G || echo "cgroup $G removed"'
fi

section explain
run 'ctl --explain run --rm --network none $REG/tiny echo run by hand > $LAB/run.sh; head -4 $LAB/run.sh'
run 'grep -E "^(img-unpack|ns-run|jq|mkdir|rm)" $LAB/run.sh | cut -c1-72'
run 'sh $LAB/run.sh'
run 'ctl ps -a -q | wc -l'
