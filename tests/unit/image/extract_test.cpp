// Flat extraction of hand-built layers: entry types, metadata, whiteouts and
// the refusals that keep a layer inside its rootfs.
#include "image/extract.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "tar_builder.hpp"

using namespace ctk;
using namespace ctk::image;
using ctk::test::TarBuilder;

namespace {

class FlatExtract : public ::testing::Test {
protected:
    void SetUp() override {
        make_dirs(tmp_.path() + "/rootfs");
        root_ = open_dir(tmp_.path() + "/rootfs");
    }

    // Applies a layer; returns the error message, "" on success.
    std::string apply(const TarBuilder& tar, const std::string& what = "layer test") {
        std::string bytes = tar.str();
        UniqueFd fd = ctk::test::memfd_with(bytes);
        LayerStream stream({fd.get(), 0, bytes.size()}, oci::Compression::none, what);
        ExtractOptions o;
        o.preserve_owners = ::geteuid() == 0;
        try {
            extract_flat(stream, root_.get(), what, o);
            stream.finish();
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }

    std::string path(const std::string& p) const { return tmp_.path() + "/rootfs/" + p; }
    struct stat lstat_of(const std::string& p) const {
        struct stat st {};
        EXPECT_EQ(::lstat(path(p).c_str(), &st), 0) << p;
        return st;
    }
    bool exists(const std::string& p) const {
        struct stat st;
        return ::lstat(path(p).c_str(), &st) == 0;
    }
    std::string content(const std::string& p) const { return read_file(path(p)); }
    std::string target(const std::string& p) const {
        char buf[4096];
        ssize_t n = ::readlink(path(p).c_str(), buf, sizeof buf);
        return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
    }

    TempDir tmp_{"extract"};
    UniqueFd root_;
};

} // namespace

TEST_F(FlatExtract, EntryTypesAndMetadata) {
    TarBuilder t;
    t.dir("etc", {.mode = 0750, .mtime = 1111111111})
        .file("etc/hostname", "box\n", {.mode = 0640, .mtime = 1234567890})
        .file("bin/tool", "#!/bin/sh\n", {.mode = 04755})
        .file("bin/group-tool", "x", {.mode = 02711})
        .dir("tmp", {.mode = 01777})
        .symlink("etc/abs", "/nonexistent/file")
        .symlink("etc/rel", "../bin/tool")
        .hardlink("etc/hard", "etc/hostname")
        .fifo("run/fifo", {.mode = 0600})
        .file("./dot/slash", "ok")
        .file("/abs/name", "tar strips the slash");
    ASSERT_EQ(apply(t), "");
    EXPECT_EQ(content("etc/hostname"), "box\n");
    EXPECT_EQ(lstat_of("etc/hostname").st_mode & 07777, 0640u);
    EXPECT_EQ(lstat_of("etc/hostname").st_mtime, 1234567890);
    // a directory's mtime survives the files made in it afterwards
    EXPECT_EQ(lstat_of("etc").st_mtime, 1111111111);
    EXPECT_EQ(lstat_of("etc").st_mode & 07777, 0750u);
    EXPECT_EQ(lstat_of("bin/tool").st_mode & 07777, 04755u);
    EXPECT_EQ(lstat_of("bin/group-tool").st_mode & 07777, 02711u);
    EXPECT_EQ(lstat_of("tmp").st_mode & 07777, 01777u);
    EXPECT_EQ(target("etc/abs"), "/nonexistent/file");
    EXPECT_EQ(target("etc/rel"), "../bin/tool");
    EXPECT_EQ(lstat_of("etc/hard").st_ino, lstat_of("etc/hostname").st_ino);
    EXPECT_EQ(lstat_of("etc/hostname").st_nlink, 2u);
    EXPECT_TRUE(S_ISFIFO(lstat_of("run/fifo").st_mode));
    EXPECT_EQ(content("dot/slash"), "ok");
    EXPECT_EQ(content("abs/name"), "tar strips the slash");
    // implicit parents
    EXPECT_TRUE(S_ISDIR(lstat_of("bin").st_mode));
}

TEST_F(FlatExtract, OwnersWhenRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "chown needs root";
    TarBuilder t;
    t.dir("owned", {.mode = 0750, .uid = 1234, .gid = 5678})
        .file("owned/file", "x", {.mode = 04750, .uid = 1000, .gid = 1000})
        .symlink("owned/link", "file", {.mode = 0777, .uid = 42, .gid = 43})
        .chardev("dev/null", 1, 3, {.mode = 0666});
    ASSERT_EQ(apply(t), "");
    EXPECT_EQ(lstat_of("owned").st_uid, 1234u);
    EXPECT_EQ(lstat_of("owned").st_gid, 5678u);
    EXPECT_EQ(lstat_of("owned/file").st_uid, 1000u);
    // chown would have cleared setuid: the mode is set after it
    EXPECT_EQ(lstat_of("owned/file").st_mode & 07777, 04750u);
    EXPECT_EQ(lstat_of("owned/link").st_uid, 42u);
    struct stat dev = lstat_of("dev/null");
    EXPECT_TRUE(S_ISCHR(dev.st_mode));
    EXPECT_EQ(dev.st_rdev, makedev(1, 3));
}

TEST_F(FlatExtract, FileCapabilitiesSurviveTheOwnerChange) {
    if (::geteuid() != 0) GTEST_SKIP() << "security.capability needs CAP_SETFCAP";
    // vfs_cap_data revision 2, effective, permitted CAP_NET_RAW (13): what
    // `setcap cap_net_raw+ep` writes on ping.
    std::string cap(20, '\0');
    const unsigned char head[] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00};
    cap.replace(0, 8, reinterpret_cast<const char*>(head), 8);
    TarBuilder t;
    t.file("bin/ping", "ELF", {.mode = 0755, .uid = 0, .gid = 0, .xattrs = {{"security.capability", cap}}});
    ASSERT_EQ(apply(t), "");
    char v[64];
    ssize_t n = ::getxattr(path("bin/ping").c_str(), "security.capability", v, sizeof v);
    ASSERT_EQ(n, 20) << errno;
    EXPECT_EQ(std::string(v, 20), cap);
}

TEST_F(FlatExtract, LongAndUnicodeNamesAndXattrs) {
    std::string dir(80, 'd'), file(124, 'f');
    std::string name = "long/" + dir + "/" + file + ".txt";
    TarBuilder t;
    t.file(name, "long\n")
        .symlink("long/link", "/" + name)
        .file("unicode/h\xc3\xa9llo-w\xc3\xb6rld-\xe2\x9c\x93.txt", "utf-8\n")
        .file("xattr/file", "x", {.mode = 0644, .xattrs = {{"user.ctk.test", "value"}}});
    ASSERT_EQ(apply(t), "");
    EXPECT_EQ(content(name), "long\n");
    EXPECT_EQ(target("long/link"), "/" + name);
    EXPECT_EQ(content("unicode/h\xc3\xa9llo-w\xc3\xb6rld-\xe2\x9c\x93.txt"), "utf-8\n");
    char v[16] = {};
    ssize_t n = ::getxattr(path("xattr/file").c_str(), "user.ctk.test", v, sizeof v);
    if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "no user xattrs on this filesystem";
    EXPECT_EQ(std::string(v, static_cast<size_t>(std::max<ssize_t>(n, 0))), "value");
}

TEST_F(FlatExtract, WhiteoutsApplyToLowerLayers) {
    TarBuilder lower;
    lower.dir("data")
        .file("data/keep.txt", "keep")
        .file("data/deleted.txt", "gone")
        .dir("data/dir-to-delete")
        .file("data/dir-to-delete/inner", "gone")
        .dir("opaque")
        .file("opaque/old", "old")
        .dir("opaque/sub")
        .file("opaque/sub/old2", "old");
    ASSERT_EQ(apply(lower), "");
    TarBuilder upper;
    upper.whiteout("data", "deleted.txt")
        .whiteout("data", "dir-to-delete")
        .whiteout("data", "never-existed")
        .whiteout("nowhere", "x")
        .file("opaque/before-marker", "same layer, listed first")
        .opaque("opaque")
        .file("opaque/new", "new");
    ASSERT_EQ(apply(upper), "");
    EXPECT_EQ(content("data/keep.txt"), "keep");
    EXPECT_FALSE(exists("data/deleted.txt"));
    EXPECT_FALSE(exists("data/dir-to-delete"));
    EXPECT_FALSE(exists("data/.wh.deleted.txt"));
    EXPECT_FALSE(exists("nowhere"));
    EXPECT_FALSE(exists("opaque/old"));
    EXPECT_FALSE(exists("opaque/sub"));
    EXPECT_FALSE(exists("opaque/.wh..wh..opq"));
    EXPECT_EQ(content("opaque/new"), "new");
    EXPECT_EQ(content("opaque/before-marker"), "same layer, listed first");
}

TEST_F(FlatExtract, WhiteoutThenRecreateInOneLayer) {
    ASSERT_EQ(apply(TarBuilder().dir("d").file("d/old", "old")), "");
    ASSERT_EQ(apply(TarBuilder().whiteout("", "d").dir("d").file("d/new", "new")), "");
    EXPECT_FALSE(exists("d/old"));
    EXPECT_EQ(content("d/new"), "new");
}

TEST_F(FlatExtract, TypeChanges) {
    TarBuilder lower;
    lower.dir("r/dir-to-file")
        .file("r/dir-to-file/inner", "x")
        .file("r/file-to-dir", "x")
        .file("r/file-to-symlink", "x")
        .symlink("r/symlink-to-dir", "/somewhere")
        .file("r/target", "t");
    ASSERT_EQ(apply(lower), "");
    TarBuilder upper;
    upper.file("r/dir-to-file", "now a file")
        .dir("r/file-to-dir")
        .file("r/file-to-dir/inner", "in")
        .symlink("r/file-to-symlink", "target")
        .dir("r/symlink-to-dir", {.mode = 0700});
    ASSERT_EQ(apply(upper), "");
    EXPECT_EQ(content("r/dir-to-file"), "now a file");
    EXPECT_EQ(content("r/file-to-dir/inner"), "in");
    EXPECT_EQ(target("r/file-to-symlink"), "target");
    EXPECT_TRUE(S_ISDIR(lstat_of("r/symlink-to-dir").st_mode));
    // the same name twice in one layer: the last entry wins
    ASSERT_EQ(apply(TarBuilder().file("twice", "1").file("twice", "2")), "");
    EXPECT_EQ(content("twice"), "2");
    // a directory entry over an existing directory changes its attributes only
    ASSERT_EQ(apply(TarBuilder().dir("r", {.mode = 0711})), "");
    EXPECT_EQ(lstat_of("r").st_mode & 07777, 0711u);
    EXPECT_EQ(content("r/target"), "t");
}

TEST_F(FlatExtract, HardlinkAcrossLayers) {
    ASSERT_EQ(apply(TarBuilder().file("links/target", "t").hardlink("links/same-layer", "links/target")), "");
    ASSERT_EQ(apply(TarBuilder().hardlink("links/cross", "links/target").hardlink("links/cross", "links/target")),
              "");
    EXPECT_EQ(lstat_of("links/cross").st_ino, lstat_of("links/target").st_ino);
    EXPECT_EQ(lstat_of("links/target").st_nlink, 3u);
}

TEST_F(FlatExtract, RefusesTraversal) {
    make_dirs(tmp_.path() + "/outside");
    write_file_atomic(tmp_.path() + "/victim", "victim");
    EXPECT_EQ(apply(TarBuilder().file("../escape", "x"), "layer sha256:ab"),
              "layer sha256:ab: entry \"../escape\" escapes the rootfs");
    EXPECT_EQ(apply(TarBuilder().file("ok", "x").file("a/../../escape", "x")),
              "layer test: entry \"a/../../escape\" escapes the rootfs");
    EXPECT_EQ(apply(TarBuilder().file("a/../b", "x")),
              "layer test: entry \"a/../b\": a \"..\" component is not allowed");
    EXPECT_EQ(apply(TarBuilder().whiteout("..", "victim")),
              "layer test: entry \"../.wh.victim\" escapes the rootfs");
    EXPECT_EQ(read_file(tmp_.path() + "/victim"), "victim");
    EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/escape"));
}

TEST_F(FlatExtract, RefusesHardlinkEscapes) {
    std::string e = apply(TarBuilder().hardlink("shadow", "../../../../etc/shadow"));
    EXPECT_EQ(e, "layer test: entry \"shadow\": hardlink target \"../../../../etc/shadow\" escapes the rootfs");
    // absolute targets are resolved in the rootfs, where there is no /etc/passwd
    e = apply(TarBuilder().hardlink("passwd", "/etc/passwd"));
    EXPECT_EQ(e, "layer test: entry \"passwd\": hardlink target \"/etc/passwd\" does not exist in the rootfs");
    EXPECT_FALSE(exists("passwd"));
    e = apply(TarBuilder().dir("d").hardlink("d-link", "d"));
    EXPECT_NE(e.find("is a directory"), std::string::npos) << e;
}

TEST_F(FlatExtract, SymlinksResolveInsideTheRootfs) {
    std::string outside = tmp_.path() + "/outside";
    make_dirs(outside);
    // absolute and climbing symlinks, written through in a later entry and a later layer
    ASSERT_EQ(apply(TarBuilder()
                        .dir("outside")
                        .symlink("abs", tmp_.path() + "/outside")
                        .symlink("up", "../../../../../../outside")
                        .file("up/x", "through a climbing link")),
              "");
    ASSERT_EQ(apply(TarBuilder().file("up/y", "next layer")), "");
    EXPECT_EQ(content("outside/x"), "through a climbing link");
    EXPECT_EQ(content("outside/y"), "next layer");
    EXPECT_FALSE(std::filesystem::exists(outside + "/x"));
    EXPECT_FALSE(std::filesystem::exists(outside + "/y"));
    // "abs" points to a path that does not exist inside the rootfs: refused, not followed out
    std::string e = apply(TarBuilder().file("abs/z", "x"));
    EXPECT_NE(e.find("entry \"abs/z\": parent \"abs\" is a symbolic link to nothing"), std::string::npos) << e;
    EXPECT_FALSE(std::filesystem::exists(outside + "/z"));
    // hardlinks through symlinks stay inside too
    ASSERT_EQ(apply(TarBuilder().hardlink("hx", "up/x")), "");
    EXPECT_EQ(lstat_of("hx").st_ino, lstat_of("outside/x").st_ino);
}

TEST_F(FlatExtract, BrokenTars) {
    std::string e = apply(TarBuilder().file("a", "x").entry("b", '0', std::string(2000, 'y'), "", {}, 0, 0));
    EXPECT_EQ(e, "");
    // truncated in the middle of a file's data
    std::string full = TarBuilder().file("big", std::string(100000, 'z')).str();
    UniqueFd fd = ctk::test::memfd_with(full.substr(0, 50000));
    LayerStream s({fd.get(), 0, 50000}, oci::Compression::none, "layer cut");
    try {
        extract_flat(s, root_.get(), "layer cut");
        FAIL() << "truncated tar accepted";
    } catch (const Error& err) {
        EXPECT_NE(std::string(err.what()).find("layer cut: entry \"big\": tar: "), std::string::npos) << err.what();
        EXPECT_EQ(err.kind(), ErrorKind::invalid);
    }
    // garbage instead of a tar header
    std::string junk(4096, 'j');
    UniqueFd jfd = ctk::test::memfd_with(junk);
    LayerStream js({jfd.get(), 0, junk.size()}, oci::Compression::none, "layer junk");
    EXPECT_THROW(extract_flat(js, root_.get(), "layer junk"), Error);
}

TEST_F(FlatExtract, EmptyLayers) {
    // A zero-length stream and an end-of-archive only tar both add nothing.
    UniqueFd fd = ctk::test::memfd_with("");
    LayerStream s({fd.get(), 0, 0}, oci::Compression::none, "layer empty");
    EXPECT_EQ(extract_flat(s, root_.get(), "layer empty").entries, 0u);
    EXPECT_EQ(apply(TarBuilder()), "");
}
