// Names of the entries in a layer tar, as the extractor may use them.
//
// A name is reduced to its components: "./" and empty components are dropped,
// a leading "/" too (what tar does: "/etc/x" lands at rootfs/etc/x). A ".."
// component is refused outright: no layer produced by Docker, BuildKit or
// umoci has one, and the tools that clamp it silently (umoci) hide an attack.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ctk::image {

class EntryPath {
public:
    // Throws ErrorKind::invalid:
    //     entry "../../x" escapes the rootfs
    //     entry "a/../b": a ".." component is not allowed
    static EntryPath parse(std::string_view name);

    const std::vector<std::string>& parts() const noexcept { return parts_; }
    bool is_root() const noexcept { return parts_.empty(); }
    const std::string& base() const { return parts_.back(); }
    // "a/b/c" ("" for the root)
    std::string str() const;
    // The directory holding the entry ("" for an entry at the root).
    std::string parent_str() const;
    EntryPath parent() const;

private:
    std::vector<std::string> parts_;
};

// OCI image-spec layer.md "Whiteouts": ".wh.NAME" removes NAME of the lower
// layers; ".wh..wh..opq" hides every lower entry of its directory.
inline constexpr std::string_view whiteout_prefix = ".wh.";
inline constexpr std::string_view opaque_marker = ".wh..wh..opq";

// Other ".wh..wh." names are AUFS bookkeeping (".wh..wh.plnk"); Docker skips
// them, and so does ctk (WhiteoutKind::meta).
inline constexpr std::string_view whiteout_meta_prefix = ".wh..wh.";

enum class WhiteoutKind { none, file, opaque, meta };

struct Whiteout {
    WhiteoutKind kind = WhiteoutKind::none;
    std::string hidden; // for WhiteoutKind::file: the name it removes
};

// Classifies a base name; throws ErrorKind::invalid for ".wh." alone, ".wh..",
// ".wh..." (whiteouts of nothing, of the parent or of the directory itself).
Whiteout classify_whiteout(std::string_view base);

} // namespace ctk::image
