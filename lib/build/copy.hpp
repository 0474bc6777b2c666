// COPY and ADD of a Dockerfile, the file half: sources from the build context
// (or another image's root filesystem) copied into a root filesystem, every
// path resolved inside that root so a symlink in the image cannot lead the
// copy out of it. `img-pack copy` runs it on a build step's bundle; the
// layer is then the bundle's upper directory (img-pack commit --bundle).
//
// As Docker's builder does: a directory source copies its contents; a file
// source goes into DEST when DEST is a directory (it exists, or was written
// with a trailing '/'), else becomes DEST; owners become 0:0 or --chown's
// (names looked up in the root's /etc/passwd and /etc/group), modes and
// mtimes are kept (--chmod replaces the mode); ADD extracts local tar
// archives (any compression) keeping their owners; .dockerignore's patterns
// leave context paths out.
#pragma once

#include <string>
#include <vector>

#include "core/fd.hpp"

namespace ctk::build {

class IgnoreMatcher;

// A source found in the source root.
struct CopySource {
    std::string rel; // relative to the root; "" = the root itself
    bool dir = false;
    bool archive = false; // ADD: a local tar archive, extracted
};

// The sources a COPY or ADD names (variables expanded) in the tree `from`:
// wildcards matched (filepath.Match, component by component), paths
// .dockerignore excludes left out (`ignore`, context sources only). Refused
// as Docker refuses them: a remote URL, a path leaving the root (invalid), a
// source that matches nothing (not_found).
std::vector<CopySource> match_sources(const std::string& from, const std::vector<std::string>& patterns,
                                      const IgnoreMatcher* ignore, bool add);

struct CopySpec {
    std::string from;                 // the source root: the build context, or another rootfs
    std::vector<std::string> sources; // as written, variables expanded: matched by match_sources
    std::string dest;                 // absolute path in the root
    bool dest_dir = false;            // DEST was written as a directory (trailing '/', or several sources)
    std::string chown;                // --chown=USER[:GROUP], "" = 0:0
    std::string chmod;                // --chmod=OCTAL, "" = keep
    bool add = false;                 // ADD: local archives are extracted
    std::string dockerignore;         // .dockerignore's text, for context sources ("" = none)
};

// Whether .dockerignore leaves out the entry `name` of `dirfd` (`rel` in the
// context): an excluded path, except a directory when the patterns re-include
// something ("!…"), which may lie below it.
bool ignored_entry(const IgnoreMatcher* ignore, int dirfd, const std::string& name, const std::string& rel);

// Copies as above into the root filesystem `rootfs`.
void copy_into_root(const std::string& rootfs, const CopySpec& spec);

// mkdir -p of `path` inside `rootfs`; new directories are 0755 root:root (WORKDIR).
void make_dir_in_root(const std::string& rootfs, const std::string& path);

// Every path of the tree at `dirfd`, relative (prefixed with `rel`), sorted (wildcard matching).
void list_tree(int dirfd, const std::string& rel, std::vector<std::string>& out);

// Whether `path` is a tar archive, compressed or not (what ADD extracts).
bool is_archive_file(const std::string& path);

} // namespace ctk::build
