// The same image unpacked by umoci and by img-unpack gives the same tree:
// paths, types, modes, owners, link counts, link targets, content hashes.
// And the Debian image meets its expectation list in both modes.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "core/digest.hpp"
#include "unpack_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

std::string hash_file(int dirfd, const char* name) {
    UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return "unreadable";
    Hasher h;
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) h.update(buf, static_cast<size_t>(n));
    return h.digest().str();
}

// path -> "type mode uid:gid nlink target-or-hash"
void walk(int dirfd, const std::string& prefix, std::map<std::string, std::string>& out) {
    int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* d = ::fdopendir(dup);
    ASSERT_NE(d, nullptr);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : names) {
        struct stat st;
        ASSERT_EQ(::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW), 0);
        std::string path = prefix + "/" + n;
        char mode[16];
        std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
        std::string desc = std::string(mode) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
        if (S_ISDIR(st.st_mode)) {
            out[path] = "dir " + desc;
            UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            ASSERT_TRUE(sub);
            walk(sub.get(), path, out);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t len = ::readlinkat(dirfd, n.c_str(), target, sizeof target);
            out[path] = "symlink " + desc + " -> " + std::string(target, static_cast<size_t>(std::max<ssize_t>(len, 0)));
        } else if (S_ISREG(st.st_mode)) {
            out[path] = "file " + desc + " nlink=" + std::to_string(st.st_nlink) + " " + hash_file(dirfd, n.c_str());
        } else {
            out[path] = std::string(S_ISFIFO(st.st_mode) ? "fifo " : "node ") + desc + " rdev=" +
                        std::to_string(st.st_rdev);
        }
    }
}

std::map<std::string, std::string> tree(const std::string& root) {
    std::map<std::string, std::string> out;
    UniqueFd fd = open_dir(root);
    walk(fd.get(), "", out);
    return out;
}

void expect_same_tree(const std::string& theirs, const std::string& ours) {
    auto a = tree(theirs), b = tree(ours);
    int shown = 0;
    for (const auto& [path, desc] : a) {
        auto it = b.find(path);
        if (it == b.end()) {
            ADD_FAILURE() << "only in umoci's: " << path << " " << desc;
        } else if (it->second != desc) {
            ADD_FAILURE() << path << ": umoci " << desc << ", img-unpack " << it->second;
        } else {
            continue;
        }
        if (++shown > 20) return;
    }
    for (const auto& [path, desc] : b)
        if (!a.count(path) && ++shown <= 20) ADD_FAILURE() << "only in img-unpack's: " << path << " " << desc;
    EXPECT_EQ(a.size(), b.size());
}

} // namespace

class Differential : public UnpackTest {
protected:
    void compare(const std::string& layout, const std::string& tag) {
        ASSERT_TRUE(have_program("umoci")) << "umoci is a declared peer";
        std::string theirs = tmp() + "/umoci-" + layout, ours = tmp() + "/ours-" + layout;
        ToolResult r = run_command({"umoci", "unpack", "--image", image(layout, tag), theirs});
        ASSERT_EQ(r.status, 0) << r;
        unpack_ok({"--image", image(layout, tag)}, ours);
        expect_same_tree(theirs + "/rootfs", ours + "/rootfs");
    }
};

TEST_F(Differential, LayeredLikeUmoci) { compare("layered", "latest"); }

TEST_F(Differential, DebianLikeUmociAndExpectedInBothModes) {
    compare("debian", "bookworm");
    check_rootfs(tmp() + "/ours-debian/rootfs", "debian");
    std::string o = tmp() + "/overlay-debian";
    unpack_ok({"--mode", "overlay", "--image", image("debian", "bookworm")}, o);
    check_rootfs(o + "/rootfs", "debian");
}
