// COPY and ADD's source half (copy.hpp): the sources a COPY names, matched
// in the build context with .dockerignore's rules. No libarchive here: the
// builder in ctl and ctld links this part alone; copy.cpp (img-pack copy)
// does the copying.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "build/copy.hpp"
#include "build/dockerignore.hpp"
#include "build/shell_words.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"

namespace ctk::build {

namespace {

bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// filepath.Match on '/'-separated paths: the same number of components, each matched.
bool path_match(const std::string& pattern, const std::string& path) {
    auto pp = split(pattern, '/');
    auto sp = split(path, '/');
    if (pp.size() != sp.size()) return false;
    for (size_t i = 0; i < pp.size(); ++i)
        if (!shell_pattern_match(pp[i], sp[i])) return false;
    return true;
}

} // namespace

bool ignored_entry(const IgnoreMatcher* ignore, int dirfd, const std::string& name, const std::string& rel) {
    if (!ignore || !ignore->excluded(rel)) return false;
    if (!ignore->has_exclusions()) return true;
    struct stat st;
    return ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode);
}

std::vector<CopySource> match_sources(const std::string& from, const std::vector<std::string>& patterns,
                                      const IgnoreMatcher* ignore, bool add) {
    const char* name = add ? "ADD" : "COPY";
    UniqueFd srcfd = open_dir(from);
    std::vector<CopySource> sources;
    std::vector<std::string> all;
    bool listed = false;
    for (const auto& s : patterns) {
        if (add && (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0 || s.rfind("git@", 0) == 0))
            throw_invalid(std::string(name) + " failed: remote sources are not supported by ctk build: " + s);
        std::string c = clean_path(s);
        if (c == ".." || c.rfind("../", 0) == 0)
            throw_invalid(std::string(name) + " failed: forbidden path outside the build context: " + s + " ()");
        if (c == "." || c == "/") c = "";
        if (!c.empty() && c[0] == '/') c = c.substr(1);
        std::vector<std::string> matched;
        if (has_wildcard(c)) {
            if (!listed) {
                list_tree(srcfd.get(), "", all);
                listed = true;
            }
            for (const auto& p : all)
                if (path_match(c, p) && !(ignore && ignore->excluded(p))) matched.push_back(p);
        } else if (c.empty() || !(ignore && ignore->excluded(c))) {
            UniqueFd probe = try_open_in_root(srcfd.get(), c.empty() ? "/" : c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
            if (probe) matched.push_back(c);
        }
        if (matched.empty())
            throw_not_found(std::string(name) + " failed: file not found in build context or excluded by .dockerignore: stat " +
                            s + ": file does not exist");
        for (const auto& m : matched) {
            CopySource so;
            so.rel = m;
            struct stat stt;
            UniqueFd pf = open_in_root(srcfd.get(), m.empty() ? "/" : m, O_PATH | O_CLOEXEC);
            if (::fstat(pf.get(), &stt) < 0) throw_errno("stat", m);
            so.dir = S_ISDIR(stt.st_mode);
            if (add && S_ISREG(stt.st_mode)) so.archive = is_archive_file(from + "/" + m);
            sources.push_back(so);
        }
    }
    return sources;
}

void list_tree(int dirfd, const std::string& rel, std::vector<std::string>& out) {
    std::vector<std::string> names = entry_names(dirfd, rel.empty() ? "." : rel);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        std::string r = rel.empty() ? n : rel + "/" + n;
        out.push_back(r);
        UniqueFd s(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (s) list_tree(s.get(), r, out); // a directory (the open fails for anything else)
    }
}

bool is_archive_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    unsigned char b[512] = {};
    ssize_t n = ::pread(fd.get(), b, sizeof b, 0);
    if (n < 4) return false;
    if (b[0] == 0x1f && b[1] == 0x8b) return true;                        // gzip
    if (b[0] == 'B' && b[1] == 'Z' && b[2] == 'h') return true;            // bzip2
    if (b[0] == 0xfd && b[1] == '7' && b[2] == 'z' && b[3] == 'X') return true; // xz
    if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) return true; // zstd
    return n >= 262 && std::memcmp(b + 257, "ustar", 5) == 0;              // tar
}

} // namespace ctk::build
