// Overlay extraction: each layer into its own diff directory, with overlay
// whiteouts, opaque directories, copy-up of parents and paths resolved
// through the layers below. Overlay whiteouts are character devices and the
// opaque marker a trusted.* xattr: both need root.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "image/extract.hpp"
#include "image/union_view.hpp"
#include "tar_builder.hpp"

using namespace ctk;
using namespace ctk::image;
using ctk::test::TarBuilder;

namespace {

class OverlayExtract : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "overlay whiteouts (mknod) and trusted xattrs need root";
    }

    // Unpacks `tar` as the next layer; returns "" or the error.
    std::string add_layer(const TarBuilder& tar) {
        std::string dir = tmp_.path() + "/l" + std::to_string(layers_.size());
        make_dirs(dir);
        UniqueFd fd = open_dir(dir);
        std::vector<int> lowers;
        for (auto it = fds_.rbegin(); it != fds_.rend(); ++it) lowers.push_back(it->get());
        std::string bytes = tar.str();
        UniqueFd blob = ctk::test::memfd_with(bytes);
        LayerStream stream({blob.get(), 0, bytes.size()}, oci::Compression::none, "layer test");
        layers_.push_back(dir);
        fds_.push_back(std::move(fd));
        try {
            extract_overlay(stream, fds_.back().get(), lowers, "layer test");
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }
    std::string in(size_t layer, const std::string& p) const { return layers_[layer] + "/" + p; }
    bool exists(size_t layer, const std::string& p) const {
        struct stat st;
        return ::lstat(in(layer, p).c_str(), &st) == 0;
    }
    struct stat lstat_of(size_t layer, const std::string& p) const {
        struct stat st {};
        EXPECT_EQ(::lstat(in(layer, p).c_str(), &st), 0) << in(layer, p);
        return st;
    }
    bool is_whiteout(size_t layer, const std::string& p) const {
        struct stat st;
        return ::lstat(in(layer, p).c_str(), &st) == 0 && is_overlay_whiteout(st);
    }
    bool is_opaque(size_t layer, const std::string& p) const {
        char v[4];
        return ::lgetxattr(in(layer, p).c_str(), overlay_opaque_xattr, v, sizeof v) == 1 && v[0] == 'y';
    }

    TempDir tmp_{"overlay-extract"};
    std::vector<std::string> layers_;
    std::vector<UniqueFd> fds_;
};

} // namespace

TEST_F(OverlayExtract, WhiteoutsBecomeOverlayWhiteouts) {
    ASSERT_EQ(add_layer(TarBuilder()
                            .dir("data", {.mode = 0751, .uid = 7, .gid = 8})
                            .file("data/deleted", "x")
                            .dir("data/gone")
                            .file("data/gone/inner", "x")
                            .dir("opaque")
                            .file("opaque/old", "x")
                            // the first layer has nothing below: its whiteouts are dropped
                            .whiteout("", "nothing")),
              "");
    EXPECT_FALSE(exists(0, ".wh.nothing"));
    EXPECT_FALSE(exists(0, "nothing"));
    ASSERT_EQ(add_layer(TarBuilder()
                            .whiteout("data", "deleted")
                            .whiteout("data", "gone")
                            .dir("opaque")
                            .opaque("opaque")
                            .file("opaque/new", "new")),
              "");
    EXPECT_TRUE(is_whiteout(1, "data/deleted"));
    EXPECT_TRUE(is_whiteout(1, "data/gone"));
    EXPECT_FALSE(exists(1, "data/.wh.deleted"));
    // "data" was copied up for the whiteouts, with the lower directory's attributes
    EXPECT_EQ(lstat_of(1, "data").st_mode & 07777, 0751u);
    EXPECT_EQ(lstat_of(1, "data").st_uid, 7u);
    EXPECT_FALSE(is_opaque(1, "data"));
    EXPECT_TRUE(is_opaque(1, "opaque"));
    EXPECT_FALSE(exists(1, "opaque/old"));
    EXPECT_TRUE(exists(1, "opaque/new"));
}

TEST_F(OverlayExtract, PathsResolveThroughLowerLayers) {
    // usr-merge: bin is a symlink in the base layer
    ASSERT_EQ(add_layer(TarBuilder()
                            .dir("usr")
                            .dir("usr/bin", {.mode = 0711})
                            .symlink("bin", "usr/bin")
                            .symlink("abs", "/usr")
                            .file("usr/bin/sh", "sh")),
              "");
    ASSERT_EQ(add_layer(TarBuilder().file("bin/tool", "tool").file("abs/bin/other", "o")), "");
    EXPECT_FALSE(exists(1, "bin"));
    EXPECT_FALSE(exists(1, "abs"));
    EXPECT_TRUE(exists(1, "usr/bin/tool"));
    EXPECT_TRUE(exists(1, "usr/bin/other"));
    EXPECT_EQ(lstat_of(1, "usr/bin").st_mode & 07777, 0711u);
    // a dangling symlink on the way is refused, as in flat mode
    std::string e = add_layer(TarBuilder().symlink("nowhere", "/missing").file("nowhere/x", "x"));
    EXPECT_NE(e.find("entry \"nowhere/x\""), std::string::npos) << e;
}

TEST_F(OverlayExtract, HardlinkToALowerLayer) {
    ASSERT_EQ(add_layer(TarBuilder().file("links/target", "t").hardlink("links/same", "links/target")), "");
    ASSERT_EQ(add_layer(TarBuilder().dir("links").hardlink("links/cross", "links/target")), "");
    EXPECT_EQ(lstat_of(1, "links/cross").st_ino, lstat_of(0, "links/target").st_ino);
    EXPECT_EQ(lstat_of(0, "links/target").st_nlink, 3u);
    // a whited-out file is no target any more
    ASSERT_EQ(add_layer(TarBuilder().whiteout("links", "target")), "");
    std::string e = add_layer(TarBuilder().hardlink("again", "links/target"));
    EXPECT_NE(e.find("does not exist in the rootfs"), std::string::npos) << e;
}

TEST_F(OverlayExtract, RecreatedDirectoryIsOpaque) {
    ASSERT_EQ(add_layer(TarBuilder().dir("d").file("d/old", "old")), "");
    ASSERT_EQ(add_layer(TarBuilder().whiteout("", "d").dir("d").file("d/new", "new")), "");
    EXPECT_TRUE(is_opaque(1, "d"));
    EXPECT_TRUE(exists(1, "d/new"));
    // a new file below a whited-out directory, without a directory entry
    ASSERT_EQ(add_layer(TarBuilder().whiteout("", "d").file("d/newer", "x")), "");
    EXPECT_TRUE(is_opaque(2, "d"));
}

TEST_F(OverlayExtract, RefusesOverlayXattrsAndZeroDevices) {
    std::string e = add_layer(
        TarBuilder().file("f", "x", {.mode = 0644, .xattrs = {{"trusted.overlay.redirect", "/etc"}}}));
    EXPECT_NE(e.find("reserved for overlayfs"), std::string::npos) << e;
    e = add_layer(TarBuilder().chardev("fake-whiteout", 0, 0));
    EXPECT_NE(e.find("0/0 character device"), std::string::npos) << e;
}
