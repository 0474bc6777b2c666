#include "image/tree_archive.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "image/archive_io.hpp"
#include "image/layer_writer.hpp"

namespace ctk::image {

namespace {

std::string without_trailing_slashes(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

void add_tree(LayerTarWriter& w, int dirfd, const std::string& name, const std::string& entry) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", entry);
    w.add(dirfd, name, entry, st);
    if (!S_ISDIR(st.st_mode)) return;
    UniqueFd d(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) throw_errno("open", entry);
    std::vector<std::string> names = entry_names(d.get(), entry);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) add_tree(w, d.get(), n, entry + "/" + n);
}

} // namespace

std::string archive_top_name(const std::string& path) {
    std::string p = without_trailing_slashes(path);
    auto slash = p.rfind('/');
    std::string last = slash == std::string::npos ? p : p.substr(slash + 1);
    return last.empty() ? "." : last;
}

uint64_t write_tree_tar(int rootfd, const std::string& path, const std::string& name, int out_fd) {
    std::string p = without_trailing_slashes(path.empty() ? "/" : path);
    auto slash = p.rfind('/');
    std::string parent = slash == std::string::npos || slash == 0 ? "/" : p.substr(0, slash);
    std::string last = slash == std::string::npos ? p : p.substr(slash + 1);
    if (last.empty()) last = ".";
    UniqueFd pfd = try_open_in_root(rootfd, parent, O_RDONLY | O_DIRECTORY);
    struct stat st;
    if (!pfd || ::fstatat(pfd.get(), last.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        throw_not_found("no such file or directory: " + path);
    LayerTarWriter w(out_fd);
    add_tree(w, pfd.get(), last, name.empty() ? "." : name);
    return w.finish().entries;
}

uint64_t write_tree_contents_tar(int rootfd, const std::string& path, int out_fd) {
    UniqueFd d = try_open_in_root(rootfd, path.empty() ? "/" : path, O_RDONLY | O_DIRECTORY);
    if (!d) throw_not_found("no such directory: " + path);
    std::vector<std::string> names = entry_names(d.get(), path);
    std::sort(names.begin(), names.end());
    LayerTarWriter w(out_fd);
    for (const auto& n : names) add_tree(w, d.get(), n, n);
    return w.finish().entries;
}

ExtractStats extract_tree_tar(int rootfd, const std::string& dir, int in_fd, const ExtractOptions& options) {
    UniqueFd d = try_open_in_root(rootfd, dir.empty() ? "/" : dir, O_RDONLY | O_DIRECTORY);
    if (!d) {
        if (errno == ENOTDIR) throw_invalid("extraction point " + quote(dir) + " is not a directory");
        throw_not_found("no such directory: " + dir);
    }
    ReadArchive in;
    archive_read_support_format_tar(in.a);
    archive_read_support_format_gnutar(in.a);
    support_compressions(in.a);
    if (archive_read_open_fd(in.a, in_fd, 1 << 16) != ARCHIVE_OK) archive_fail(in.a, "tar");
    return extract_archive(in.a, d.get(), "extract into " + quote(dir), options);
}

} // namespace ctk::image
