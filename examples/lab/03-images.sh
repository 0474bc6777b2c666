#!/usr/bin/env bash
# shellcheck disable=SC2016 # commands are printed as written, then run
# usage: examples/lab/03-images.sh      (docs/03-images.md)
#   An image's layers and whiteouts read with tar; img-unpack flat and overlay; what a
#   Dockerfile RUN step is (an overlay bundle, ns-run, the upper directory as the layer),
#   a ctl build and a ctl commit.
# shellcheck source=examples/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
lab_config 10.243.0.0/24 ctklab3
blob() { printf '%s/blobs/sha256/%s' "$1" "${2#sha256:}"; }   # LAYOUT DIGEST -> file
export -f blob

section layers
run 'reg-fetch pull --layout $LAB/oci --tag layered $REG/layered:latest 2>/dev/null | jq -r ".layers[] | \"\(.digest) \(.size)\""'
run 'M=$(jq -r ".manifests[0].digest" $LAB/oci/index.json); jq -r ".layers[].digest" $(blob $LAB/oci $M) > layers; wc -l < layers'
run 'tar -tzvf $(blob $LAB/oci $(sed -n 2p layers)) data opaque | awk "{\$2=\$3=\$4=\$5=\"\"; print}" | tr -s " "'
run 'tar -tzvf $(blob $LAB/oci $(sed -n 3p layers)) | awk "{\$2=\$3=\$4=\$5=\"\"; print}" | tr -s " "'
run 'tar -tzvf $(blob $LAB/oci $(sed -n 4p layers)) | awk "{\$2=\$3=\$4=\$5=\"\"; print}" | tr -s " "'

section flat
run 'img-unpack --image $LAB/oci:layered $LAB/flat | jq "{mode, rootfs, layers: (.layers | length)}"'
run 'ls $LAB/flat'
run 'ls -A $LAB/flat/rootfs/data $LAB/flat/rootfs/opaque'
run 'cat $LAB/flat/rootfs/data/recreated.txt'
run 'du -sh $LAB/flat/rootfs | cut -f1'

section overlay
run 'img-unpack --mode overlay --image $LAB/oci:layered $LAB/ov | jq "{mode, rootfs, upper}"'
run 'ls $CTK_ROOT/layers | cut -c1-12'
run 'findmnt -n -o FSTYPE $LAB/ov/rootfs'
run 'findmnt -n -o OPTIONS $LAB/ov/rootfs | tr , "\n" | grep lowerdir | sed "s|/diff$||; s|layers/\(.\{12\}\).*|layers/\1...|"'
run 'ls -A $LAB/ov/rootfs/data'
run 'rm $LAB/ov/rootfs/data/keep.txt; echo new > $LAB/ov/rootfs/data/added.txt'
run 'stat -c "%F %n" $LAB/ov/overlay/upper/data/*'
run 'ls $CTK_ROOT/layers/*/diff/data/keep.txt | sed "s|layers/\(.\{12\}\)[^/]*|layers/\1...|"'
run 'img-unpack --mode overlay --image $LAB/oci:layered $LAB/ov2 >/dev/null; ls -A $LAB/ov2/rootfs/data'
run 'img-unpack --release $LAB/ov2; img-unpack --release $LAB/ov'

section step
run 'ctl pull -q $REG/tiny:latest'
run 'img-unpack --mode overlay --image $REG/tiny:latest $LAB/step -- sh -c "echo built by hand > /hello && rm /bin/nc" | jq -r .upper'
run 'ns-run run --bundle $LAB/step lab3-step; echo "exit status $?"'
run 'cd $LAB/step/overlay/upper && find . -mindepth 1 | sort | xargs stat -c "%F %n"'
run 'img-unpack --release $LAB/step'

section build
mkdir -p "$LAB/ctx"
cat >"$LAB/ctx/Dockerfile" <<DOCKERFILE
FROM $REG/tiny:latest
RUN echo "built by ctl" > /hello && rm /bin/nc
COPY note.txt /note.txt
CMD ["cat", "/hello", "/note.txt"]
DOCKERFILE
echo "a note from the build context" >"$LAB/ctx/note.txt"
run 'cat $LAB/ctx/Dockerfile'
run 'ctl build -t $REG/lab/hello:1 $LAB/ctx | jq -j ".stream // empty"'
run 'ctl run --rm --network none $REG/lab/hello:1'
run 'ctl history --format "{{.Size}}\t{{.CreatedBy}}" --no-trunc $REG/lab/hello:1 | cut -c1-70'
run 'I=$(jq -r ".manifests[] | select(.annotations[\"org.opencontainers.image.ref.name\"] == \"$REG/lab/hello:1\") | .digest" $CTK_ROOT/images/index.json)'
run 'tar -tzvf $(blob $CTK_ROOT/images $(jq -r ".layers[1].digest" $(blob $CTK_ROOT/images $I))) | awk "{\$2=\$3=\$4=\$5=\"\"; print}" | tr -s " "'
run 'ctl build -t $REG/lab/hello:1 $LAB/ctx | jq -j ".stream // empty" | grep -c "Using cache"'

section explain
run 'ctl --explain build --no-cache -t $REG/lab/hello:2 $LAB/ctx > $LAB/build.sh; head -1 $LAB/build.sh'
run 'grep -E "^(img-unpack|ns-run|img-pack) " $LAB/build.sh | sed -E "s/ --root [^ ]+//; s/^img-unpack .*/img-unpack/; s/^(ns-run|img-pack) ([a-z]+).*/\1 \2/"'
run 'sh $LAB/build.sh > /dev/null && ctl run --rm --network none $REG/lab/hello:2'

section commit
run 'ctl run --name work --network none $REG/tiny:latest sh -c "echo hello from a container > /greeting"'
run 'ctl commit -m "a greeting" -c "CMD [\"cat\", \"/greeting\"]" work $REG/lab/greet:1 | cut -c1-19'
run 'ctl run --rm --network none $REG/lab/greet:1'
run 'ctl history --format "{{.Size}}\t{{.CreatedBy}}\t{{.Comment}}" $REG/lab/greet:1'
run 'ctl rm work'
