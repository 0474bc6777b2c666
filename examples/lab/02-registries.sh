#!/usr/bin/env bash
# shellcheck disable=SC2016 # commands are printed as written, then run
# usage: examples/lab/02-registries.sh      (docs/02-registries.md)
#   A private registry of our own on 127.0.0.1:5242, an image pulled from $REG into an
#   OCI image layout, read with ls and jq, its digests checked by hand with sha256sum,
#   then pushed to the private registry and listed through the registry API.
# shellcheck source=examples/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_config 10.242.0.0/24 ctklab2
PRIV=127.0.0.1:5242

section registry
# the Distribution registry (docker-registry), storage in $LAB/registry, plain HTTP on loopback
cat >"$LAB/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $LAB/registry}, delete: {enabled: true}}
http: {addr: $PRIV}
YML
docker-registry serve "$LAB/registry.yml" >"$LAB/registry.log" 2>&1 &
lab_pid "$!"
for _ in $(seq 100); do curl -sf "http://$PRIV/v2/" >/dev/null && break; sleep 0.05; done
run 'curl -si http://$PRIV/v2/ | grep -i -e "^HTTP" -e "^Docker-Distribution"'
run 'curl -s http://$PRIV/v2/_catalog'

section pull
run 'reg-fetch pull --layout $LAB/oci --tag latest $REG/tiny:latest 2>/dev/null | jq "{reference, digest, platform, layout}"'
run 'ls $LAB/oci'
run 'cat $LAB/oci/oci-layout; echo'
run 'jq . $LAB/oci/index.json'

section manifest
run 'M=$(jq -r ".manifests[0].digest" $LAB/oci/index.json); echo $M'

run 'jq . $LAB/oci/blobs/sha256/${M#sha256:}'
run 'ls -l $LAB/oci/blobs/sha256 | awk "NR>1 {print \$5, \$9}"'

section digests
run 'cd $LAB/oci/blobs/sha256 && for f in *; do echo "$f $(sha256sum < $f | cut -d" " -f1)"; done'
run 'L=$(jq -r ".layers[0].digest" $LAB/oci/blobs/sha256/${M#sha256:}); C=$(jq -r ".config.digest" $LAB/oci/blobs/sha256/${M#sha256:})'
run 'jq -r ".rootfs.diff_ids[0]" $LAB/oci/blobs/sha256/${C#sha256:}'
run 'gzip -dc $LAB/oci/blobs/sha256/${L#sha256:} | sha256sum'

section push
run 'reg-fetch push $LAB/oci:latest $PRIV/lab/tiny:v1 2>/dev/null | jq .'
run 'curl -s http://$PRIV/v2/_catalog'
run 'curl -s http://$PRIV/v2/lab/tiny/tags/list'
run 'curl -sI -H "Accept: application/vnd.oci.image.manifest.v1+json" http://$PRIV/v2/lab/tiny/manifests/v1 | grep -i docker-content-digest'
run 'curl -s http://$PRIV/v2/lab/tiny/blobs/$L | sha256sum'

section ctl
run 'ctl pull $PRIV/lab/tiny:v1'
run 'ctl tag $PRIV/lab/tiny:v1 $PRIV/lab/tiny:v2'
run 'ctl push $PRIV/lab/tiny:v2'
run 'reg-fetch tags $PRIV/lab/tiny | jq -c .'
run 'ctl images --format "{{.Repository}}:{{.Tag}} {{.ID}}"'
