// The one reader of docker-archive tars (what `docker save` and `skopeo copy
// … docker-archive:` write): manifest.json's images, their configs and where
// each layer's bytes lie in the tar, so they are read in place (pread), never
// unpacked to a temporary tree. img-unpack --archive and img-pack load use it.
//
// Legacy layout (<v1id>/layer.tar, <config hex>.json) and Docker 25+'s (an
// OCI layout beside manifest.json, blobs/sha256/…) are both read; symlinks and
// hardlinks between members (older `docker save` links repeated layers) are
// followed. A member named by a digest is checked against it. The tar must be
// uncompressed: callers decompress a compressed one first.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "oci/image.hpp"
#include "oci/media_types.hpp"

namespace ctk::image {

struct ArchiveMember {
    uint64_t offset = 0; // of the data in the tar
    uint64_t size = 0;
};

struct ArchivedLayer {
    std::string name;                 // the member manifest.json names
    ArchiveMember member;
    oci::Compression compression = oci::Compression::none; // from the first bytes
    std::optional<Digest> named;      // digest in the member's name ("blobs/sha256/<hex>")
    Digest diff_id;                   // from the config
};

struct ArchivedImage {
    std::vector<std::string> repo_tags; // as written ("tiny:latest")
    std::string config_name;
    std::string config_bytes;
    Digest config_digest;               // the image ID
    oci::ImageConfig config;
    std::vector<ArchivedLayer> layers;
    std::optional<Digest> manifest_digest; // from Docker 25+'s index.json, when it names one
};

class DockerArchive {
public:
    // Reads the tar's member list and manifest.json. Throws ErrorKind::invalid
    // naming the file: not a tar, compressed, no manifest.json, a missing
    // member, a config that does not match its name, layer and diff_id counts
    // that differ.
    static DockerArchive open(const std::string& file);

    const std::string& file() const { return file_; }
    const std::vector<ArchivedImage>& images() const { return images_; }
    // The bytes of a member (at most 16 MiB: JSON documents).
    std::string read(const ArchiveMember& m, const std::string& name) const;

private:
    std::string file_;
    std::map<std::string, ArchiveMember> members_;
    std::vector<ArchivedImage> images_;
};

// The compression a blob's first bytes show (gzip, zstd, else none).
oci::Compression sniff_compression(const unsigned char* p, size_t n);

} // namespace ctk::image
