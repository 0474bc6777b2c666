// Hand-built layer tars for tests: ustar headers, PAX records for long
// names, non-ASCII names and xattrs, and gzip/zstd compression. Written here
// rather than with libarchive so that the tests do not check libarchive
// against itself, and so that they can build what no writer would (names
// with "..", whiteouts of the parent, hardlinks out of the tree).
#pragma once

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include "core/fd.hpp"

namespace ctk::test {

struct TarMeta {
    unsigned mode = 0644;
    unsigned uid = 0, gid = 0;
    int64_t mtime = 1700000000;
    std::map<std::string, std::string> xattrs;
};

class TarBuilder {
public:
    using Meta = TarMeta;

    TarBuilder& file(const std::string& name, const std::string& data, Meta m = {}) {
        return entry(name, '0', data, "", m, 0, 0);
    }
    TarBuilder& dir(const std::string& name, Meta m = {.mode = 0755}) {
        return entry(name, '5', "", "", m, 0, 0);
    }
    TarBuilder& symlink(const std::string& name, const std::string& target, Meta m = {.mode = 0777}) {
        return entry(name, '2', "", target, m, 0, 0);
    }
    TarBuilder& hardlink(const std::string& name, const std::string& target, Meta m = {}) {
        return entry(name, '1', "", target, m, 0, 0);
    }
    TarBuilder& fifo(const std::string& name, Meta m = {}) { return entry(name, '6', "", "", m, 0, 0); }
    TarBuilder& chardev(const std::string& name, unsigned major, unsigned minor, Meta m = {}) {
        return entry(name, '3', "", "", m, major, minor);
    }
    // OCI whiteouts are empty regular files.
    TarBuilder& whiteout(const std::string& dir, const std::string& name) {
        return file((dir.empty() ? "" : dir + "/") + ".wh." + name, "");
    }
    TarBuilder& opaque(const std::string& dir) { return file(dir + "/.wh..wh..opq", ""); }

    // The archive with its two zero end blocks.
    std::string str() const { return out_ + std::string(1024, '\0'); }

    TarBuilder& entry(const std::string& name, char type, const std::string& data, const std::string& link,
                      const Meta& m, unsigned major, unsigned minor) {
        std::string pax;
        auto record = [&](const std::string& key, const std::string& value) {
            std::string body = " " + key + "=" + value + "\n";
            size_t len = body.size();
            size_t digits = std::to_string(len).size();
            while (std::to_string(len + digits).size() != digits) digits++;
            pax += std::to_string(len + digits) + body;
        };
        bool ascii = true;
        for (unsigned char c : name) ascii = ascii && c < 0x80;
        if (name.size() > 99 || !ascii) record("path", name);
        if (link.size() > 99) record("linkpath", link);
        for (const auto& [k, v] : m.xattrs) record("SCHILY.xattr." + k, v);
        if (!pax.empty()) header("PaxHeaders/x", 'x', pax.size(), "", {.mode = 0644}, 0, 0, pax);
        header(name.size() > 99 || !ascii ? "long" : name, type, data.size(),
               link.size() > 99 ? "long" : link, m, major, minor, data);
        return *this;
    }

private:
    // width - 1 octal digits and a NUL, as ustar wants them.
    static void octal(char* field, size_t width, uint64_t v) {
        for (size_t i = width - 1; i-- > 0; v >>= 3) field[i] = static_cast<char>('0' + (v & 7));
        field[width - 1] = '\0';
    }

    void header(const std::string& name, char type, size_t size, const std::string& link, const Meta& m,
                unsigned major, unsigned minor, const std::string& data) {
        char h[512] = {};
        std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
        octal(h + 100, 8, m.mode);
        octal(h + 108, 8, m.uid);
        octal(h + 116, 8, m.gid);
        octal(h + 124, 12, size);
        octal(h + 136, 12, static_cast<uint64_t>(m.mtime));
        h[156] = type;
        std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
        std::memcpy(h + 257, "ustar", 6);
        std::memcpy(h + 263, "00", 2);
        octal(h + 329, 8, major);
        octal(h + 337, 8, minor);
        std::memset(h + 148, ' ', 8);
        unsigned sum = 0;
        for (unsigned char c : h) sum += c;
        octal(h + 148, 7, sum);
        h[155] = ' ';
        out_.append(h, 512);
        out_ += data;
        out_.append((512 - data.size() % 512) % 512, '\0');
    }

    std::string out_;
};

inline std::string gzip(const std::string& data, int level = 6) {
    z_stream z{};
    if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&z, data.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

inline std::string zstd(const std::string& data) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    if (ZSTD_isError(n)) throw std::runtime_error("zstd");
    out.resize(n);
    return out;
}

// The bytes in an anonymous file, for a BlobRange.
inline UniqueFd memfd_with(const std::string& data) {
    UniqueFd fd(::memfd_create("blob", MFD_CLOEXEC));
    if (!fd || ::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size()))
        throw std::runtime_error("memfd");
    return fd;
}

} // namespace ctk::test
