// Writing image layers: a container's filesystem changes become one OCI layer
// (image-spec layer.md "Representing Changes") in an image layout, as
// `docker commit` and every build step do.
//
// Two sources of changes:
//   overlay upper   the writable layer of an overlay rootfs (img-unpack's
//                   BUNDLE/overlay/upper): every entry in it is an addition or
//                   a modification; a 0/0 character device is a deleted path
//                   (written as ".wh.NAME"); a directory with
//                   trusted.overlay.opaque=y was removed and made again (written
//                   as the directory plus "DIR/.wh..wh..opq"). overlayfs's own
//                   trusted.overlay.* attributes are not part of the layer.
//   directory diff  a flat rootfs against the tree it started from: paths
//                   only in the new tree are added, paths whose type, mode,
//                   owner, size, mtime, device, link target or xattrs differ
//                   are modified (the same test Docker's naive differ makes),
//                   paths gone are whiteouts; the directories above a change
//                   are written too, so their owners and modes survive.
//
// Entries keep owners (numeric), modes (setuid/setgid/sticky included), mtimes
// (whole seconds), xattrs (security.selinux excepted: a host's label), device
// numbers, symlink targets; files with several names in the changes are
// written once and then as hardlinks. Sockets are skipped. The tar is
// ustar/PAX (PAX only where a name, an id or an xattr needs it), sorted by
// name, compressed with gzip; its sha256 is the DiffID, the gzip's the blob
// digest. A change set with no entries writes no blob (Docker records an
// empty layer in the history instead).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "oci/image.hpp"
#include "oci/layout.hpp"

namespace ctk::image {

struct LayerWriteOptions {
    int gzip_level = -1; // zlib's level; -1 is its default (6), as Docker and buildah
    // Paths ("etc/hosts", no leading '/') left out with everything below them:
    // the runtime's mount points (/proc, /dev, /etc/resolv.conf …), which it
    // creates in the rootfs when the image lacks them. Docker keeps them out
    // of commits the same way, with its "init" layer.
    std::set<std::string> exclude;
};

struct WrittenLayer {
    oci::Descriptor descriptor; // application/vnd.oci.image.layer.v1.tar+gzip
    Digest diff_id;
    uint64_t tar_size = 0;     // bytes of the uncompressed tar
    uint64_t content_size = 0; // bytes of file contents (Docker's layer "Size")
    uint64_t entries = 0;      // 0: nothing changed, no blob was written
    bool new_blob = false;     // the blob was not in the layout before
    bool empty() const noexcept { return entries == 0; }
};

// Streams tar entries into a gzip blob of a layout, or as a plain tar to a
// file descriptor (img-pack archive: docker cp's GET /archive).
class LayerTarWriter {
public:
    LayerTarWriter(const oci::Layout& layout, const LayerWriteOptions& options = {});
    explicit LayerTarWriter(int out_fd);
    ~LayerTarWriter();
    LayerTarWriter(const LayerTarWriter&) = delete;
    LayerTarWriter& operator=(const LayerTarWriter&) = delete;

    // The entry `name` of the open directory `dirfd`, stored as `path`
    // ("a/b/c", no leading '/'); `st` is its lstat. Regular files with more
    // than one link become hardlinks to the first path written for them.
    void add(int dirfd, const std::string& name, const std::string& path, const struct stat& st);
    // ".wh.NAME" in the directory of `path`; owner and mtime taken from `like`.
    void add_whiteout(const std::string& path, const struct stat& like);
    // "DIR/.wh..wh..opq"; `dir_st` is the directory's lstat.
    void add_opaque(const std::string& dir, const struct stat& dir_st);

    uint64_t entries() const noexcept;
    // Ends the tar, commits the blob (when there were entries) and returns it
    // (to a file descriptor: only the counts).
    WrittenLayer finish();

private:
    void open();
    struct State;
    std::unique_ptr<State> s_;
};

// The changes in an overlay upper directory, as a layer in `layout`.
WrittenLayer write_layer_from_upper(const oci::Layout& layout, const std::string& upper,
                                    const LayerWriteOptions& options = {});

// The changes from the tree `lower` to the tree `upper`, as a layer in `layout`.
WrittenLayer write_layer_from_diff(const oci::Layout& layout, const std::string& lower, const std::string& upper,
                                   const LayerWriteOptions& options = {});

// docker diff: one changed path of a container's filesystem, with Docker's
// kinds (pkg/archive ChangeType: 0 modified, 1 added, 2 deleted).
struct PathChange {
    enum Kind { modified = 0, added = 1, deleted = 2 };
    std::string path; // absolute: "/etc/passwd"
    Kind kind = modified;
    char letter() const { return "CAD"[kind]; }
};

// The changes of an overlay upper directory over its lower layer directories
// (top first), as Docker's overlay differ reports them, in its order (a walk
// of the upper directory sorted by name, parents first): a whiteout is
// deleted; an entry the lower layers have (looked up as the mounted overlay
// would) is modified, except a directory of the same mode, size and mtime
// there, which is left out; anything else is added; the parent of an added or
// deleted path not reported yet is reported modified. An opaque directory is
// judged as any other entry (its hidden lower contents are not listed).
std::vector<PathChange> changes_from_upper(const std::string& upper, const std::vector<std::string>& lowers,
                                           const LayerWriteOptions& options = {});

// The changes from the tree `lower` to the tree `upper` (the same walk as
// write_layer_from_diff): new paths added, paths whose entry differs
// modified, paths gone deleted (a deleted directory once, not its contents),
// a directory with a change below it modified.
std::vector<PathChange> changes_from_diff(const std::string& lower, const std::string& upper,
                                          const LayerWriteOptions& options = {});

} // namespace ctk::image
