#!/usr/bin/env bash
# shellcheck disable=SC2016 # commands are printed as written, then run
# usage: examples/lab/07-compose.sh      (docs/07-compose.md)
#   A three-service application (a writer, a web server, a probe; a shared volume, one
#   network) with docker-compose 1.29 against a ctld of the lab's own; networks from
#   10.247.0.0/16.
# shellcheck source=examples/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_config 10.247.255.0/24 ctklab7
start_ctld "$LAB/ctld.sock" --default-address-pool base=10.247.0.0/16,size=24
export DOCKER_HOST="unix://$LAB/ctld.sock"
export COMPOSE_PROJECT_NAME=lab7
lab_on_exit 'cd "$LAB/app" && docker-compose --ansi never down -v -t 1'

docker pull -q "$REG/tiny:latest" >/dev/null
mkdir -p "$LAB/app"
cat >"$LAB/app/docker-compose.yml" <<YML
version: "3.8"
services:
  writer:
    image: $REG/tiny:latest
    command: ["sh", "-c", "i=0; while true; do i=\$\$((i+1)); echo \"<p>page version \$\$i</p>\" > /site/index.html; sleep 1; done"]
    volumes: ["site:/site"]
  web:
    image: $REG/tiny:latest
    command: ["busybox", "httpd", "-f", "-p", "80", "-h", "/site"]
    volumes: ["site:/site:ro"]
    depends_on: [writer]
  probe:
    image: $REG/tiny:latest
    command: ["sh", "-c", "while true; do wget -qO- http://web/ || echo web is not up yet; sleep 1; done"]
    depends_on: [web]
volumes:
  site: {}
YML

section file
run 'cd app && cat docker-compose.yml'

section up
run 'cd app && docker-compose --ansi never up -d 2>&1 | sort'
run 'cd app && docker-compose --ansi never ps --services | sort'

section objects
run 'ctl -H $DOCKER_HOST ps --format "{{.Names}}\t{{.Status}}" | sort | sed "s/Up .*/Up/"'
run 'ctl network ls --format "{{.Name}}"; ctl network inspect -f "{{range .IPAM.Config}}{{.Subnet}}{{end}}" lab7_default'
run 'ctl volume ls -q'
run 'docker inspect -f "{{range .Mounts}}{{.Type}} {{.Name}} -> {{.Destination}} rw={{.RW}}{{end}}" lab7_web_1 lab7_writer_1'

section talk
run 'sleep 2; cd app && docker-compose --ansi never logs --no-color --tail 1 probe'
run 'IP=$(docker inspect -f "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}" lab7_web_1); curl -s http://$IP/ | grep -o "page version"'
run 'cd app && docker-compose --ansi never exec -T probe busybox nslookup web | grep -A1 "^Name"'
run 'cd app && docker-compose --ansi never exec -T web hostname'

section scale
run 'cd app && docker-compose --ansi never up -d --scale probe=2 2>&1 | grep -c "lab7_probe_2"'
run 'docker ps --format "{{.Names}}" | sort'

section down
run 'cd app && docker-compose --ansi never down -v -t 1 2>&1 | sort'
run 'docker ps -a -q | wc -l; ctl network ls -q --filter type=custom | wc -l; ctl volume ls -q | wc -l'
