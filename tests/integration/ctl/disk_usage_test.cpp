// ctl system df, system prune and image prune: real sizes, and prunes that
// free what they report, leftovers of killed pulls and unpacks included.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

class CtlDiskUsage : public CtlTest {
protected:
    // `system df --format json`'s row of `type`.
    Json df_row(const std::string& type) {
        ToolResult r = ctl({"system", "df", "--format", "json"});
        EXPECT_EQ(r.status, 0) << r;
        for (const auto& j : r.json_lines())
            if (j["Type"] == type) return j;
        ADD_FAILURE() << "no row " << type << " in " << r.out;
        return Json::object();
    }
    std::string layers_dir() const { return ctk_root() + "/layers"; }
    size_t layer_count() const {
        size_t n = 0;
        for (const auto& e : std::filesystem::directory_iterator(layers_dir()))
            n += !e.path().filename().string().starts_with(".");
        return n;
    }
    static std::string last_line(const std::string& out) {
        auto lines = split(std::string(trim(out)), '\n');
        return lines.empty() ? "" : lines.back();
    }
};

TEST_F(CtlDiskUsage, SystemDfShowsRealSizesAndWhatIsActive) {
    ASSERT_EQ(ctl({"pull", "-q", registry() + "/tiny"}).status, 0);
    ASSERT_EQ(ctl({"pull", "-q", registry() + "/layered"}).status, 0);
    ASSERT_EQ(ctl({"volume", "create", "data"}).status, 0);
    ToolResult r = ctl({"run", "--name", "writer", "--network", "none", "-v", "data:/data", registry() + "/tiny", "sh", "-c",
                        "head -c 300000 /dev/zero > /data/z"});
    ASSERT_EQ(r.status, 0) << r;

    r = ctl({"system", "df"});
    ASSERT_EQ(r.status, 0) << r;
    auto lines = split(std::string(trim(r.out)), '\n');
    ASSERT_EQ(lines.size(), 5u) << r.out;
    EXPECT_TRUE(lines[0].starts_with("TYPE ")) << r.out;
    for (const char* h : {"TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"}) EXPECT_NE(lines[0].find(h), std::string::npos) << r.out;

    Json images = df_row("Images");
    EXPECT_EQ(images["TotalCount"], "2");
    EXPECT_EQ(images["Active"], "1") << "tiny is used by a (stopped) container";
    // layered's 50 MiB layer, as a blob and unpacked: more than 50MB, reclaimable
    std::string size = images["Size"];
    EXPECT_TRUE(size.ends_with("MB")) << size;
    EXPECT_GT(std::stod(size), 50) << size;
    EXPECT_NE(images["Reclaimable"].get<std::string>().find("%)"), std::string::npos);

    Json containers = df_row("Containers");
    EXPECT_EQ(containers["TotalCount"], "1");
    EXPECT_EQ(containers["Active"], "0");
    EXPECT_NE(containers["Size"], "0B");

    Json volumes = df_row("Local Volumes");
    EXPECT_EQ(volumes["TotalCount"], "1");
    EXPECT_EQ(volumes["Size"], "300kB") << "the volume's 300000 bytes";

    r = ctl({"system", "df", "-v"});
    ASSERT_EQ(r.status, 0) << r;
    for (const char* s : {"Images space usage:", "Containers space usage:", "Local Volumes space usage:", "Build cache usage:"})
        EXPECT_NE(r.out.find(s), std::string::npos) << r.out;
    bool volume_line = false;
    for (const auto& l : split(r.out, '\n'))
        volume_line |= l.starts_with("data ") && l.ends_with(" 300kB");
    EXPECT_TRUE(volume_line) << r.out;

    r = ctl({"system", "df", "--format", "{{.Type}}={{.TotalCount}}"});
    EXPECT_EQ(r.out, "Images=2\nContainers=1\nLocal Volumes=1\nBuild Cache=0\n") << r;
    ASSERT_EQ(ctl({"rm", "writer"}).status, 0);
    ASSERT_EQ(ctl({"volume", "rm", "data"}).status, 0);
}

TEST_F(CtlDiskUsage, ContainerPruneReportsTheBytesItFreed) {
    ASSERT_EQ(ctl({"pull", "-q", registry() + "/tiny"}).status, 0);
    ToolResult r = ctl({"run", "--name", "writer", "--network", "none", registry() + "/tiny", "sh", "-c",
                        "head -c 500000 /dev/zero > /z"});
    ASSERT_EQ(r.status, 0) << r;
    std::string id = std::string(trim(ctl({"inspect", "--format", "{{.Id}}", "writer"}).out));
    r = ctl({"container", "prune", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_TRUE(r.out.starts_with("Deleted Containers:\n" + id + "\n\nTotal reclaimed space: ")) << r.out;
    std::string total = last_line(r.out);
    EXPECT_TRUE(total.ends_with("kB") || total.ends_with("MB")) << total;
    EXPECT_GE(std::stod(total.substr(23)) * (total.ends_with("MB") ? 1000 : 1), 500) << "the 500000 bytes it wrote";
}

TEST_F(CtlDiskUsage, ImagePruneFreesImagesLayersAndLeftovers) {
    ASSERT_EQ(ctl({"pull", "-q", registry() + "/tiny"}).status, 0);
    ASSERT_EQ(ctl({"pull", "-q", registry() + "/layered"}).status, 0);
    ASSERT_EQ(ctl({"create", "--name", "keep", "--network", "none", registry() + "/tiny", "true"}).status, 0);
    ToolResult r = ctl({"run", "--rm", "--network", "none", registry() + "/layered", "true"});
    ASSERT_EQ(r.status, 0) << r;
    size_t layers = layer_count();
    ASSERT_GT(layers, 1u);
    // what killed pulls and unpacks leave: a partial blob, a layer's staging directory
    std::string partial = ctk_root() + "/images/.ctk-partial-sha256-" + std::string(64, 'a');
    write_file_atomic(partial, std::string(200000, 'x'));
    std::string staging = layers_dir() + "/.tmp-" + std::string(64, 'b') + "-0123";
    make_dirs(staging + "/diff");
    write_file_atomic(staging + "/diff/f", std::string(100000, 'y'));

    // dangling only: no image goes, the leftovers do (300kB)
    r = ctl({"image", "prune", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "Total reclaimed space: 300kB\n") << r;
    EXPECT_FALSE(std::filesystem::exists(partial));
    EXPECT_FALSE(std::filesystem::exists(staging));
    EXPECT_EQ(layer_count(), layers);

    // -a: layered (no container) goes with its blobs and unpacked layers; tiny stays
    r = ctl({"image", "prune", "-a", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_TRUE(r.out.starts_with("Deleted Images:\nuntagged: " + registry() + "/layered:latest\n")) << r.out;
    EXPECT_NE(r.out.find("\ndeleted: sha256:"), std::string::npos) << r.out;
    std::string total = last_line(r.out);
    EXPECT_TRUE(total.starts_with("Total reclaimed space: ") && total.ends_with("MB")) << total;
    EXPECT_GT(std::stod(total.substr(23)), 50) << total;
    EXPECT_EQ(layer_count(), 1u) << "tiny's layer, which the container uses";
    r = ctl({"images", "--format", "{{.Repository}}"});
    EXPECT_EQ(r.out, registry() + "/tiny\n");
    ASSERT_EQ(ctl({"rm", "keep"}).status, 0);
}

TEST_F(CtlDiskUsage, SystemPruneRemovesStoppedContainersDanglingImagesAndBuildCache) {
    ASSERT_EQ(ctl({"pull", "-q", registry() + "/tiny"}).status, 0);
    std::string ctx = tmp() + "/ctx";
    make_dirs(ctx);
    write_file_atomic(ctx + "/Dockerfile", "FROM " + registry() + "/tiny\nRUN head -c 100000 /dev/urandom > /r\nCOPY f /f\n");
    write_file_atomic(ctx + "/f", "f\n");
    ToolResult r = ctl({"build", "-q", ctx});
    ASSERT_EQ(r.status, 0) << r;
    std::string built = std::string(trim(r.out));
    ASSERT_EQ(ctl({"run", "--name", "done", "--network", "none", registry() + "/tiny", "true"}).status, 0);
    Json cache = df_row("Build Cache");
    EXPECT_EQ(cache["TotalCount"], "2");

    r = ctl({"system", "prune", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_TRUE(r.out.starts_with("Deleted Containers:\n")) << r.out;
    EXPECT_NE(r.out.find("Deleted Images:\ndeleted: " + built + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Deleted build cache objects:\n"), std::string::npos) << r.out;
    std::string total = last_line(r.out);
    EXPECT_TRUE(total.starts_with("Total reclaimed space: ") && total.ends_with("kB")) << total;
    EXPECT_GT(std::stod(total.substr(23)), 100) << "the RUN layer's 100000 random bytes, blob and unpacked";
    EXPECT_EQ(ctl({"ps", "-aq"}).out, "");
    EXPECT_EQ(df_row("Build Cache")["TotalCount"], "0");
    EXPECT_EQ(df_row("Images")["TotalCount"], "1") << "tiny is not dangling";
    EXPECT_EQ(layer_count(), 1u);

    r = ctl({"system", "prune", "-a", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(df_row("Images")["TotalCount"], "0");
    EXPECT_EQ(df_row("Images")["Size"], "0B");
    EXPECT_EQ(layer_count(), 0u);
}

} // namespace
