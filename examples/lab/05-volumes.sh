#!/usr/bin/env bash
# shellcheck disable=SC2016 # commands are printed as written, then run
# usage: examples/lab/05-volumes.sh      (docs/05-volumes.md)
#   Named volumes, bind mounts and tmpfs; data that outlives its container; one volume
#   shared by two running containers; the OCI mount entries behind each form.
# shellcheck source=examples/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_config 10.245.0.0/24 ctklab5
ctl pull -q "$REG/tiny:latest" >/dev/null

section named
run 'ctl volume create notes'
run 'ctl volume inspect --format "{{.Name}} {{.Driver}} {{.Mountpoint}}" notes'
run 'ctl run --rm --network none -v notes:/notes $REG/tiny sh -c "echo first note > /notes/a.txt; ls /notes"'
run 'ctl run --rm --network none -v notes:/notes $REG/tiny cat /notes/a.txt'
run 'ls $CTK_ROOT/volumes/notes; cat $CTK_ROOT/volumes/notes/_data/a.txt'
run 'vol-mount spec -v notes:/notes | jq -c ".mounts[]"'

section survive
run 'ctl run --name writer --network none -v notes:/notes $REG/tiny sh -c "date +%Y > /notes/year; echo in the container layer > /scratch.txt"'
run 'ctl rm writer'
run 'ctl run --rm --network none -v notes:/notes $REG/tiny sh -c "ls /notes; cat /scratch.txt"; echo "exit status $?"'
run 'ctl volume rm notes; ctl run --rm --network none -v notes:/notes $REG/tiny ls /notes | wc -l'

section copy-up
run 'ctl run --rm --network none -v etc:/etc $REG/tiny ls /etc'
run 'ls $CTK_ROOT/volumes/etc/_data'

section bind
mkdir -p "$LAB/site"
echo "written on the host" >"$LAB/site/index.html"
run 'ctl run --rm --network none -v $LAB/site:/site $REG/tiny sh -c "cat /site/index.html; echo written in the container > /site/from-container.txt"'
run 'cat $LAB/site/from-container.txt'
run 'ctl run --rm --network none -v $LAB/site:/site:ro $REG/tiny sh -c "touch /site/x" || echo "exit status $?"'
run 'vol-mount spec -v $LAB/site:/site:ro | jq -c ".mounts[]"'

section tmpfs
run 'ctl run --rm --network none --tmpfs /scratch:size=8m $REG/tiny sh -c "grep /scratch /proc/mounts; df -h /scratch | tail -1 | tr -s \" \" | cut -d\" \" -f2"'
run 'vol-mount spec --tmpfs /scratch:size=8m | jq -c ".mounts[]"'

section shared
run 'ctl volume create shared'
run 'ctl run -d --name producer --network none -v shared:/data $REG/tiny sh -c "i=0; while true; do i=\$((i+1)); echo line \$i >> /data/log; sleep 0.1; done" | cut -c1-12'
run 'ctl run -d --name consumer --network none -v shared:/data:ro $REG/tiny sleep 60 | cut -c1-12'
run 'sleep 0.5; ctl exec consumer sh -c "test -s /data/log && head -2 /data/log"'
run 'for i in 1 2; do ctl exec consumer sh -c "wc -l < /data/log"; sleep 0.5; done'
run 'ctl exec consumer sh -c "echo hi >> /data/log" || echo "exit status $?"'
run 'ctl volume rm shared || echo "exit status $?"'
run 'ctl rm -f producer consumer; ctl volume rm shared'
run 'ctl volume ls -q | sort'
