#include "image/entry_path.hpp"

#include "core/error.hpp"

namespace ctk::image {

EntryPath EntryPath::parse(std::string_view name) {
    if (name.empty()) throw_invalid("entry with an empty name");
    EntryPath p;
    int depth = 0;
    bool dotdot = false, escapes = false;
    size_t i = 0;
    while (i <= name.size()) {
        size_t j = name.find('/', i);
        if (j == std::string_view::npos) j = name.size();
        std::string_view part = name.substr(i, j - i);
        if (part == "..") {
            dotdot = true;
            if (--depth < 0) escapes = true;
        } else if (!part.empty() && part != ".") {
            depth++;
            p.parts_.emplace_back(part);
        }
        i = j + 1;
    }
    if (escapes) throw_invalid("entry " + quote(name) + " escapes the rootfs");
    if (dotdot) throw_invalid("entry " + quote(name) + ": a \"..\" component is not allowed");
    return p;
}

std::string EntryPath::str() const {
    std::string s;
    for (const auto& part : parts_) {
        if (!s.empty()) s += '/';
        s += part;
    }
    return s;
}

EntryPath EntryPath::parent() const {
    EntryPath p = *this;
    if (!p.parts_.empty()) p.parts_.pop_back();
    return p;
}

std::string EntryPath::parent_str() const { return parent().str(); }

Whiteout classify_whiteout(std::string_view base) {
    if (base.substr(0, whiteout_prefix.size()) != whiteout_prefix) return {};
    if (base == opaque_marker) return {WhiteoutKind::opaque, ""};
    if (base.substr(0, whiteout_meta_prefix.size()) == whiteout_meta_prefix)
        return {WhiteoutKind::meta, ""};
    std::string_view hidden = base.substr(whiteout_prefix.size());
    if (hidden.empty() || hidden == "." || hidden == "..")
        throw_invalid("whiteout " + quote(base) + " names no entry");
    return {WhiteoutKind::file, std::string(hidden)};
}

} // namespace ctk::image
