// A directory tree in and out of a plain tar: what `docker cp` moves through
// the Engine API (GET/PUT /containers/{id}/archive) and a build context,
// written and read by img-pack (`archive`, `extract`) with the layer code's
// tar writer (LayerTarWriter) and extractor (extract.hpp). Every path is
// resolved inside a root (openat2 RESOLVE_IN_ROOT) and every entry is made
// with *at calls on directory fds and O_NOFOLLOW, so neither a symlink in the
// root nor a hostile entry ("../../etc/x", a link to /etc/shadow) reaches
// outside the destination.
#pragma once

#include <cstdint>
#include <string>

#include "image/extract.hpp"

namespace ctk::image {

// Docker's name for the top entry of an archive of `path`: its last
// component ("/etc/hosts" -> "hosts"; "/etc/." -> "." for the contents; "/" -> ".").
std::string archive_top_name(const std::string& path);

// Writes `path` (absolute, inside the root at `rootfd`; a final symlink is
// archived as itself) to `out_fd` as a tar: the top entry named `name`, what
// is below it "name/…". Throws not_found when nothing is there. Returns the
// number of entries.
uint64_t write_tree_tar(int rootfd, const std::string& path, const std::string& name, int out_fd);

// docker export: the directory `path` (inside the root at `rootfd`) with no
// top entry, what is in it at the tar's top ("bin/", "bin/sh" …).
uint64_t write_tree_contents_tar(int rootfd, const std::string& path, int out_fd);

// Extracts the tar (plain, gzip, bzip2, xz or zstd) from `in_fd` into the
// directory `dir` (absolute, inside the root at `rootfd`; a symlink on the
// way is resolved inside the root). Entries are resolved inside `dir`: ".."
// and a path through a symlink leading out of it are refused (invalid).
// not_found when `dir` is missing, invalid when it is not a directory.
ExtractStats extract_tree_tar(int rootfd, const std::string& dir, int in_fd, const ExtractOptions& options);

} // namespace ctk::image
