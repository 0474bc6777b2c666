// An OCI image layout on disk (image-spec image-layout.md): the directory
// holds "oci-layout", "index.json" and "blobs/<alg>/<encoded>". skopeo, umoci
// and every ctk tool read and write the same layout.
//
// Blobs enter blobs/ only whole and verified: written under a temporary name,
// hashed as they are written, fsynced, then renamed. index.json changes are
// read-modify-write under the layout's lock file, replaced atomically.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/digest.hpp"
#include "core/fd.hpp"
#include "oci/image.hpp"

namespace ctk::oci {

// Streams one blob into a layout. Bytes go to a temporary file in the layout
// root while they are hashed; commit() checks them and renames the file into
// blobs/. Destroyed without commit(), the temporary file is removed, except
// for a resumable writer (Layout::resume_blob), whose bytes stay for the next run.
class BlobWriter {
public:
    BlobWriter(BlobWriter&&) noexcept;
    BlobWriter& operator=(BlobWriter&&) noexcept;
    ~BlobWriter();

    void write(const void* data, size_t size);
    void write(std::string_view data) { write(data.data(), data.size()); }
    uint64_t size() const noexcept { return hasher_.size(); }
    int fd() const noexcept { return fd_.get(); }
    const std::string& temp_path() const noexcept { return tmp_path_; }
    // Finishes the hash and checks the expected digest (and size, when >= 0);
    // the bytes are fsynced but stay under the temporary name. After a
    // mismatch only restart() or discard() make sense.
    Digest verify(const std::optional<Digest>& expected = std::nullopt, int64_t expected_size = -1);
    // verify() unless done, then moves the blob into place. A blob already
    // present is kept (content addressing makes them equal).
    Digest commit(const std::optional<Digest>& expected = std::nullopt, int64_t expected_size = -1);
    // Drops the bytes written so far and starts again at offset 0.
    void restart();
    // Removes the temporary file now (also a resumable one).
    void discard() noexcept;

private:
    friend class Layout;
    BlobWriter(std::string root, std::string tmp_path, UniqueFd fd, bool keep = false);
    std::string root_;
    std::string tmp_path_;
    UniqueFd fd_;
    Hasher hasher_;
    std::string algorithm_ = "sha256";
    std::optional<Digest> verified_;
    bool spent_ = false;
    bool keep_ = false;
};

class Layout {
public:
    // Opens an existing layout; throws not_found/invalid naming the directory.
    static Layout open(const std::string& dir);
    // Opens or creates one (oci-layout, empty index.json, blobs/sha256/).
    static Layout create(const std::string& dir);
    // True when `dir` holds an "oci-layout" file.
    static bool exists(const std::string& dir);

    const std::string& path() const noexcept { return dir_; }
    std::string blob_path(const Digest& d) const;
    bool has_blob(const Digest& d) const;

    // Reads a blob of at most max_size bytes and verifies digest and size.
    std::string read_blob(const Descriptor& d, size_t max_size = 4u << 20) const;
    // Opens a blob for streaming (the caller verifies what it reads).
    UniqueFd open_blob(const Digest& d) const;

    BlobWriter begin_blob() const;
    // A resumable download of blob `digest` (`size` bytes). Bytes go to
    // "<layout>/.ctk-partial-<alg>-<encoded>", which survives an interrupted
    // run so the next one continues where it stopped (HTTP Range). The file is
    // flock'ed while its writer lives: a second writer of the same blob waits
    // (calling `on_wait` first) and then finds the blob committed or the bytes
    // to continue. The bytes already there are hashed, so size() is the offset
    // to resume from. Returns nullopt when the blob is already in blobs/.
    std::optional<BlobWriter> resume_blob(const Digest& digest, int64_t size,
                                          const std::function<void()>& on_wait = {}) const;
    std::string partial_path(const Digest& d) const;
    // Removes the partial downloads and temporary blobs no live writer holds
    // (their flock is free) whose last write is at least `min_age` old, so an
    // interrupted pull never keeps space for ever. Returns the bytes freed.
    uint64_t collect_partials(std::chrono::seconds min_age) const;
    // The bytes of partial downloads and temporary blobs, held or not.
    uint64_t partial_bytes() const;
    // Writes a small blob (manifest, config) and returns its descriptor.
    Descriptor write_blob(std::string_view data, std::string media_type) const;

    Index read_index() const;
    // Replaces index.json atomically. Use update_index for read-modify-write.
    void write_index(const Index& index) const;
    // Locks the layout, reads index.json, lets `change` edit it, writes it back.
    void update_index(const std::function<void(Index&)>& change) const;

    // The manifest or index descriptor tagged `ref_name`; nullopt when absent.
    std::optional<Descriptor> find(std::string_view ref_name) const;
    // Tags `d` as `ref_name`, replacing an earlier descriptor with that name.
    void tag(std::string_view ref_name, Descriptor d) const;
    // Removes the tag; returns false when there was none.
    bool untag(std::string_view ref_name) const;

    // Path of the lock file that serialises writers of this layout.
    std::string lock_path() const { return dir_ + "/.ctk-lock"; }

private:
    explicit Layout(std::string dir) : dir_(std::move(dir)) {}
    std::string dir_;
};

// "DIR:REF" as umoci and img-unpack take it. The split is at the first ':' whose
// prefix is a layout directory, so both "/a:b/layout:tag" and
// "layout:127.0.0.1:5000/tiny:latest" work; with no such prefix, at the first ':'
// (and REF "" when there is no ':').
std::pair<std::string, std::string> split_layout_ref(std::string_view s);

// An image resolved in a layout: its manifest (picked from an index by
// platform when needed) and its config.
struct ResolvedImage {
    Descriptor manifest_descriptor;
    Manifest manifest;
    std::string manifest_bytes;
    ImageConfig config;
    std::string config_bytes;
    std::optional<Descriptor> index_descriptor; // when `ref` named an index
};

// Resolves `ref_name` (or a "sha256:…" digest of a manifest or index in the
// layout) to an image for `platform` (default: the host's).
ResolvedImage resolve_image(const Layout& layout, std::string_view ref_name,
                            const std::optional<Platform>& platform = std::nullopt);
// The same from a descriptor.
ResolvedImage resolve_image(const Layout& layout, const Descriptor& d,
                            const std::optional<Platform>& platform = std::nullopt);

} // namespace ctk::oci
