#!/usr/bin/env bash
# shellcheck disable=SC2016 # commands are printed as written, then run
# usage: examples/lab/06-networks.sh      (docs/06-networks.md)
#   net-bridge by hand on network namespaces made with ip netns; then with ctl: one
#   container on two networks, names, a published port, and a process that is not a
#   container reaching a container. Subnets 10.246.1-3.0/24, namespaces lab6-<pid>-*.
# shellcheck source=examples/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_config 10.246.0.0/24 ctklab6
NA="lab6-$$-a" NB="lab6-$$-b" NP="lab6-$$-peer"
export NA NB NP
lab_on_exit 'for n in $NA $NB; do net-bridge detach lab6 --netns /var/run/netns/$n; done'
lab_on_exit 'net-bridge detach front --netns /var/run/netns/$NP; rm -rf /etc/netns/$NP'
ctl pull -q "$REG/tiny:latest" >/dev/null

section by-hand
run 'net-bridge create lab6 --subnet 10.246.1.0/24 | jq -c "{name, bridge, subnet, gateway}"'
lab_netns_added "$NA" "$NB"
run 'ip netns add $NA; ip netns add $NB'
run 'ip netns exec $NA ip -br addr'
run 'net-bridge attach lab6 --netns /var/run/netns/$NA --name alpha > alpha.json; jq -c "[.interfaces[].name], [.ips[].address], .dns" alpha.json'
run 'net-bridge attach lab6 --netns /var/run/netns/$NB --name beta | jq -r ".ips[].address"'
run 'ip netns exec $NA ip -4 -o addr | awk "{print \$2, \$4}"; ip netns exec $NA ip route'
run 'ip -br link show master $(jq -r .interfaces[0].name alpha.json) | cut -d" " -f1 | cut -c1-4'
run 'ip netns exec $NA busybox ping -c1 -W2 10.246.1.3 | grep -o "1 packets transmitted, 1 packets received"'
run 'cat $(jq -r .ctk.resolv_conf alpha.json)'
run 'ip netns exec $NA busybox nslookup beta 10.246.1.1 | grep -A1 "^Name"'
run 'net-bridge detach lab6 --netns /var/run/netns/$NB | jq -c "{network, address}"'
run 'ip netns exec $NA busybox ping -c1 -W1 10.246.1.3 >/dev/null || echo "beta is gone: exit status $?"'

section two-networks
run 'ctl network create front --subnet 10.246.2.0/24 >/dev/null; ctl network create back --subnet 10.246.3.0/24 >/dev/null; ctl network ls --format "{{.Name}} {{.Driver}}" | sort'
run 'ctl run -d --name app --network front $REG/tiny sh -c "mkdir /www && echo hello from app > /www/index.html && exec httpd -f -p 80 -h /www" | cut -c1-12'
run 'ctl network connect back app'
run 'ctl exec app ip -4 -o addr | awk "{print \$2, \$4}"'
run 'ctl inspect app | jq -r ".[0].NetworkSettings.Networks | to_entries[] | \"\(.key) \(.value.IPAddress) \(.value.Gateway)\""'
run 'ctl exec app ip route'

section names
run 'ctl run --rm --network back $REG/tiny wget -qO- http://app/'
run 'ctl run --rm --network back $REG/tiny cat /etc/resolv.conf'
run 'ctl run --rm --network back $REG/tiny busybox nslookup app | grep -A1 "^Name"'
run 'ctl run --rm --network back $REG/tiny busybox ping -c1 -W1 10.246.2.2 | grep -o "1 packets transmitted, 0 packets received" || echo "exit status $?"'

section ports
run 'ctl run -d --name web --network front -p 127.0.0.1:18246:80 $REG/tiny sh -c "mkdir /www && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www" | cut -c1-12'
run 'ctl port web'
run 'curl -s http://127.0.0.1:18246/'
run 'nft list table ip ctk | grep -o "ip daddr 127.0.0.1 tcp dport 18246 .*" | head -1'

section peer
lab_netns_added "$NP"
run 'ip netns add $NP'
run 'net-bridge attach front --netns /var/run/netns/$NP --name peer > peer.json; jq -r ".ips[].address" peer.json'
run 'mkdir -p /etc/netns/$NP && cp $(jq -r .ctk.resolv_conf peer.json) /etc/netns/$NP/resolv.conf'
run 'ip netns exec $NP curl -s http://app/'
run 'ip netns exec $NP curl -s http://web/'
run 'ctl exec app busybox ping -c1 -W2 peer | grep -o "1 packets transmitted, 1 packets received"'
run 'net-bridge detach front --netns /var/run/netns/$NP | jq -c "{network, address}"; ip netns del $NP; rm -r /etc/netns/$NP'

section clean
run 'ctl rm -f app web; ctl network rm front back'
run 'net-bridge detach lab6 --netns /var/run/netns/$NA >/dev/null; net-bridge rm lab6'
run 'ip netns del $NA; ip netns del $NB'
run 'ctl network ls --format "{{.Name}}"'
