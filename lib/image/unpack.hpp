// An image made into an OCI runtime bundle (runtime-spec bundle.md):
//
//   BUNDLE/config.json       runtime config (spec.hpp)
//   BUNDLE/rootfs/           flat: the layers applied in order
//                            overlay: mount point of an overlay of the store's layers
//   BUNDLE/overlay/{upper,work}   overlay: this bundle's writable layer
//   BUNDLE/ctk-bundle.json   what img-unpack printed (CONTRACTS.md, img-unpack
//                            "Output and ctk-bundle.json")
//
// Nothing reaches its final name before every layer's blob digest and DiffID
// matched: a flat rootfs is unpacked under a temporary name in the bundle and
// renamed; an overlay layer is committed to the store by rename (layer_store.hpp).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "image/extract.hpp"
#include "image/source.hpp"
#include "image/spec.hpp"
#include "store/paths.hpp"

namespace ctk::image {

enum class BundleMode { flat, overlay };

BundleMode parse_bundle_mode(std::string_view s); // "flat" | "overlay"
const char* bundle_mode_name(BundleMode m);

inline constexpr const char* bundle_record_name = "ctk-bundle.json";

struct UnpackOptions {
    BundleMode mode = BundleMode::flat;
    // Options of config.json; an empty hostname becomes the bundle's directory name.
    SpecOptions spec;
    ExtractOptions extract;
    StreamOptions stream;
    // syncfs before a rootfs or layer gets its final name (off for throw-away bundles).
    bool sync = true;
    // Human progress lines ("layer 1/4 sha256:… 46.9 MiB"); the tool passes
    // one when stderr is a terminal.
    std::function<void(const std::string&)> progress;
};

// Unpacks `image` into the bundle directory `bundle` (made if missing; it
// must not hold a rootfs or config.json yet) and returns the bundle record,
// also written to BUNDLE/ctk-bundle.json. Overlay layers go to paths.layers().
Json unpack_image(const ImageSource& image, const std::string& bundle, const UnpackOptions& options,
                  const store::Paths& paths);

// Undoes unpack_image: unmounts an overlay rootfs, removes rootfs/,
// overlay/, config.json and ctk-bundle.json, and the bundle directory when
// that leaves it empty. Layers stay in the store. Returns
// {"bundle": …, "released": true}. ErrorKind::not_found when BUNDLE is not an
// img-unpack bundle, conflict when its rootfs is busy.
Json release_bundle(const std::string& bundle);

} // namespace ctk::image
