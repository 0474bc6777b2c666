// docker cp: files between the host and a container's root filesystem, as a
// plan of one pipe, `img-pack archive ROOT PATH | img-pack extract ROOT DIR`
// (what docker moves through GET and PUT /containers/{id}/archive). The
// container side is resolved inside its rootfs (openat2 RESOLVE_IN_ROOT) both
// here and by img-pack, so a symlink in the container cannot point the copy
// at the host; the host side is resolved inside "/".
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "engine/engine.hpp"
#include "engine/plan.hpp"
#include "engine/tools.hpp"

namespace ctk::engine {

namespace {

struct CopySide {
    bool in_container = false;
    std::string container; // as the user named it
    std::string root = "/";
    std::string path;      // absolute inside root, as given (a trailing "/" or "/." kept)
};

std::string trimmed(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

std::string base_name(const std::string& p) {
    std::string t = trimmed(p);
    return t.substr(t.rfind('/') + 1);
}

std::string parent_dir(const std::string& p) {
    std::string t = trimmed(p);
    auto slash = t.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : t.substr(0, slash);
}

// What is at the side's path (a final symlink followed inside the root when
// `follow`); nullopt when nothing is.
std::optional<struct stat> stat_side(const CopySide& s, const std::string& path, bool follow) {
    UniqueFd root = open_dir(s.root);
    UniqueFd fd = follow ? try_open_in_root(root.get(), path, O_PATH)
                         : try_open_in_root(root.get(), parent_dir(path), O_PATH | O_DIRECTORY);
    struct stat st;
    if (!fd) return std::nullopt;
    if (follow ? ::fstat(fd.get(), &st) < 0
               : ::fstatat(fd.get(), trimmed(path) == "/" ? "." : base_name(path).c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return std::nullopt;
    return st;
}

} // namespace

void Engine::copy(const std::string& src_in, const std::string& dst_in) {
    auto side_of = [&](const std::string& s) {
        CopySide side;
        auto colon = s.find(':');
        if (!s.empty() && s[0] != '/' && s[0] != '.' && colon != std::string::npos && colon != 0) {
            ContainerRecord r = containers_.lookup(s.substr(0, colon));
            side.in_container = true;
            side.container = s.substr(0, colon);
            side.root = r.ctk().value("Bundle", containers_.dir(r.id) + "/bundle") + "/rootfs";
            side.path = s.substr(colon + 1);
            if (side.path.empty() || side.path[0] != '/') side.path = "/" + side.path;
        } else {
            side.path = s;
            if (s.empty() || s[0] != '/') {
                char cwd[4096];
                if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
                side.path = std::string(cwd) + "/" + s;
            }
        }
        return side;
    };
    CopySide src = side_of(src_in), dst = side_of(dst_in);
    if (src.in_container == dst.in_container)
        throw Error("copying between containers or between host paths is not supported: one side must be CONTAINER:PATH",
                    ErrorKind::usage);
    bool contents_only = src.path.size() >= 2 && src.path.substr(src.path.size() - 2) == "/.";
    auto sst = stat_side(src, contents_only ? src.path.substr(0, src.path.size() - 2) : src.path, false);
    if (!sst) {
        if (src.in_container) throw_not_found("Could not find the file " + src.path + " in container " + src.container);
        throw_not_found("no such file or directory: " + src_in);
    }
    bool src_dir = S_ISDIR(sst->st_mode);
    auto dstat = stat_side(dst, dst.path, true);
    // Docker's rules: into an existing directory under the source's name (its
    // contents for SRC/.), else as DEST itself in DEST's parent.
    std::string into, name;
    if (dstat && S_ISDIR(dstat->st_mode)) {
        into = dst.path;
        name = contents_only && src_dir ? "." : base_name(src.path);
    } else {
        if (dstat && src_dir) throw_invalid("cannot copy directory " + quote(src_in) + " to file " + quote(dst_in));
        if (!dstat && dst.path.back() == '/' && !src_dir)
            throw_not_found("destination directory " + quote(dst_in) + " does not exist");
        into = parent_dir(dst.path);
        name = base_name(dst.path);
    }
    tools::PackExtract x;
    x.root = dst.root;
    x.dir = into;
    x.devices = dst.in_container; // a container's device node never lands on the host
    x.no_overwrite_dir_non_dir = true;
    x.same_owner = false; // docker cp: the copy belongs to the caller (root in the container)
    Plan p = new_plan("ctl cp " + src_in + " " + dst_in);
    p.add(pipe_step(tools::pack_archive(src.root, contents_only ? src.path : trimmed(src.path), name),
                    tools::pack_extract(x),
                    "the copy as a tar: " + quote(src.path) + (src.in_container ? " in the container" : "") +
                        " into " + quote(into) + (dst.in_container ? " in the container" : "")));
    execute(p);
}

} // namespace ctk::engine
