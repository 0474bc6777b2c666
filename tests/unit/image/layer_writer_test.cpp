// Layers written from hand-made trees: what the tar holds (names, types,
// modes, owners, mtimes, links, xattrs, whiteouts) and its digests. That
// img-unpack and umoci unpack such layers to the same tree is checked in
// tests/integration/build.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <zlib.h>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <map>

#include "core/digest.hpp"
#include "core/fs.hpp"
#include "image/layer_writer.hpp"
#include "oci/media_types.hpp"

using namespace ctk;
using namespace ctk::image;

namespace {

struct Entry {
    char type = '0'; // '0' file, '5' dir, '2' symlink, '1' hardlink, '6' fifo, '3' char
    unsigned mode = 0;
    unsigned uid = 0, gid = 0;
    int64_t mtime = 0;
    std::string data, link;
    std::map<std::string, std::string> xattrs;
};

std::map<std::string, Entry> read_layer(const oci::Layout& l, const WrittenLayer& w, std::vector<std::string>* order = nullptr) {
    std::map<std::string, Entry> out;
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    EXPECT_EQ(archive_read_open_filename(a, l.blob_path(w.descriptor.digest).c_str(), 65536), ARCHIVE_OK);
    struct archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        Entry x;
        std::string name = archive_entry_pathname(e);
        if (archive_entry_hardlink(e)) {
            x.type = '1';
            x.link = archive_entry_hardlink(e);
        } else {
            switch (archive_entry_filetype(e)) {
            case AE_IFDIR: x.type = '5'; break;
            case AE_IFLNK: x.type = '2'; x.link = archive_entry_symlink(e); break;
            case AE_IFIFO: x.type = '6'; break;
            case AE_IFCHR: x.type = '3'; break;
            default: x.type = '0';
            }
        }
        x.mode = archive_entry_perm(e);
        x.uid = static_cast<unsigned>(archive_entry_uid(e));
        x.gid = static_cast<unsigned>(archive_entry_gid(e));
        x.mtime = archive_entry_mtime(e);
        const char* k;
        const void* v;
        size_t n;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &k, &v, &n) == ARCHIVE_OK) x.xattrs[k] = std::string(static_cast<const char*>(v), n);
        char buf[4096];
        la_ssize_t r;
        while ((r = archive_read_data(a, buf, sizeof buf)) > 0) x.data.append(buf, static_cast<size_t>(r));
        if (order) order->push_back(name);
        out[name] = x;
    }
    archive_read_free(a);
    return out;
}

void put(const std::string& path, const std::string& data, mode_t mode = 0644, int64_t mtime = 1600000000) {
    write_file_atomic(path, data, mode);
    ::chmod(path.c_str(), mode);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

void set_mtime(const std::string& path, int64_t mtime) {
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << path;
}

std::string gunzip(const std::string& in) {
    z_stream z{};
    EXPECT_EQ(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    std::string out;
    char buf[65536];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    int r;
    do {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        r = inflate(&z, Z_NO_FLUSH);
        EXPECT_TRUE(r == Z_OK || r == Z_STREAM_END) << r;
        out.append(buf, sizeof buf - z.avail_out);
    } while (r == Z_OK);
    inflateEnd(&z);
    return out;
}

size_t blob_count(const std::string& layout) {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(layout + "/blobs/sha256")) (void)e, n++;
    return n;
}

class LayerWriterTest : public ::testing::Test {
protected:
    TempDir tmp_{"layer-writer"};
    std::string dir(const std::string& sub) {
        std::string p = tmp_.path() + "/" + sub;
        make_dirs(p);
        return p;
    }
    oci::Layout layout() { return oci::Layout::create(tmp_.path() + "/layout"); }
};

} // namespace

TEST_F(LayerWriterTest, UpperTreeEntriesAndDigests) {
    std::string up = dir("upper");
    make_dirs(up + "/etc/app");
    put(up + "/etc/app/conf", "key=value\n", 0640, 1600000001);
    put(up + "/run.sh", "#!/bin/sh\n", 04755, 1600000002);
    ASSERT_EQ(::symlink("etc/app/conf", (up + "/link").c_str()), 0);
    ASSERT_EQ(::link((up + "/etc/app/conf").c_str(), (up + "/hard").c_str()), 0);
    ASSERT_EQ(::mkfifo((up + "/fifo").c_str(), 0600), 0);
    ASSERT_EQ(::lsetxattr((up + "/run.sh").c_str(), "user.note", "hi", 2, 0), 0);
    ::chmod((up + "/etc").c_str(), 0750);
    set_mtime(up + "/etc", 1600000003);

    auto l = layout();
    WrittenLayer w = write_layer_from_upper(l, up);
    EXPECT_EQ(w.descriptor.media_type, oci::media::oci_layer_gzip);
    EXPECT_EQ(w.entries, 7u);
    EXPECT_EQ(w.content_size, 10u + 10u);
    // the blob digest is of the stored bytes, the DiffID of the tar inside
    std::string blob = read_file(l.blob_path(w.descriptor.digest));
    EXPECT_EQ(Digest::sha256_of(blob), w.descriptor.digest);
    EXPECT_EQ(static_cast<int64_t>(blob.size()), w.descriptor.size);
    std::string tar = gunzip(blob);
    EXPECT_EQ(Digest::sha256_of(tar), w.diff_id);
    EXPECT_EQ(tar.size(), w.tar_size);
    EXPECT_EQ(tar.size() % 512, 0u);
    EXPECT_EQ(tar.substr(tar.size() - 1024), std::string(1024, '\0')); // two zero blocks end it

    std::vector<std::string> order;
    auto t = read_layer(l, w, &order);
    EXPECT_EQ(order, (std::vector<std::string>{"etc/", "etc/app/", "etc/app/conf", "fifo", "hard", "link", "run.sh"}));
    EXPECT_EQ(t["etc/"].type, '5');
    EXPECT_EQ(t["etc/"].mode, 0750u);
    EXPECT_EQ(t["etc/"].mtime, 1600000003);
    EXPECT_EQ(t["etc/app/conf"].data, "key=value\n");
    EXPECT_EQ(t["etc/app/conf"].mode, 0640u);
    EXPECT_EQ(t["hard"].type, '1');
    EXPECT_EQ(t["hard"].link, "etc/app/conf");
    EXPECT_EQ(t["link"].type, '2');
    EXPECT_EQ(t["link"].link, "etc/app/conf");
    EXPECT_EQ(t["fifo"].type, '6');
    EXPECT_EQ(t["run.sh"].mode, 04755u);
    EXPECT_EQ(t["run.sh"].mtime, 1600000002);
    EXPECT_EQ(t["run.sh"].xattrs["user.note"], "hi");
    EXPECT_EQ(t["run.sh"].uid, ::geteuid());
}

TEST_F(LayerWriterTest, SameTreeSameLayer) {
    std::string up = dir("upper");
    put(up + "/a", "a");
    make_dirs(up + "/d");
    set_mtime(up + "/d", 1);
    auto l = layout();
    WrittenLayer w1 = write_layer_from_upper(l, up);
    WrittenLayer w2 = write_layer_from_upper(l, up);
    EXPECT_EQ(w1.descriptor.digest, w2.descriptor.digest);
    EXPECT_EQ(w1.diff_id, w2.diff_id);
}

TEST_F(LayerWriterTest, NothingChangedWritesNoBlob) {
    std::string up = dir("upper");
    auto l = layout();
    size_t before = blob_count(l.path());
    WrittenLayer w = write_layer_from_upper(l, up);
    EXPECT_TRUE(w.empty());
    EXPECT_EQ(blob_count(l.path()), before);
    // and no temporary file is left in the layout
    for (const auto& e : std::filesystem::directory_iterator(l.path()))
        EXPECT_EQ(e.path().filename().string().rfind(".tmp-blob-", 0), std::string::npos) << e.path();
}

TEST_F(LayerWriterTest, ExcludedMountPointsStayOut) {
    std::string up = dir("upper");
    make_dirs(up + "/proc");
    make_dirs(up + "/etc");
    put(up + "/etc/resolv.conf", "");
    put(up + "/etc/real", "x");
    LayerWriteOptions o;
    o.exclude = {"proc", "etc/resolv.conf"};
    auto l = layout();
    auto t = read_layer(l, write_layer_from_upper(l, up, o));
    EXPECT_EQ(t.size(), 2u);
    EXPECT_TRUE(t.count("etc/real"));
    EXPECT_FALSE(t.count("proc/"));
}

TEST_F(LayerWriterTest, OverlayWhiteoutsAndOpaqueDirectories) {
    if (::geteuid() != 0) GTEST_SKIP() << "overlay whiteouts (mknod) and trusted xattrs need root";
    std::string up = dir("upper");
    make_dirs(up + "/data/renewed");
    ASSERT_EQ(::mknod((up + "/data/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    ASSERT_EQ(::lsetxattr((up + "/data/renewed").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    ASSERT_EQ(::lsetxattr((up + "/data").c_str(), "trusted.overlay.origin", "\0\1", 2, 0), 0);
    put(up + "/data/renewed/new", "n");
    ASSERT_EQ(::chown((up + "/data/renewed/new").c_str(), 1000, 2000), 0);
    ASSERT_EQ(::mknod((up + "/data/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);

    auto l = layout();
    auto t = read_layer(l, write_layer_from_upper(l, up));
    ASSERT_TRUE(t.count("data/.wh.gone"));
    EXPECT_EQ(t["data/.wh.gone"].type, '0');
    EXPECT_EQ(t["data/.wh.gone"].data, "");
    EXPECT_FALSE(t.count("data/gone"));
    EXPECT_TRUE(t.count("data/renewed/.wh..wh..opq"));
    EXPECT_TRUE(t["data/"].xattrs.empty()) << "overlayfs's own xattrs are not part of a layer";
    EXPECT_TRUE(t["data/renewed/"].xattrs.empty());
    EXPECT_EQ(t["data/renewed/new"].uid, 1000u);
    EXPECT_EQ(t["data/renewed/new"].gid, 2000u);
    EXPECT_EQ(t["data/null"].type, '3');
}

TEST_F(LayerWriterTest, DiffOfTwoTrees) {
    std::string lo = dir("lower"), up = dir("upper");
    for (const auto& root : {lo, up}) {
        make_dirs(root + "/keep/sub");
        put(root + "/keep/same", "same");
        put(root + "/keep/sub/same", "same");
        put(root + "/edit", "old");
        make_dirs(root + "/gone-dir/inner");
        put(root + "/gone-dir/inner/f", "f");
        put(root + "/gone", "x");
        put(root + "/became-dir", "file");
        set_mtime(root + "/keep/sub", 1500000000);
        set_mtime(root + "/keep", 1500000000);
    }
    put(up + "/edit", "new content", 0644, 1600000009);
    remove_tree(up + "/gone-dir");
    ::unlink((up + "/gone").c_str());
    ::unlink((up + "/became-dir").c_str());
    make_dirs(up + "/became-dir");
    put(up + "/became-dir/in", "i");
    put(up + "/keep/sub/added", "added");
    set_mtime(up + "/keep/sub", 1500000000);

    auto l = layout();
    WrittenLayer w = write_layer_from_diff(l, lo, up);
    std::vector<std::string> order;
    auto t = read_layer(l, w, &order);
    EXPECT_EQ(order, (std::vector<std::string>{"became-dir/", "became-dir/in", "edit", ".wh.gone", ".wh.gone-dir",
                                               "keep/", "keep/sub/", "keep/sub/added"}));
    EXPECT_EQ(t["edit"].data, "new content");
    // directories above a change are written though they did not change themselves
    EXPECT_EQ(t["keep/"].mtime, 1500000000);

    EXPECT_EQ(t["became-dir/"].type, '5');
    EXPECT_EQ(t[".wh.gone-dir"].mode, 0600u);
}

TEST_F(LayerWriterTest, UnchangedTreesGiveNoLayer) {
    std::string lo = dir("lower"), up = dir("upper");
    for (const auto& root : {lo, up}) {
        make_dirs(root + "/d");
        put(root + "/d/f", "f");
        ASSERT_EQ(::symlink("d/f", (root + "/l").c_str()), 0);
        set_mtime(root + "/l", 1600000000);
    }
    auto l = layout();
    EXPECT_TRUE(write_layer_from_diff(l, lo, up).empty());
    ASSERT_EQ(::unlink((up + "/l").c_str()), 0);
    ASSERT_EQ(::symlink("d/other", (up + "/l").c_str()), 0);
    set_mtime(up + "/l", 1600000000);
    auto t = read_layer(l, write_layer_from_diff(l, lo, up));
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(t["l"].link, "d/other");
}
