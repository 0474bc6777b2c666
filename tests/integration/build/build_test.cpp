// Images from containers and Dockerfiles through ctl: commit, build (every
// instruction, multi-stage, cache, failures, bad files), history, and the
// results read by the peers (umoci unpack, skopeo through the registry).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "core/fs.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "ctl_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

class Build : public CtlTest {
protected:
    void SetUp() override {
        ::setenv("CTK_CTL_TEST_SUBNET", "10.232.0.0/16", 1);
        CtlTest::SetUp();
    }
    std::string ctx(const std::string& name) {
        std::string d = tmp() + "/" + name;
        make_dirs(d);
        return d;
    }
    void file(const std::string& path, const std::string& text, mode_t mode = 0644) {
        make_dirs(path.substr(0, path.rfind('/')));
        write_file_atomic(path, text, mode);
    }
    // Output of a container of IMAGE running `sh -c SCRIPT` (no network).
    std::string in_image(const std::string& image, const std::string& script) {
        auto r = ctl({"run", "--rm", "--network", "none", image, "sh", "-c", script});
        EXPECT_EQ(r.status, 0) << r;
        return r.out;
    }
    // umoci's unpack of a store image: its rootfs path.
    std::string umoci_unpack(const std::string& ref) {
        std::string b = tmp() + "/umoci-" + std::to_string(n_++);
        auto r = run_command({"umoci", "unpack", "--image", ctk_root() + "/images:" + ref, b});
        EXPECT_EQ(r.status, 0) << r;
        return b + "/rootfs";
    }
    // JSON lines of a non-terminal build, their "stream" texts joined.
    static std::string streams(const std::string& out) {
        std::string s;
        for (const auto& line : split(out, '\n')) {
            if (line.empty()) continue;
            Json j = Json::parse(line);
            if (j.contains("stream")) s += j["stream"].get<std::string>();
        }
        return s;
    }
    int n_ = 0;
};

bool exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

} // namespace

TEST_F(Build, CommitKeepsAddedChangedDeletedFilesAndAReplacedDirectory) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    auto r = ctl({"run", "--network", "none", "--name", "c1", tiny(), "sh", "-c",
                  "echo new > /added && echo changed >> /etc/group && rm /bin/true && "
                  "mkdir -p /var/old && echo o > /var/old/f && chmod 4750 /added"});
    ASSERT_EQ(r.status, 0) << r;
    auto c1 = ctl({"commit", "-m", "first", "-a", "tester", "c1", registry() + "/ctk-commit:v1"});
    ASSERT_EQ(c1.status, 0) << c1;
    // a second container replaces /var with a fresh directory: an opaque whiteout
    r = ctl({"run", "--network", "none", "--name", "c2", registry() + "/ctk-commit:v1", "sh", "-c",
             "rm -rf /var && mkdir /var && echo n > /var/new"});
    ASSERT_EQ(r.status, 0) << r;
    auto c2 = ctl({"commit", "-c", "ENV FOO=bar", "-c", "CMD [\"cat\", \"/added\"]", "c2", registry() + "/ctk-commit:v2"});
    ASSERT_EQ(c2.status, 0) << c2;
    EXPECT_EQ(c2.out.rfind("sha256:", 0), 0u) << c2.out;

    // ctl runs the new image with every change
    EXPECT_EQ(in_image(registry() + "/ctk-commit:v2",
                       "cat /added; tail -n 1 /etc/group; ls /bin/true >/dev/null 2>&1 || echo gone; ls /var; echo $FOO; "
                       "stat -c '%u:%g %a' /added"),
              "new\nchanged\ngone\nnew\nbar\n0:0 4750\n");
    auto cmd = ctl({"run", "--rm", "--network", "none", registry() + "/ctk-commit:v2"});
    EXPECT_EQ(cmd.out, "new\n") << cmd;
    auto insp = ctl({"inspect", "-f", "{{.Author}}|{{len .RootFS.Layers}}", registry() + "/ctk-commit:v1"});
    EXPECT_EQ(insp.out, "tester|2\n") << insp;

    // umoci unpacks the same tree
    std::string rootfs = umoci_unpack(registry() + "/ctk-commit:v2");
    EXPECT_EQ(read_file(rootfs + "/added"), "new\n");
    EXPECT_EQ(read_file(rootfs + "/etc/group"), "root:x:0:\nnogroup:x:65534:\nchanged\n");
    EXPECT_FALSE(exists(rootfs + "/bin/true"));
    EXPECT_TRUE(exists(rootfs + "/bin/sh"));
    EXPECT_FALSE(exists(rootfs + "/var/old"));
    EXPECT_EQ(read_file(rootfs + "/var/new"), "n\n");
    struct stat st;
    ASSERT_EQ(::stat((rootfs + "/added").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_mode & 07777, 04750u);

    // history: newest first, with the comment
    auto h = ctl({"history", "--format", "{{.CreatedBy}}|{{.Comment}}", "--no-trunc", registry() + "/ctk-commit:v1"});
    ASSERT_EQ(h.status, 0) << h;
    EXPECT_EQ(h.out.rfind("sh -c echo new > /added", 0), 0u) << h.out;
    EXPECT_NE(h.out.find("|first\n"), std::string::npos) << h.out;
}

TEST_F(Build, EveryInstructionAndTheTreeTheDockerfileDescribes) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    std::string c = ctx("ctx");
    file(c + "/a.txt", "A\n");
    file(c + "/conf/x.conf", "x\n");
    file(c + "/conf/y.conf", "y\n");
    file(c + "/conf/z.txt", "z\n");
    file(c + "/script.sh", "#!/bin/sh\necho script\n", 0755);
    file(c + "/secret.key", "no\n");
    file(c + "/.dockerignore", "# keys stay out\n*.key\n");
    std::string tar_src = ctx("tarsrc");
    file(tar_src + "/pkg/bin/tool", "tool\n", 0755);
    ASSERT_EQ(run_command({"tar", "-czf", c + "/pkg.tar.gz", "-C", tar_src, "pkg"}).status, 0);
    file(c + "/Dockerfile", "# escape=\\\nARG BASE=" + registry() + "/tiny:latest\n" + R"DF(FROM ${BASE} AS base
ARG WHO=nobody
ENV APP=/app \
    MODE=test
LABEL org.example.name="ctk test" version=1
WORKDIR $APP
COPY a.txt ./
COPY --chown=1000:1000 conf/*.conf conf/
ADD pkg.tar.gz /opt/
COPY script.sh /usr/local/bin/
RUN echo "run as $WHO in $(pwd)" > run.txt && rm /bin/wget
RUN ["/bin/sh", "-c", "echo exec form > exec.txt"]
SHELL ["/bin/sh", "-e", "-c"]
RUN echo shell >> run.txt
USER 1000:1000
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat run.txt"]
)DF");
    auto b = ctl({"build", "-t", registry() + "/ctk-build:all", "--build-arg", "WHO=tester", c});
    ASSERT_EQ(b.status, 0) << b;
    std::string s = streams(b.out);
    EXPECT_NE(s.find("Step 1/20 : ARG BASE=" + registry() + "/tiny:latest\n"), std::string::npos) << s;
    EXPECT_NE(s.find("Successfully tagged " + registry() + "/ctk-build:all\n"), std::string::npos) << s;
    EXPECT_NE(b.out.find("{\"aux\":{\"ID\":\"sha256:"), std::string::npos) << b.out;

    std::string img = registry() + "/ctk-build:all";
    auto insp = ctl({"inspect", "-f",
                     "{{.Config.User}}|{{.Config.WorkingDir}}|{{json .Config.Env}}|{{json .Config.ExposedPorts}}|"
                     "{{json .Config.Volumes}}|{{.Config.StopSignal}}|{{json .Config.Entrypoint}}|{{json .Config.Cmd}}|"
                     "{{index .Config.Labels \"org.example.name\"}}",
                     img});
    ASSERT_EQ(insp.status, 0) << insp;
    EXPECT_EQ(insp.out, "1000:1000|/app|[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\","
                        "\"APP=/app\",\"MODE=test\"]|{\"53/udp\":{},\"8080/tcp\":{}}|{\"/data\":{}}|SIGTERM|"
                        "[\"/bin/sh\",\"-c\"]|[\"cat run.txt\"]|ctk test\n")
        << insp;
    // the image's default command, run by ctl
    auto run = ctl({"run", "--rm", "--network", "none", img});
    EXPECT_EQ(run.out, "run as tester in /app\nshell\n") << run;

    // the tree, as umoci unpacks it
    std::string root = umoci_unpack(img);
    EXPECT_EQ(read_file(root + "/app/a.txt"), "A\n");
    EXPECT_EQ(read_file(root + "/app/conf/x.conf"), "x\n");
    EXPECT_EQ(read_file(root + "/app/conf/y.conf"), "y\n");
    EXPECT_FALSE(exists(root + "/app/conf/z.txt"));
    EXPECT_EQ(read_file(root + "/opt/pkg/bin/tool"), "tool\n");
    EXPECT_EQ(read_file(root + "/usr/local/bin/script.sh"), "#!/bin/sh\necho script\n");
    EXPECT_EQ(read_file(root + "/app/exec.txt"), "exec form\n");
    EXPECT_FALSE(exists(root + "/bin/wget"));
    EXPECT_TRUE(exists(root + "/bin/sh"));
    EXPECT_FALSE(exists(root + "/app/secret.key"));
    EXPECT_FALSE(exists(root + "/pkg.tar.gz"));
    EXPECT_FALSE(exists(root + "/app/Dockerfile"));
    struct stat st;
    ASSERT_EQ(::stat((root + "/app/conf/x.conf").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1000u);
    ASSERT_EQ(::stat((root + "/app/a.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    ASSERT_EQ(::stat((root + "/usr/local/bin/script.sh").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);

    // history lists every step, newest first, with the base's below
    auto h = ctl({"history", "--no-trunc", "--format", "{{.CreatedBy}}", img});
    auto lines = split(h.out, '\n');
    ASSERT_GE(lines.size(), 18u) << h.out;
    EXPECT_EQ(lines[0], "/bin/sh -c #(nop)  CMD [\"cat run.txt\"]");
    EXPECT_NE(h.out.find("|1 WHO=tester /bin/sh -c echo \"run as $WHO in $(pwd)\" > run.txt && rm /bin/wget\n"),
              std::string::npos)
        << h.out;
}

TEST_F(Build, MultiStageCopiesFromAStageAndStopsAtTheTarget) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    std::string c = ctx("ms");
    file(c + "/Dockerfile", "FROM " + tiny() + " AS builder\n"
                            "RUN mkdir -p /out && echo compiled > /out/app && chmod 755 /out/app\n"
                            "FROM scratch AS final\n"
                            "COPY --from=builder /out/app /app\n"
                            "FROM " + tiny() + " AS other\n"
                            "COPY --from=0 /out /copied\n"
                            "RUN cat /copied/app\n");
    auto b = ctl({"build", "-t", registry() + "/ctk-build:final", "--target", "final", c});
    ASSERT_EQ(b.status, 0) << b;
    EXPECT_EQ(streams(b.out).find("Step 5/"), std::string::npos) << b.out; // "other" is not built
    auto layers = ctl({"inspect", "-f", "{{len .RootFS.Layers}}", registry() + "/ctk-build:final"});
    EXPECT_EQ(layers.out, "1\n") << layers;
    std::string root = umoci_unpack(registry() + "/ctk-build:final");
    EXPECT_EQ(read_file(root + "/app"), "compiled\n");
    EXPECT_FALSE(exists(root + "/bin"));
    auto all = ctl({"build", "-t", registry() + "/ctk-build:other", c});
    ASSERT_EQ(all.status, 0) << all;
    EXPECT_NE(streams(all.out).find("compiled\n"), std::string::npos) << all.out;
    EXPECT_EQ(in_image(registry() + "/ctk-build:other", "cat /copied/app"), "compiled\n");
}

TEST_F(Build, SecondBuildComesFromTheCacheWithoutRunningAnything) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    std::string c = ctx("cache");
    file(c + "/f.txt", "one\n");
    file(c + "/Dockerfile", "FROM " + tiny() + "\nCOPY f.txt /f.txt\n"
                            "RUN cat /proc/sys/kernel/random/uuid > /id\nENV X=1\nCMD [\"cat\", \"/id\"]\n");
    auto b1 = ctl({"build", "-q", "-t", registry() + "/ctk-cache:1", c});
    ASSERT_EQ(b1.status, 0) << b1;
    std::string id1 = std::string(trim(b1.out));
    std::string uuid1 = ctl({"run", "--rm", "--network", "none", registry() + "/ctk-cache:1"}).out;
    ASSERT_EQ(uuid1.size(), 37u) << uuid1;

    auto b2 = ctl({"build", "-t", registry() + "/ctk-cache:2", c});
    ASSERT_EQ(b2.status, 0) << b2;
    std::string s = streams(b2.out);
    EXPECT_EQ(s.find("Running in"), std::string::npos) << s; // no container ran
    size_t hits = 0;
    for (size_t p = s.find("Using cache"); p != std::string::npos; p = s.find("Using cache", p + 1)) ++hits;
    EXPECT_EQ(hits, 4u) << s;
    EXPECT_NE(s.find("Successfully built " + id1.substr(7, 12)), std::string::npos) << s;
    EXPECT_EQ(ctl({"run", "--rm", "--network", "none", registry() + "/ctk-cache:2"}).out, uuid1);

    // a changed source invalidates its step and every step after it
    file(c + "/f.txt", "two\n");
    auto b3 = ctl({"build", "-t", registry() + "/ctk-cache:3", c});
    ASSERT_EQ(b3.status, 0) << b3;
    EXPECT_NE(streams(b3.out).find("Running in"), std::string::npos) << b3.out;
    EXPECT_NE(ctl({"run", "--rm", "--network", "none", registry() + "/ctk-cache:3"}).out, uuid1);
    // --no-cache runs everything again
    auto b4 = ctl({"build", "--no-cache", "-t", registry() + "/ctk-cache:4", c});
    ASSERT_EQ(b4.status, 0) << b4;
    EXPECT_EQ(streams(b4.out).find("Using cache"), std::string::npos) << b4.out;
}

TEST_F(Build, AFailingRunStopsWithItsStatusAndLeavesNothing) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    std::string c = ctx("fail");
    file(c + "/Dockerfile", "FROM " + tiny() + "\nRUN echo before-fail && exit 3\nCMD [\"true\"]\n");
    auto b = ctl({"build", "-t", registry() + "/ctk-fail:x", c});
    EXPECT_EQ(b.status, 3) << b;
    EXPECT_NE(streams(b.out).find("before-fail\n"), std::string::npos) << b.out;
    EXPECT_NE(b.out.find("\"errorDetail\":{\"code\":3,\"message\":\"The command '/bin/sh -c echo before-fail && exit 3' "
                         "returned a non-zero code: 3\"}"),
              std::string::npos)
        << b.out;
    EXPECT_EQ(ctl({"images", "-q", registry() + "/ctk-fail"}).out, "");
    auto mounts = read_file("/proc/self/mountinfo");
    EXPECT_EQ(mounts.find(ctk_root()), std::string::npos) << "a mount is left under the store";
    EXPECT_FALSE(exists(ctk_run() + "/runtime") && !run_command({"sh", "-c", "ls -A " + ctk_run() + "/runtime"}).out.empty());
    EXPECT_EQ(run_command({"sh", "-c", "ls -A " + ctk_root() + "/tmp"}).out, "");
    // ns-run's cgroups of the step container are gone too
    EXPECT_EQ(run_command({"find", "/sys/fs/cgroup", "-maxdepth", "7", "-name", "build-*"}).out, "");
}

TEST_F(Build, CopyFromAnImageWithNamedOwnersAndReincludedFiles) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    std::string c = ctx("names");
    file(c + "/keep/a.log", "a\n");
    file(c + "/keep/b.log", "b\n");
    file(c + "/keep/c.txt", "c\n");
    file(c + "/.dockerignore", "keep/*.log\n!keep/b.log\n");
    file(c + "/Dockerfile", "FROM " + tiny() + "\n"
                            "RUN echo 'app:x:1234:2345::/home/app:/bin/sh' >> /etc/passwd && "
                            "echo 'staff:x:3456:' >> /etc/group\n"
                            "COPY --chown=app:staff keep /keep/\n"
                            "COPY --from=" + tiny() + " /etc/group /from-image\n");
    auto b = ctl({"build", "-t", registry() + "/ctk-build:names", "-f", "-", c}, read_file(c + "/Dockerfile"));
    ASSERT_EQ(b.status, 0) << b;
    std::string root = umoci_unpack(registry() + "/ctk-build:names");
    EXPECT_FALSE(exists(root + "/keep/a.log"));
    EXPECT_EQ(read_file(root + "/keep/b.log"), "b\n");
    EXPECT_EQ(read_file(root + "/keep/c.txt"), "c\n");
    EXPECT_EQ(read_file(root + "/from-image"), read_file(umoci_unpack(tiny()) + "/etc/group"));
    struct stat st;
    ASSERT_EQ(::stat((root + "/keep/c.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 3456u);
}

TEST_F(Build, AnInterruptedBuildStopsBeforeItsNextStepAndLeavesNothing) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    std::string c = ctx("sig");
    file(c + "/Dockerfile", "FROM " + tiny() + "\nRUN sleep 1\nRUN echo second-step\n");
    // ctl alone gets SIGINT (as from kill, not a terminal) while the first RUN sleeps
    auto r = sh(tool_path("ctl") + " build -t " + registry() + "/ctk-sig:x " + c + " > " + tmp() + "/out & pid=$!; "
                "sleep 0.5; kill -INT $pid; wait $pid; echo status=$?");
    EXPECT_NE(r.out.find("status=1"), std::string::npos) << r;
    EXPECT_NE(r.err.find("interrupted by signal 2"), std::string::npos) << r;
    EXPECT_EQ(read_file(tmp() + "/out").find("second-step"), std::string::npos);
    EXPECT_EQ(ctl({"images", "-q", registry() + "/ctk-sig"}).out, "");
    EXPECT_EQ(read_file("/proc/self/mountinfo").find(ctk_root()), std::string::npos);
    EXPECT_EQ(run_command({"sh", "-c", "ls -A " + ctk_root() + "/tmp"}).out, "");
}

TEST_F(Build, BadDockerfilesGetDockersMessagesWithTheLine) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    auto expect_error = [&](const std::string& dockerfile, const std::string& message) {
        std::string c = ctx("bad" + std::to_string(n_++));
        file(c + "/Dockerfile", dockerfile);
        file(c + "/present.txt", "p\n");
        auto b = ctl({"build", c});
        EXPECT_NE(b.status, 0) << b;
        EXPECT_NE((b.err + b.out).find(message), std::string::npos) << dockerfile << "\n" << b;
    };
    expect_error("FROM " + tiny() + "\nRUNN true\n", "dockerfile parse error line 2: unknown instruction: RUNN");
    expect_error("# comment\nRUN true\n", "no build stage in current context");
    expect_error("FROM " + tiny() + "\nCOPY ../outside /x\n", "forbidden path outside the build context: ../outside");
    expect_error("FROM " + tiny() + "\nCOPY missing.txt /x\n",
                 "file not found in build context or excluded by .dockerignore: stat missing.txt");
    {
        std::string c = ctx("badjson");
        file(c + "/Dockerfile", "FROM " + tiny() + "\nFOO bar\n");
        auto b = ctl({"build", c});
        EXPECT_EQ(b.status, 1) << b;
        // not a terminal: the JSON stream ends with the error too
        EXPECT_NE(b.out.find("{\"error\":\"dockerfile parse error line 2: unknown instruction: FOO\""), std::string::npos) << b;
    }
    expect_error("FROM ${NOPE}\n", "base name (${NOPE}) should not be blank");
    expect_error("FROM " + tiny() + "\nARG\n", "dockerfile parse error line 2: ARG requires at least one argument");
    expect_error("FROM " + tiny() + "\nCOPY present.txt present.txt /x\n",
                 "the destination must be a directory and end with a /");
}

TEST_F(Build, APushedImageIsPulledBackBySkopeoWithTheSameDigests) {
    CTK_REQUIRE_ROOT();
    load_tiny();
    std::string c = ctx("push");
    file(c + "/hello", "hello\n");
    file(c + "/Dockerfile", "FROM " + tiny() + "\nCOPY hello /hello\nRUN echo ran > /ran\n");
    std::string repo = registry() + "/ctk-build-it/pushed-" + random_hex(4) + ":v1";
    auto b = ctl({"build", "-t", repo, c});
    ASSERT_EQ(b.status, 0) << b;
    auto p = ctl({"push", repo});
    ASSERT_EQ(p.status, 0) << p;
    auto digest = ctl({"inspect", "-f", "{{index .RepoDigests 0}}", repo});
    ASSERT_EQ(digest.status, 0) << digest;
    std::string ours = std::string(trim(digest.out));
    ours = ours.substr(ours.find('@') + 1);
    auto ins = run_command({"skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", "docker://" + repo});
    ASSERT_EQ(ins.status, 0) << ins;
    EXPECT_EQ(std::string(trim(ins.out)), ours);
    auto cp = run_command({"skopeo", "copy", "-q", "--src-tls-verify=false", "docker://" + repo, "oci:" + tmp() + "/back:v1"});
    ASSERT_EQ(cp.status, 0) << cp;
    auto u = run_command({"umoci", "unpack", "--image", tmp() + "/back:v1", tmp() + "/back-bundle"});
    ASSERT_EQ(u.status, 0) << u;
    EXPECT_EQ(read_file(tmp() + "/back-bundle/rootfs/hello"), "hello\n");
    EXPECT_EQ(read_file(tmp() + "/back-bundle/rootfs/ran"), "ran\n");
}
