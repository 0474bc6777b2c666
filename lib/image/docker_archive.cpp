#include "image/docker_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "oci/reference.hpp"

namespace ctk::image {

oci::Compression sniff_compression(const unsigned char* p, size_t n) {
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return oci::Compression::gzip;
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) return oci::Compression::zstd;
    return oci::Compression::none;
}

namespace {

std::string member_name(std::string s) {
    while (s.rfind("./", 0) == 0) s.erase(0, 2);
    while (!s.empty() && s[0] == '/') s.erase(0, 1);
    return s;
}

// A symlink's target as a member name: relative to the link's directory.
std::string link_target(const std::string& from, const std::string& target) {
    if (!target.empty() && target[0] == '/') return member_name(target);
    std::vector<std::string> parts;
    auto slash = from.rfind('/');
    if (slash != std::string::npos)
        for (auto& p : split(from.substr(0, slash), '/')) parts.push_back(p);
    for (auto& p : split(target, '/')) {
        if (p.empty() || p == ".") continue;
        if (p == "..") {
            if (!parts.empty()) parts.pop_back();
        } else {
            parts.push_back(p);
        }
    }
    return join(parts, "/");
}

// The regular files of an uncompressed tar and where their data lie. An
// entry occupies [header, next header); its data are the last
// round_up(size, 512) bytes of that span (after any PAX or GNU long-name
// headers of its own). Links are resolved to the member they name.
std::map<std::string, ArchiveMember> index_tar(const std::string& file, int fd) {
    unsigned char magic[6] = {};
    ssize_t got = ::pread(fd, magic, sizeof magic, 0);
    if (got > 0 && sniff_compression(magic, static_cast<size_t>(got)) == oci::Compression::gzip)
        throw_invalid("archive " + quote(file) + " is gzip-compressed: decompress it first (gunzip)");
    if (got > 0 && sniff_compression(magic, static_cast<size_t>(got)) == oci::Compression::zstd)
        throw_invalid("archive " + quote(file) + " is zstd-compressed: decompress it first (unzstd)");
    struct archive* a = archive_read_new();
    ScopeGuard free_archive([&] { archive_read_free(a); });
    archive_read_support_format_tar(a);
    if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK)
        throw_invalid("archive " + quote(file) + ": " + archive_error_string(a));
    std::map<std::string, ArchiveMember> members;
    std::map<std::string, std::string> links;
    std::string pending_name;
    uint64_t pending_size = 0;
    bool pending = false;
    auto close_pending = [&](uint64_t next_header) {
        if (!pending) return;
        uint64_t padded = (pending_size + 511) / 512 * 512;
        if (next_header < padded) throw_invalid("archive " + quote(file) + ": malformed tar");
        members[pending_name] = {next_header - padded, pending_size};
        pending = false;
    };
    for (;;) {
        archive_entry* e;
        int r = archive_read_next_header(a, &e);
        close_pending(static_cast<uint64_t>(archive_read_header_position(a)));
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            const char* msg = archive_error_string(a);
            throw_invalid("archive " + quote(file) + ": " + (msg ? msg : "not a tar"));
        }
        const char* name = archive_entry_pathname(e);
        if (!name) continue;
        std::string n = member_name(name);
        if (const char* hl = archive_entry_hardlink(e)) {
            links[n] = member_name(hl);
            continue;
        }
        if (archive_entry_filetype(e) == AE_IFLNK) {
            const char* t = archive_entry_symlink(e);
            links[n] = link_target(n, t ? t : "");
            continue;
        }
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        pending_name = n;
        pending_size = static_cast<uint64_t>(archive_entry_size(e));
        pending = true;
    }
    for (const auto& [from, to] : links) {
        std::string t = to;
        for (int hops = 0; hops < 16 && !members.count(t); hops++) {
            auto it = links.find(t);
            if (it == links.end()) break;
            t = it->second;
        }
        if (auto it = members.find(t); it != members.end()) members[from] = it->second;
    }
    return members;
}

// A member named by its digest ("blobs/sha256/<hex>", "<hex>.json", "<hex>.tar") is checked against it.
std::optional<Digest> digest_of_member_name(const std::string& name) {
    std::string s = name;
    if (s.rfind("blobs/", 0) == 0) {
        s = s.substr(6);
        auto slash = s.find('/');
        if (slash == std::string::npos) return std::nullopt;
        std::string d = s.substr(0, slash) + ":" + s.substr(slash + 1);
        if (Digest::valid(d)) return Digest::parse(d);
        return std::nullopt;
    }
    auto dot = s.find('.');
    std::string hex = s.substr(0, dot);
    if (hex.find('/') == std::string::npos && oci::is_hex_identifier(hex)) return Digest::parse("sha256:" + hex);
    return std::nullopt;
}

} // namespace

std::string DockerArchive::read(const ArchiveMember& m, const std::string& name) const {
    if (m.size > (16u << 20)) throw_invalid("archive member " + quote(name) + " is too large");
    UniqueFd fd = open_path(file_, O_RDONLY | O_CLOEXEC);
    std::string out(m.size, '\0');
    size_t done = 0;
    while (done < m.size) {
        ssize_t n = ::pread(fd.get(), out.data() + done, m.size - done, static_cast<off_t>(m.offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("read", file_);
        }
        if (n == 0) throw_invalid("archive " + quote(file_) + ": member " + quote(name) + " is truncated");
        done += static_cast<size_t>(n);
    }
    return out;
}

DockerArchive DockerArchive::open(const std::string& file) {
    DockerArchive a;
    a.file_ = file;
    UniqueFd fd = open_path(file, O_RDONLY | O_CLOEXEC);
    a.members_ = index_tar(file, fd.get());
    auto member = [&](const std::string& name) -> const ArchiveMember& {
        auto it = a.members_.find(member_name(name));
        if (it == a.members_.end()) throw_invalid("archive " + quote(file) + " has no " + quote(name));
        return it->second;
    };
    if (!a.members_.count("manifest.json"))
        throw_invalid("archive " + quote(file) + " has no manifest.json (not a docker-archive)");
    Json manifest = parse_json(a.read(member("manifest.json"), "manifest.json"), file + ": manifest.json");
    if (!manifest.is_array() || manifest.empty())
        throw_invalid("archive " + quote(file) + ": manifest.json lists no image");
    for (const auto& item : manifest) {
        if (!item.is_object()) throw_invalid("archive " + quote(file) + ": manifest.json: an entry is not an object");
        ArchivedImage img;
        try {
            ObjectReader r(item, "manifest.json");
            r.required("Config", img.config_name);
            std::optional<std::vector<std::string>> tags;
            r.optional("RepoTags", tags);
            if (tags) img.repo_tags = *tags;
            std::vector<std::string> layers;
            r.required("Layers", layers);
            for (auto& l : layers) img.layers.push_back(ArchivedLayer{l, {}, {}, {}, {}});
        } catch (const Error& e) {
            throw e.wrap("archive " + quote(file));
        }
        img.config_bytes = a.read(member(img.config_name), img.config_name);
        img.config_digest = Digest::sha256_of(img.config_bytes);
        if (auto named = digest_of_member_name(member_name(img.config_name)))
            verify_digest("archive " + file + ": config " + img.config_name, *named, img.config_digest);
        img.config = oci::ImageConfig::parse(img.config_bytes, "config " + img.config_digest.str());
        if (img.layers.size() != img.config.diff_ids.size())
            throw_invalid("archive " + quote(file) + ": " + std::to_string(img.layers.size()) +
                          " layers but the config lists " + std::to_string(img.config.diff_ids.size()) +
                          " diff_ids");
        for (size_t i = 0; i < img.layers.size(); i++) {
            ArchivedLayer& l = img.layers[i];
            l.member = member(l.name);
            l.diff_id = img.config.diff_ids[i];
            l.named = digest_of_member_name(member_name(l.name));
            // The archive does not say how a layer is compressed: its first bytes do.
            unsigned char magic[4] = {};
            ssize_t got = ::pread(fd.get(), magic, l.member.size < 4 ? l.member.size : 4,
                                  static_cast<off_t>(l.member.offset));
            l.compression = sniff_compression(magic, got > 0 ? static_cast<size_t>(got) : 0);
        }
        a.images_.push_back(std::move(img));
    }
    // Docker 25+ puts an OCI layout beside manifest.json: its index names the manifests.
    if (a.members_.count("index.json")) {
        try {
            Json index = parse_json(a.read(a.members_["index.json"], "index.json"), "index.json");
            for (const auto& d : index.value("manifests", Json::array())) {
                Digest md = Digest::parse(d.value("digest", ""));
                std::string blob = "blobs/" + md.algorithm() + "/" + md.encoded();
                if (!a.members_.count(blob)) continue;
                std::string bytes = a.read(a.members_[blob], blob);
                if (Digest::sha256_of(bytes) != md) continue;
                Json m = parse_json(bytes, blob);
                if (!m.contains("config")) continue;
                for (auto& img : a.images_)
                    if (m["config"].value("digest", "") == img.config_digest.str()) img.manifest_digest = md;
            }
        } catch (const Error&) {
            // The index is a convenience: without it an image has no manifest digest.
        }
    }
    return a;
}

} // namespace ctk::image
