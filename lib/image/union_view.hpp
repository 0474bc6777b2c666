// Path lookup through a stack of overlay layer directories, as overlayfs
// itself would see them once mounted (Documentation/filesystems/overlayfs.rst):
// an upper entry hides the lower ones, except that directories merge; a 0/0
// character device is a whiteout; a directory with trusted.overlay.opaque=y
// hides everything below it; an upper directory hides a lower non-directory.
//
// The overlay extractor needs it for the layers above the first one: an entry
// "bin/foo" of layer 2 must land where "bin" points to in layers 1+2 (a
// symlink to usr/bin on usr-merged systems), a new directory must copy its
// attributes from the lower one it covers, and a hardlink may name a file of
// a lower layer. Every step is a single-component *at() call with
// O_NOFOLLOW on a directory fd inside a layer, so nothing can lead outside.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "core/fd.hpp"

namespace ctk::image {

// Overlay's private xattrs (also refused from layer tars).
inline constexpr const char* overlay_opaque_xattr = "trusted.overlay.opaque";

bool is_overlay_whiteout(const struct stat& st);
// Whether an open directory carries trusted.overlay.opaque=y.
bool is_opaque_dir(int dirfd);

// One directory as the layers see it: its fd in each layer that contributes,
// top first (the merge stops at an opaque directory).
struct UnionDir {
    struct Part {
        size_t layer = 0;
        UniqueFd fd; // O_RDONLY|O_DIRECTORY
    };
    std::vector<Part> parts;
    bool exists() const { return !parts.empty(); }
};

class UnionView {
public:
    // The layer roots, top first; the fds are borrowed and must outlive the view.
    explicit UnionView(std::vector<int> layer_roots) : roots_(std::move(layer_roots)) {}

    UnionDir root() const;

    struct Lookup {
        enum Kind { absent, directory, other } kind = absent;
        UnionDir dir;         // for a directory
        size_t layer = 0;     // the layer of the topmost entry
        int parent_fd = -1;   // its parent directory in that layer (owned by the UnionDir searched)
        struct stat st {};    // its status
    };
    // `name` is one component; throws on I/O errors.
    Lookup lookup(const UnionDir& dir, const std::string& name) const;

    struct Resolved {
        std::vector<std::string> real;     // the existing directories, symlinks resolved
        std::vector<struct stat> real_st;  // status of the topmost layer's directory per component
        std::vector<UniqueFd> real_top;    // its fd (for copying xattrs)
        UnionDir dir;                      // the last existing directory
        std::vector<std::string> missing;  // components below it that do not exist
    };
    // Resolves a directory path as the mounted overlay would, as if chrooted
    // at the layers' root (".." stops there). Throws ErrorKind::invalid when a
    // component is a non-directory or a dangling symlink, or on a symlink loop.
    Resolved resolve(const std::vector<std::string>& parts) const;

private:
    std::vector<int> roots_;
};

} // namespace ctk::image
