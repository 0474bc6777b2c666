// Shared pieces of the img-unpack integration tests: the fixture (temporary
// CTK_ROOT on tmpfs), the fixture images, check-rootfs.sh, and OCI layouts
// built on the spot from hand-made layers.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/fs.hpp"
#include "oci/layout.hpp"
#include "oci/media_types.hpp"
#include "tool_test.hpp"

namespace ctk::test {

class UnpackTest : public ToolTest {
protected:
    void SetUp() override {
        CTK_REQUIRE_ROOT();
        ToolTest::SetUp(); // on tmpfs: the Debian image is 6658 files

        ASSERT_TRUE(oci::Layout::exists(fixture_layout("tiny")))
            << "fixture images missing: run ../shared/fixtures/make-images.sh";
    }

    ToolResult unpack(const std::vector<std::string>& args, const std::string& input = "",
                      const std::vector<std::string>& env = {}) {
        return run("img-unpack", args, input, env);
    }
    // Unpacks and registers --release for the end of the test.
    Json unpack_ok(const std::vector<std::string>& args, const std::string& bundle,
                   const std::vector<std::string>& command = {}) {
        std::vector<std::string> a = args;
        a.push_back(bundle);
        a.insert(a.end(), command.begin(), command.end());
        ToolResult r = unpack(a);
        EXPECT_EQ(r.status, 0) << r;
        defer([this, bundle] { run("img-unpack", {"--release", bundle}); });
        return r.status == 0 ? r.json() : Json();
    }
    std::string image(const std::string& layout, const std::string& tag) const {
        return fixture_layout(layout) + ":" + tag;
    }
    // check-rootfs.sh against ../shared/fixtures/expect/<name>.expect
    void check_rootfs(const std::string& rootfs, const std::string& expect) {
        ToolResult r = run_command({fixtures_dir() + "/check-rootfs.sh", rootfs,
                                    fixtures_dir() + "/expect/" + expect + ".expect"});
        EXPECT_EQ(r.status, 0) << "check-rootfs " << expect << ":\n" << r.out << r.err;
        EXPECT_NE(r.out.find(" 0 failed"), std::string::npos) << r.out;
    }
    bool exists(const std::string& p) const {
        struct stat st;
        return ::lstat(p.c_str(), &st) == 0;
    }
};

struct LayerSpec {
    std::string blob; // as stored
    std::string media_type;
    Digest diff_id;   // of the uncompressed tar
};

// Writes an image with these layers into a (new) layout and tags it.
inline oci::Descriptor write_image(const std::string& layout_dir, const std::string& tag,
                                   const std::vector<LayerSpec>& layers,
                                   const std::vector<std::string>& cmd = {"/bin/sh"}) {
    oci::Layout l = oci::Layout::create(layout_dir);
    oci::ImageConfig cfg;
    cfg.os = "linux";
    cfg.architecture = oci::Platform::host().architecture;
    cfg.config.cmd = cmd;
    oci::Manifest m;
    m.media_type = oci::media::oci_manifest;
    for (const auto& layer : layers) {
        m.layers.push_back(l.write_blob(layer.blob, layer.media_type));
        cfg.diff_ids.push_back(layer.diff_id);
    }
    m.config = l.write_blob(Json(cfg).dump(), std::string(oci::media::oci_config));
    oci::Descriptor d = l.write_blob(Json(m).dump(), std::string(oci::media::oci_manifest));
    l.tag(tag, d);
    return d;
}

} // namespace ctk::test
