// docker commit and the legacy `docker build` (DOCKER_BUILDKIT=0) against
// ctld: POST /commit and POST /build with a tar context, then the new images
// run through ctld as a user would run them.
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ctld_test.hpp"

namespace ctk::test {
namespace {

class CtldBuild : public CtldTest {
protected:
    std::string pull_tiny() {
        std::string ref = registry() + "/tiny:latest";
        auto p = docker({"pull", "-q", ref});
        EXPECT_EQ(p.status, 0) << p << daemon_log();
        return ref;
    }
    ToolResult legacy_build(const std::vector<std::string>& args, const std::string& input = "") {
        std::vector<std::string> a = {"build"};
        a.insert(a.end(), args.begin(), args.end());
        return docker(a, input, {"DOCKER_BUILDKIT=0"});
    }
};

TEST_F(CtldBuild, CommitKeepsTheContainersFileAndMetadata) {
    std::string base = pull_tiny();
    auto run = docker({"run", "--name", "cm", base, "sh", "-c", "echo committed-content > /marker"});
    ASSERT_EQ(run.status, 0) << run << daemon_log();
    std::string image = registry() + "/ctk-committed:v1";
    auto c = docker({"commit", "-a", "dev <dev@example.org>", "-m", "add marker", "-c", "CMD [\"cat\",\"/marker\"]",
                     "cm", image});
    ASSERT_EQ(c.status, 0) << c << daemon_log();
    EXPECT_EQ(trim(c.out).rfind("sha256:", 0), 0u) << c.out;
    EXPECT_EQ(trim(c.out).size(), 71u) << c.out;
    auto id = docker({"image", "inspect", "-f", "{{.Id}}", image});
    EXPECT_EQ(trim(id.out), trim(c.out)) << id;
    auto meta = docker({"image", "inspect", "-f", "{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}", image});
    EXPECT_EQ(meta.out, "dev <dev@example.org>|add marker|[\"cat\",\"/marker\"]\n") << meta;
    auto r = docker({"run", "--rm", image});
    EXPECT_EQ(r.status, 0) << r << daemon_log();
    EXPECT_EQ(r.out, "committed-content\n") << r;
    auto unknown = docker({"commit", "no-such-container", registry() + "/ctk-committed:v2"});
    EXPECT_NE(unknown.status, 0);
    EXPECT_NE(unknown.err.find("Error response from daemon"), std::string::npos) << unknown;
    EXPECT_EQ(docker({"rm", "cm"}).status, 0);
}

TEST_F(CtldBuild, LegacyBuildWithCopyAndRun) {
    std::string base = pull_tiny();
    std::string ctx = tmp() + "/ctx";
    make_dirs(ctx + "/sub");
    write_file_atomic(ctx + "/sub/hello.txt", "hello from the context\n");
    write_file_atomic(ctx + "/Dockerfile", "FROM " + base + "\n" +
                                               "COPY sub/hello.txt /data/hello.txt\n"
                                               "RUN cat /data/hello.txt > /data/out.txt && echo built-by-run >> /data/out.txt\n"
                                               "CMD [\"cat\", \"/data/out.txt\"]\n");
    std::string image = registry() + "/ctk-built:v1";
    auto b = legacy_build({"-t", image, ctx});
    ASSERT_EQ(b.status, 0) << b << daemon_log();
    EXPECT_NE(b.out.find("Step 1/4 : FROM " + base), std::string::npos) << b.out;
    EXPECT_NE(b.out.find("Step 3/4 : RUN cat /data/hello.txt"), std::string::npos) << b.out;
    EXPECT_NE(b.out.find("Successfully built "), std::string::npos) << b.out;
    EXPECT_NE(b.out.find("Successfully tagged " + image), std::string::npos) << b.out;
    auto r = docker({"run", "--rm", image});
    EXPECT_EQ(r.status, 0) << r << daemon_log();
    EXPECT_EQ(r.out, "hello from the context\nbuilt-by-run\n") << r;

    // -q prints the ID alone, the one the tag now names.
    auto q = legacy_build({"-q", "-t", image, ctx});
    ASSERT_EQ(q.status, 0) << q << daemon_log();
    auto id = docker({"image", "inspect", "-f", "{{.Id}}", image});
    EXPECT_EQ(q.out, id.out) << q;
}

TEST_F(CtldBuild, FailingRunStopsTheBuildWithoutATag) {
    std::string base = pull_tiny();
    std::string ctx = tmp() + "/ctx";
    make_dirs(ctx);
    write_file_atomic(ctx + "/Dockerfile", "FROM " + base + "\nRUN echo about-to-fail && exit 7\nCMD [\"true\"]\n");
    std::string image = registry() + "/ctk-failed:v1";
    auto b = legacy_build({"-t", image, ctx});
    EXPECT_NE(b.status, 0) << b;
    EXPECT_NE(b.out.find("about-to-fail"), std::string::npos) << b;
    EXPECT_NE(b.err.find("7"), std::string::npos) << b;
    EXPECT_EQ(docker({"images", "-q", image}).out, "");
    EXPECT_EQ(docker({"ps", "-aq"}).out, "") << "no containers left behind";
}

// A context tar whose entry climbs out: refused, nothing written beside the
// daemon's temporary context directory.
TEST_F(CtldBuild, ContextEntriesOutsideAreRefused) {
    pull_tiny();
    std::string dir = tmp() + "/evil";
    make_dirs(dir);
    write_file_atomic(dir + "/Dockerfile", "FROM " + registry() + "/tiny:latest\n");
    write_file_atomic(dir + "/x", "escaped\n");
    auto t = sh("cd " + dir + " && tar -P --transform='s,^x$,../../../../../../escaped-by-ctld-test,' -cf ../evil.tar Dockerfile x"
                " && tar -tPf ../evil.tar");
    ASSERT_EQ(t.status, 0) << t;
    ASSERT_NE(t.out.find("../escaped-by-ctld-test"), std::string::npos) << t.out;
    auto b = sh("DOCKER_BUILDKIT=0 docker build -t " + registry() + "/ctk-evil:v1 - < " + tmp() + "/evil.tar");
    EXPECT_NE(b.status, 0) << b;
    EXPECT_NE(b.err.find("build context: "), std::string::npos) << b << daemon_log();
    for (const std::string& at : {std::string("/"), ctk_root() + "/", ctk_root() + "/tmp/"})
        EXPECT_FALSE(std::filesystem::exists(at + "escaped-by-ctld-test")) << at;
    EXPECT_EQ(docker({"images", "-q", registry() + "/ctk-evil:v1"}).out, "");
}

} // namespace
} // namespace ctk::test
