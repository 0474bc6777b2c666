#!/usr/bin/env bash
# usage: examples/admin/volume-backup.sh backup VOLUME FILE.tar.gz
#        examples/admin/volume-backup.sh restore VOLUME FILE.tar.gz
#   Back up a named volume's data to a gzipped tar, and restore it into a
#   volume (made when missing; its old content is replaced). The files keep
#   numeric owners, modes, times, ACLs and xattrs (GNU tar on the host reading
#   the volume's directory, `ctl volume inspect` .Mountpoint). Stop the
#   containers that write to the volume first for a consistent copy; a restore
#   into a volume that a running container uses is refused.
#   The store is CTK_ROOT's, as for ctl.
set -euo pipefail
# shellcheck source=examples/admin/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[[ $# -eq 3 && ($1 == backup || $1 == restore) ]] || { sed -n '2,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
verb="$1" volume="$2" file="$3"
CTL="$(tool ctl)"

case "$verb" in
backup)
    dir="$("$CTL" volume inspect --format '{{.Mountpoint}}' "$volume")" || die "no volume $volume"
    tmp="$file.tmp.$$"
    trap 'rm -f "$tmp"' EXIT
    tar --create --gzip --numeric-owner --acls --xattrs --xattrs-include='*' \
        --file "$tmp" --directory "$dir" .
    sync "$tmp"
    mv "$tmp" "$file"      # a backup is whole or absent
    echo "backed up volume $volume ($(du -sh "$dir" | cut -f1)) to $file"
    ;;
restore)
    [[ -r $file ]] || die "cannot read $file"
    tar --list --gzip --file "$file" >/dev/null || die "$file is not a gzipped tar"
    if ! "$CTL" volume inspect "$volume" >/dev/null 2>&1; then
        "$CTL" volume create "$volume" >/dev/null
    fi
    users="$("$CTL" ps -q --filter "volume=$volume")"
    [[ -z $users ]] || die "volume $volume is in use by running containers: ${users//$'\n'/ }"
    dir="$("$CTL" volume inspect --format '{{.Mountpoint}}' "$volume")"
    find "$dir" -mindepth 1 -delete
    tar --extract --gzip --numeric-owner --acls --xattrs --xattrs-include='*' --same-permissions \
        --file "$file" --directory "$dir"
    echo "restored volume $volume from $file"
    ;;
esac
