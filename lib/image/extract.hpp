// Applying one layer's tar stream to a directory tree (OCI image-spec
// layer.md "Applying Changesets").
//
// libarchive parses the tar (ustar, PAX with long names and xattrs, GNU
// extensions); every filesystem operation is relative to the target's
// directory fd: parents are opened with openat2(RESOLVE_IN_ROOT), entries are
// made with mkdirat, symlinkat, linkat, mknodat, openat(O_CREAT|O_EXCL) on a
// single name, so neither a name nor a symlink in this layer or an earlier
// one can reach outside the tree. Names with ".." and hardlinks whose target
// leaves the tree are refused with an error naming the layer and the entry.
//
// Two targets:
//  flat     the rootfs itself, holding the layers below: whiteouts delete.
//  overlay  an empty diff directory of the layer store, with the diff
//           directories of the layers below (top first): whiteouts become
//           overlay whiteouts (0/0 character devices) and opaque directories
//           (trusted.overlay.opaque=y), paths are resolved through the layers
//           as the mounted overlay will see them (union_view.hpp).
#pragma once

#include <string>
#include <vector>

#include "image/layer_stream.hpp"

struct archive;

namespace ctk::image {

struct ExtractOptions {
    // chown entries to the owners in the tar (needs CAP_CHOWN; without it
    // everything belongs to the caller).
    bool preserve_owners = true;
    // A layer: ".wh." names are whiteouts and a "./" entry sets the root's
    // metadata. Else a plain tar (docker cp, a build context): ".wh." names
    // are files and the destination directory keeps its own metadata.
    bool layer = true;
    // Character and block devices made (else refused, naming the entry).
    bool devices = true;
    // Docker's noOverwriteDirNonDir: a directory is never replaced by a
    // non-directory, nor the reverse (conflict, naming the entry).
    bool no_overwrite_dir_non_dir = false;
};

struct ExtractStats {
    uint64_t entries = 0;
    uint64_t whiteouts = 0;
};

// Applies the layer to `rootfd` (flat). `what` names the layer in errors.
ExtractStats extract_flat(LayerStream& stream, int rootfd, const std::string& what,
                          const ExtractOptions& options = {});

// Unpacks the layer into the empty diff directory `difffd`, above the diff
// directories `lowers` (top first; empty for the first layer).
ExtractStats extract_overlay(LayerStream& stream, int difffd, const std::vector<int>& lowers,
                             const std::string& what, const ExtractOptions& options = {});

// Applies the tar of an archive the caller opened for reading (its formats
// and filters set) to the directory `dirfd`, as extract_flat does.
ExtractStats extract_archive(struct archive* a, int dirfd, const std::string& what, const ExtractOptions& options);

} // namespace ctk::image
