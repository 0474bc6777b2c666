// libarchive helpers of the image write side (img-pack; ctl and ctld until
// they run it): owned handles, decompression of the formats Docker accepts,
// and a gzip'd layer blob written from a tar stream.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <string>

#include "core/digest.hpp"
#include "image/layer_writer.hpp"
#include "oci/layout.hpp"

namespace ctk::image {

struct ReadArchive {
    archive* a = archive_read_new();
    ReadArchive() = default;
    ReadArchive(const ReadArchive&) = delete;
    ReadArchive& operator=(const ReadArchive&) = delete;
    ~ReadArchive() { archive_read_free(a); }
};
struct WriteArchive {
    archive* a = archive_write_new();
    WriteArchive() = default;
    WriteArchive(const WriteArchive&) = delete;
    WriteArchive& operator=(const WriteArchive&) = delete;
    ~WriteArchive() { archive_write_free(a); }
};
struct ArchiveEntry {
    archive_entry* e = archive_entry_new();
    ArchiveEntry() = default;
    ArchiveEntry(const ArchiveEntry&) = delete;
    ArchiveEntry& operator=(const ArchiveEntry&) = delete;
    ~ArchiveEntry() { archive_entry_free(e); }
};

[[noreturn]] void archive_fail(archive* a, const std::string& what);

// gzip, bzip2, xz, lzma and zstd (docker import's and load's formats). Not
// support_filter_all: that brings lz4, lzop, grzip … which ctk's static
// tools do not link.
void support_compressions(archive* a);

// Receives an uncompressed layer tar: hashes it (the diff_id) and gzips it
// into a blob of `layout`.
class GzipLayerSink {
public:
    explicit GzipLayerSink(const oci::Layout& layout);
    ~GzipLayerSink();
    GzipLayerSink(const GzipLayerSink&) = delete;
    GzipLayerSink& operator=(const GzipLayerSink&) = delete;
    void write(const void* data, size_t size);
    // Ends the gzip stream and commits the blob.
    WrittenLayer finish();
    // archive_write_open2's write callback, `self` a GzipLayerSink.
    static la_ssize_t write_callback(archive*, void* self, const void* buf, size_t n);

private:
    void pump(int flush);
    oci::Layout layout_;
    oci::BlobWriter blob_;
    Hasher diff_;
    struct Zlib;
    Zlib* z_;
};

// Streams the decompressed bytes of a blob (gzip, zstd or none) to `sink`;
// returns their sha256 (a layer's diff_id).
Digest decompressed_digest(const oci::Layout& layout, const Digest& blob,
                           const std::function<void(const char*, size_t)>& sink = {});

} // namespace ctk::image
