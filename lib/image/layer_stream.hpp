// A layer blob turned into its uncompressed tar stream, with both digests
// computed as the bytes pass: the blob's (checked against the descriptor) and
// the stream's (the DiffID, checked against the image config).
//
// Decompression runs on its own thread, so that it overlaps with the
// extraction on the caller's thread. gzip layers of up to
// StreamOptions::whole_buffer_limit bytes are inflated in one call with
// libdeflate (about twice as fast as zlib here); larger or multi-member gzip
// streams go through zlib, zstd through libzstd's streaming API.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "core/digest.hpp"
#include "oci/media_types.hpp"

namespace ctk::image {

// Where a layer's bytes are: a range of an open file (a blob of a layout,
// or a member of a docker-save archive). The file must stay open meanwhile.
struct BlobRange {
    int fd = -1;
    uint64_t offset = 0;
    uint64_t length = 0;
};

struct StreamDigests {
    Digest blob;             // of the stored (compressed) bytes
    uint64_t blob_size = 0;
    Digest diff_id;          // of the uncompressed tar stream
    uint64_t diff_size = 0;
};

struct StreamOptions {
    uint64_t whole_buffer_limit = 512ull << 20;
    size_t chunk_size = 1u << 20;
    std::string blob_algorithm = "sha256"; // of the descriptor's digest
    std::string diff_algorithm = "sha256"; // of the DiffID
};

class LayerStream {
public:
    // `what` names the layer in errors ("layer sha256:…").
    LayerStream(BlobRange blob, oci::Compression compression, std::string what,
                StreamOptions options = {});
    ~LayerStream();
    LayerStream(const LayerStream&) = delete;
    LayerStream& operator=(const LayerStream&) = delete;

    // The next piece of the uncompressed stream, valid until the next call;
    // empty at the end. Throws what the decompressor met (ErrorKind::invalid
    // for corrupt or truncated data, failed for read errors).
    std::span<const unsigned char> next();
    // Reads the rest of the stream and returns the digests of all of it.
    StreamDigests finish();

private:
    struct Shared;
    std::unique_ptr<Shared> shared_;
    std::thread producer_;
};

} // namespace ctk::image
