// The overlay layer store, $CTK_ROOT/layers (DESIGN.md "The store"):
//
//   layers/<chainid-hex>/diff/        the layer's files, overlay whiteouts included
//   layers/<chainid-hex>/layer.json   {"chain_id", "diff_id", "parent", "blob", "size"}
//   layers/.locks/<chainid-hex>       flock: one process unpacks a layer at a time
//   layers/.tmp-<chainid-hex>-<rand>/ a layer being unpacked
//
// A layer is named by its ChainID (image-spec config.md), so it is shared by
// every image whose layers up to it are the same, and it is only ever used
// above the same parents. It is unpacked into a temporary directory under its
// lock and appears under its final name by one rename, after both digests
// matched: a directory with the final name is always complete.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/digest.hpp"
#include "core/json.hpp"

namespace ctk::image {

class LayerStore {
public:
    explicit LayerStore(std::string dir) : dir_(std::move(dir)) {}

    const std::string& dir() const noexcept { return dir_; }
    std::string layer_dir(const Digest& chain_id) const { return dir_ + "/" + chain_id.encoded(); }
    std::string diff_dir(const Digest& chain_id) const { return layer_dir(chain_id) + "/diff"; }
    bool has(const Digest& chain_id) const;

    // Called with the empty diff directory to fill and the diff directories of
    // the layers below (top first); returns the layer's record (layer.json).
    using Unpacker = std::function<Json(int difffd, const std::vector<int>& lowers)>;

    // Makes sure the layer `chain_id` is in the store, unpacking it with
    // `unpack` when it is not; `lowers` are the ChainIDs below it, top first.
    // Returns true when it was unpacked now, false when it was already there.
    bool ensure(const Digest& chain_id, const std::vector<Digest>& lowers, const Unpacker& unpack,
                bool sync = true);

private:
    std::string dir_;
};

} // namespace ctk::image
