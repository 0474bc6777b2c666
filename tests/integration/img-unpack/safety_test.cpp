// Hostile and broken images: evil-check.sh's sandbox in both modes, digest
// mismatches, corrupt streams, tar errors and a full disk, none of which may
// leave a half-written bundle or layer behind.
#include <sys/mount.h>

#include <filesystem>

#include "linux/mount.hpp"
#include "tar_builder.hpp"
#include "unpack_test.hpp"

using namespace ctk;
using namespace ctk::test;

class Safety : public UnpackTest {
protected:
    // Nothing but the lock directory in the layer store: no committed layer, no leftovers.
    void expect_no_layers() {
        std::string layers = ctk_root() + "/layers";
        if (!exists(layers)) return;
        for (const auto& e : std::filesystem::directory_iterator(layers))
            EXPECT_EQ(e.path().filename(), ".locks") << "left in the store: " << e.path();
    }
    void expect_evil_safe(const std::string& unpack_cmd) {
        std::string dir = tool_path("img-unpack");
        dir = std::filesystem::absolute(dir).parent_path();
        ToolResult r = run_command({fixtures_dir() + "/evil-check.sh", "--bind", dir, "--unpack", unpack_cmd});
        EXPECT_EQ(r.status, 0) << r;
        EXPECT_EQ(r.out.find("UNSAFE"), std::string::npos) << r.out;
        EXPECT_EQ(r.out.find("ERROR"), std::string::npos) << r.out;
        size_t safe = 0;
        for (size_t p = r.out.find("| SAFE |"); p != std::string::npos; p = r.out.find("| SAFE |", p + 1)) safe++;
        EXPECT_EQ(safe, 8u) << r.out;
        // refused with a message naming the layer and the entry
        EXPECT_NE(r.out.find("entry \"../../escape\" escapes the rootfs"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("hardlink target \"../../../../../../../../../../etc/shadow\" escapes the rootfs"),
                  std::string::npos)
            << r.out;
        EXPECT_NE(r.out.find("digest mismatch"), std::string::npos) << r.out;
    }
};

TEST_F(Safety, EvilImagesFlat) {
    std::string exe = std::filesystem::absolute(tool_path("img-unpack"));
    expect_evil_safe(exe + " --image {layout}:{tag} {bundle}");
}

TEST_F(Safety, EvilImagesOverlay) {
    // The layer store inside the bundle directory, which the sandbox leaves out of its comparison.
    std::string exe = std::filesystem::absolute(tool_path("img-unpack"));
    expect_evil_safe("env CTK_ROOT={bundle}/store " + exe + " --mode overlay --image {layout}:{tag} {bundle}");
}

TEST_F(Safety, DigestMismatchesLeaveNothing) {
    std::string tar = TarBuilder().file("hello.txt", "GOOD\n").str();
    std::string gz = gzip(tar);
    std::string layout = tmp() + "/layout";
    // the config's DiffID does not match the uncompressed stream
    write_image(layout, "diffid", {{gz, std::string(oci::media::oci_layer_gzip), Digest::sha256_of("other")}});
    for (const char* mode : {"flat", "overlay"}) {
        std::string b = tmp() + "/b-" + mode;
        ToolResult r = unpack({"--mode", mode, "--image", layout + ":diffid", b});
        EXPECT_EQ(r.status, 3) << r;
        EXPECT_NE(r.err.find("(uncompressed): digest mismatch"), std::string::npos) << r;
        EXPECT_FALSE(exists(b)) << mode;
        expect_no_layers();
    }
    // a blob that is not what its descriptor says (the evil:baddigest case, by hand)
    oci::Layout l = oci::Layout::open(layout);
    write_image(layout, "blob", {{gz, std::string(oci::media::oci_layer_gzip), Digest::sha256_of(tar)}});
    auto d = l.find("blob");
    ASSERT_TRUE(d);
    oci::Manifest m = oci::Manifest::parse(l.read_blob(*d), "m");
    std::string path = l.blob_path(m.layers[0].digest);
    std::string tampered = gzip(TarBuilder().file("hello.txt", "EVIL\n").str());
    ASSERT_EQ(tampered.size(), gz.size());
    ::unlink(path.c_str());
    write_file_atomic(path, tampered, 0644);
    // an existing bundle directory stays, empty
    make_dirs(tmp() + "/pre");
    ToolResult r = unpack({"--image", layout + ":blob", tmp() + "/pre"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_NE(r.err.find("layer " + m.layers[0].digest.str() + ": digest mismatch"), std::string::npos) << r;
    EXPECT_TRUE(std::filesystem::is_empty(tmp() + "/pre"));
    r = unpack({"--mode", "overlay", "--image", layout + ":blob", tmp() + "/pre"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_TRUE(std::filesystem::is_empty(tmp() + "/pre"));
    expect_no_layers();
}

TEST_F(Safety, CorruptStreamsAndTars) {
    std::string tar = TarBuilder().file("a", std::string(200000, 'a')).file("b", "b").str();
    std::string gz = gzip(tar), zs = zstd(tar);
    std::string junk_tar(4096, 'J');
    std::string layout = tmp() + "/layout";
    struct Case {
        const char* tag;
        LayerSpec layer;
        const char* message;
    };
    std::string corrupt_zstd = zs;
    corrupt_zstd[corrupt_zstd.size() / 2] ^= 0x55;
    std::vector<Case> cases = {
        {"truncated-gzip", {gz.substr(0, gz.size() / 2), std::string(oci::media::oci_layer_gzip),
                            Digest::sha256_of(tar)}, "gzip: unexpected end of the compressed data"},
        {"corrupt-zstd", {corrupt_zstd, std::string(oci::media::oci_layer_zstd), Digest::sha256_of(tar)}, "zstd: "},
        {"not-a-tar", {gzip(junk_tar), std::string(oci::media::docker_layer_gzip), Digest::sha256_of(junk_tar)},
         "tar: "},
        {"truncated-tar", {tar.substr(0, 100000), std::string(oci::media::oci_layer),
                           Digest::sha256_of(tar.substr(0, 100000))}, "tar: "},
    };
    for (const auto& c : cases) {
        write_image(layout, c.tag, {c.layer});
        for (const char* mode : {"flat", "overlay"}) {
            std::string b = tmp() + "/" + c.tag + "-" + mode;
            ToolResult r = unpack({"--mode", mode, "--image", layout + ":" + c.tag, b});
            EXPECT_EQ(r.status, 3) << c.tag << " " << r;
            EXPECT_NE(r.err.find(c.message), std::string::npos) << c.tag << " " << r;
            EXPECT_FALSE(exists(b)) << c.tag;
            expect_no_layers();
        }
    }
}

TEST_F(Safety, FullDiskLeavesNothing) {
    // layered holds a 50 MiB file; a 4 MiB filesystem cannot take it.
    std::string small = tmp() + "/small";
    make_dirs(small);
    linux::mount("tmpfs", small, "tmpfs", 0, "size=4m");
    defer([small] { linux::unmount(small, MNT_DETACH, true); });
    ToolResult r = unpack({"--image", image("layered", "latest"), small + "/b"});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("ENOSPC"), std::string::npos) << r;
    EXPECT_TRUE(std::filesystem::is_empty(small));
    r = unpack({"--mode", "overlay", "--image", image("layered", "latest"), small + "/b"},
               "", {"CTK_ROOT=" + small + "/root"});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("ENOSPC"), std::string::npos) << r;
    EXPECT_FALSE(exists(small + "/b"));
    // the layer that fit was committed, the one that did not left nothing
    for (const auto& e : std::filesystem::directory_iterator(small + "/root/layers")) {
        std::string n = e.path().filename();
        EXPECT_TRUE(n == ".locks" || exists(e.path().string() + "/layer.json")) << n;
    }
}
