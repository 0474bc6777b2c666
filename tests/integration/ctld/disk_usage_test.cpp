// GET /system/df with real sizes, POST /images/prune and /build/prune
// reporting what they freed: the docker CLI's system df, system prune and
// image prune against ctld, and ctl (local and -H) printing the same.
#include "core/strings.hpp"
#include "ctld_test.hpp"

namespace ctk::test {
namespace {

class CtldDiskUsage : public CtldTest {
protected:
    Json api_get(const std::string& path) {
        ToolResult r = run_command({"curl", "-sf", "--max-time", "20", "--unix-socket", socket_path(), "http://ctld" + path});
        EXPECT_EQ(r.status, 0) << r;
        return r.status == 0 ? r.json() : Json::object();
    }
};

TEST_F(CtldDiskUsage, SystemDfHasRealSizesInTheEngineApiShape) {
    tiny();
    ASSERT_EQ(docker({"pull", "-q", registry() + "/layered"}).status, 0);
    ASSERT_EQ(docker({"volume", "create", "data"}).status, 0);
    ToolResult r = docker({"run", "--name", "writer", "--network", "none", "-v", "data:/data", "tiny", "sh", "-c",
                           "head -c 300000 /dev/zero > /data/z"});
    ASSERT_EQ(r.status, 0) << r;

    Json df = api_get("/system/df");
    EXPECT_GT(df["LayersSize"].get<int64_t>(), 50'000'000);
    ASSERT_EQ(df["Images"].size(), 2u) << df.dump();
    int64_t shared = -1;
    for (const auto& i : df["Images"]) {
        EXPECT_GT(i["Size"].get<int64_t>(), 1'000'000) << i.dump();
        bool is_tiny = i["RepoTags"].dump().find("/tiny:latest") != std::string::npos;
        EXPECT_EQ(i["Containers"], is_tiny ? 1 : 0) << i.dump();
        // layered is built on tiny's layer: both count it as shared
        if (shared >= 0) {
            EXPECT_EQ(i["SharedSize"].get<int64_t>(), shared);
        }
        shared = i["SharedSize"].get<int64_t>();
        EXPECT_GT(shared, 1'000'000) << i.dump();
    }
    ASSERT_EQ(df["Containers"].size(), 1u);
    EXPECT_GT(df["Containers"][0]["SizeRw"].get<int64_t>(), 0);
    EXPECT_GT(df["Containers"][0]["SizeRootFs"].get<int64_t>(), df["Containers"][0]["SizeRw"].get<int64_t>());
    ASSERT_EQ(df["Volumes"].size(), 1u);
    EXPECT_EQ(df["Volumes"][0]["UsageData"]["Size"], 300000);
    EXPECT_TRUE(df["BuildCache"].is_array());

    // one rendering: the docker CLI, ctl over the store and ctl -H print the same table
    ToolResult d = docker({"system", "df"});
    ASSERT_EQ(d.status, 0) << d;
    EXPECT_NE(d.out.find("Local Volumes   1         1         300kB"), std::string::npos) << d.out;
    // ACTIVE: the image a container uses (stopped or not) and the volume it mounts; no container runs
    EXPECT_NE(d.out.find("\nImages          2         1         "), std::string::npos) << d.out;
    EXPECT_NE(d.out.find("\nContainers      1         0         "), std::string::npos) << d.out;
    EXPECT_EQ(ctl({"system", "df"}).out, d.out);
    EXPECT_EQ(ctl({"-H", host(), "system", "df"}).out, d.out);
    EXPECT_EQ(ctl({"-H", host(), "system", "df", "--format", "json"}).out, ctl({"system", "df", "--format", "json"}).out);
    ToolResult v = docker({"system", "df", "-v"});
    ASSERT_EQ(v.status, 0) << v;
    EXPECT_NE(v.out.find("Images space usage:"), std::string::npos) << v.out;
    ASSERT_EQ(docker({"rm", "writer"}).status, 0);
    ASSERT_EQ(docker({"volume", "rm", "data"}).status, 0);
}

TEST_F(CtldDiskUsage, DockerImagePruneAndSystemPruneReportWhatTheyFreed) {
    tiny();
    ASSERT_EQ(docker({"pull", "-q", registry() + "/layered"}).status, 0);
    ASSERT_EQ(docker({"create", "--name", "keep", "--network", "none", "tiny", "true"}).status, 0);
    ASSERT_EQ(docker({"run", "--name", "gone", "--network", "none", "tiny", "true"}).status, 0);

    ToolResult r = docker({"image", "prune", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "Total reclaimed space: 0B\n");
    r = docker({"image", "prune", "-a", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_TRUE(r.out.starts_with("Deleted Images:\nuntagged: " + registry() + "/layered:latest\n")) << r.out;
    auto lines = split(std::string(trim(r.out)), '\n');
    // layered's own 50 MiB layer, as a blob and unpacked (docker prints units.HumanSize)
    ASSERT_FALSE(lines.empty());
    EXPECT_TRUE(lines.back().starts_with("Total reclaimed space: ") && lines.back().ends_with("MB")) << r.out;
    EXPECT_GT(std::stod(lines.back().substr(23)), 50) << r.out;

    ASSERT_EQ(docker({"run", "--name", "writer", "--network", "none", "tiny", "sh", "-c", "head -c 500000 /dev/zero > /z"}).status, 0);
    r = docker({"container", "prune", "-f", "--filter", "label=none"});
    EXPECT_EQ(r.out, "Total reclaimed space: 0B\n") << r;
    r = docker({"container", "prune", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    lines = split(std::string(trim(r.out)), '\n');
    ASSERT_EQ(lines.size(), 6u) << r.out; // the header, keep, gone and writer, a blank line, the total
    EXPECT_TRUE(lines.back().starts_with("Total reclaimed space: ") && lines.back().ends_with("kB")) << r.out;
    EXPECT_GE(std::stod(lines.back().substr(23)), 500) << r.out;
    ASSERT_EQ(docker({"run", "--name", "gone", "--network", "none", "tiny", "true"}).status, 0);

    // system prune: the stopped containers, then build/prune (501 before ctld answered it)
    r = docker({"system", "prune", "-f"});
    ASSERT_EQ(r.status, 0) << r << daemon_log();
    EXPECT_TRUE(r.out.starts_with("Deleted Containers:\n")) << r.out;
    EXPECT_NE(r.out.find("Total reclaimed space: "), std::string::npos) << r.out;
    EXPECT_EQ(docker({"ps", "-aq"}).out, "");
    Json df = api_get("/system/df");
    EXPECT_EQ(df["Images"].size(), 1u) << "tiny is tagged: not dangling";

    // ctl -H system prune -a: the same calls as docker's
    r = ctl({"-H", host(), "system", "prune", "-a", "-f"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("\ndeleted: sha256:"), std::string::npos) << r.out;
    df = api_get("/system/df");
    EXPECT_EQ(df["Images"].size(), 0u);
    EXPECT_EQ(df["LayersSize"], 0);
}

} // namespace
} // namespace ctk::test
