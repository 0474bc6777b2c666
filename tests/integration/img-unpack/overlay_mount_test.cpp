// Overlay mounts with many layers (beyond what fits in one page of mount
// options), the fallback for kernels without "lowerdir+", and concurrent
// unpacks sharing the layer store.
#include <sys/mount.h>
#include <sys/utsname.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "linux/mount.hpp"
#include "tar_builder.hpp"
#include "unpack_test.hpp"

using namespace ctk;
using namespace ctk::test;

class OverlayMount : public UnpackTest {};

namespace {
// overlayfs's "lowerdir+" (one fsconfig call a layer, no page limit): Linux 6.8.
bool kernel_has_lowerdir_plus() {
    struct utsname u {};
    ::uname(&u);
    int major = 0, minor = 0;
    std::sscanf(u.release, "%d.%d", &major, &minor);
    return major > 6 || (major == 6 && minor >= 8);
}
} // namespace

TEST_F(OverlayMount, ManyLayersBeyondTheOptionLimit) {
    // 130 layers, each adding a file and deleting the previous layer's one;
    // their lowerdir paths take ~15 KB, far over the 4 KB of mount(2) options.
    const int n = 130;
    std::vector<LayerSpec> layers;
    for (int i = 0; i < n; i++) {
        TarBuilder t;
        t.dir("layers").file("layers/" + std::to_string(i), std::to_string(i));
        if (i > 0 && i % 2 == 0) t.whiteout("layers", std::to_string(i - 1));
        std::string tar = t.str();
        layers.push_back({gzip(tar), std::string(oci::media::oci_layer_gzip), Digest::sha256_of(tar)});
    }
    std::string layout = tmp() + "/many";
    write_image(layout, "latest", layers);
    std::string b = tmp() + "/b";
    if (!kernel_has_lowerdir_plus()) {
        // Before 6.8 (the guest's 6.1): mount(2)'s one page of options holds
        // ~55 such layers even relative to their parent: a clear error.
        ToolResult r = unpack({"--mode", "overlay", "--image", layout + ":latest", b});
        EXPECT_NE(r.status, 0) << r;
        EXPECT_NE(r.err.find("do not fit in the mount options of this kernel"), std::string::npos) << r;
        return;
    }
    Json j = unpack_ok({"--mode", "overlay", "--image", layout + ":latest"}, b);
    EXPECT_EQ(j["layers"].size(), static_cast<size_t>(n));
    for (int i = 0; i < n; i++)
        EXPECT_EQ(exists(b + "/rootfs/layers/" + std::to_string(i)), i % 2 == 0 || i == n - 1) << i;
    EXPECT_EQ(read_file(b + "/rootfs/layers/" + std::to_string(n - 1)), std::to_string(n - 1));
    // and the flat unpack gives the same tree
    unpack_ok({"--image", layout + ":latest"}, tmp() + "/flat");
    for (int i = 0; i < n; i++)
        EXPECT_EQ(exists(tmp() + "/flat/rootfs/layers/" + std::to_string(i)), i % 2 == 0 || i == n - 1) << i;
}

TEST_F(OverlayMount, LegacyMountApiFallback) {
    // mount(2) with "lowerdir=": absolute paths that do not fit in a page are
    // given relative to their common parent.
    std::string base = tmp() + "/" + std::string(60, 'p');
    std::vector<std::string> lowers;
    for (int i = 0; i < 150; i++) {
        std::string l = base + "/" + std::to_string(i);
        make_dirs(l);
        write_file_atomic(l + "/f" + std::to_string(i), "x");
        lowers.insert(lowers.begin(), l);
    }
    for (auto api : {linux::OverlayApi::legacy, linux::OverlayApi::fsconfig}) {
        if (api == linux::OverlayApi::fsconfig && !kernel_has_lowerdir_plus()) {
            // Before 6.8 the new API alone cannot take 150 layers.
            EXPECT_THROW(linux::mount_overlay(tmp() + "/none", lowers, tmp() + "/none", tmp() + "/none", api), Error);
            continue;
        }
        std::string m = tmp() + "/m" + std::to_string(static_cast<int>(api));
        make_dirs(m + "/upper");
        make_dirs(m + "/work");
        make_dirs(m + "/merged");
        linux::mount_overlay(m + "/merged", lowers, m + "/upper", m + "/work", api);
        defer([m] { linux::unmount(m + "/merged", MNT_DETACH, true); });
        EXPECT_TRUE(exists(m + "/merged/f0"));
        EXPECT_TRUE(exists(m + "/merged/f149"));
    }
    // paths that fit neither way: a clear error
    std::vector<std::string> scattered;
    for (int i = 0; i < 60; i++) {
        std::string l = tmp() + "/" + std::to_string(i) + std::string(70, 'q');
        make_dirs(l);
        scattered.push_back(l);
    }
    make_dirs(tmp() + "/x/upper");
    make_dirs(tmp() + "/x/work");
    make_dirs(tmp() + "/x/merged");
    try {
        linux::mount_overlay(tmp() + "/x/merged", scattered, tmp() + "/x/upper", tmp() + "/x/work",
                             linux::OverlayApi::legacy);
        linux::unmount(tmp() + "/x/merged", MNT_DETACH, true);
        ADD_FAILURE() << "mounted options longer than a page";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("do not fit"), std::string::npos) << e.what();
    }
}

TEST_F(OverlayMount, ConcurrentUnpacksShareTheStore) {
    std::vector<ToolResult> results(3);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < results.size(); i++)
        threads.emplace_back([&, i] {
            results[i] = unpack({"--mode", "overlay", "--image", image("layered", "latest"),
                                 tmp() + "/c" + std::to_string(i)});
        });
    for (auto& t : threads) t.join();
    for (size_t i = 0; i < results.size(); i++) {
        std::string b = tmp() + "/c" + std::to_string(i);
        defer([this, b] { run("img-unpack", {"--release", b}); });
        EXPECT_EQ(results[i].status, 0) << results[i];
        check_rootfs(b + "/rootfs", "layered");
    }
    int dirs = 0;
    for (const auto& e : std::filesystem::directory_iterator(ctk_root() + "/layers")) {
        std::string n = e.path().filename();
        if (n == ".locks") continue;
        EXPECT_TRUE(exists(e.path().string() + "/layer.json")) << n;
        dirs++;
    }
    EXPECT_EQ(dirs, 4);
}
