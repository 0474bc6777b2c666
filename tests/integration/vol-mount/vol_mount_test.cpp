// vol-mount as a user runs it, on bundles of the tiny fixture image (umoci unpack), with
// each OCI runtime the flows run under (VolMountRuntimeTest: runc, and ns-run once it is
// built): data outlives containers, is shared by running containers, copy-up, read-only,
// tmpfs limits; and the runtime-free parts: in-use refusal, bad input, propagation.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json.hpp"
#include "tool_test.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {

class VolMountTest : public ToolTest {
public:
    static bool built(const std::string& tool) { return ::access(tool_path(tool).c_str(), X_OK) == 0; }

protected:
    void SetUp() override {
        ToolTest::SetUp();
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";
        for (const char* p : {"runc", "umoci"})
            if (!have_program(p)) GTEST_FAIL() << p << " is not installed (scripts/install-deps.sh)";
        runc_root_ = tmp() + "/runtime";
        make_dirs(runc_root_);
    }

    // The runtime the containers run under: "runc" or "ns-run" (the built tool).
    virtual std::string runtime() const { return "runc"; }
    std::vector<std::string> runtime_argv(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {runtime() == "ns-run" ? tool_path("ns-run") : runtime(), "--root", runc_root_};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }

    // A bundle of the tiny image (busybox), ready for runc.
    std::string make_bundle(const std::string& name) {
        std::string b = tmp() + "/" + name;
        auto r = run_command({"umoci", "unpack", "--image", fixture_layout("tiny") + ":latest", b});
        EXPECT_EQ(r.status, 0) << r;
        return b;
    }

    void set_args(const std::string& bundle, const std::vector<std::string>& args) {
        Json c = read_json_file(bundle + "/config.json");
        c["process"]["args"] = args;
        c["process"]["terminal"] = false;
        write_json_file(bundle + "/config.json", c);
    }

    ToolResult vol(const std::vector<std::string>& args) { return run("vol-mount", args); }

    // Runs the container in the foreground; `run` deletes it when it exits.
    ToolResult runc_run(const std::string& bundle, const std::string& script) {
        set_args(bundle, {"sh", "-c", script});
        std::string id = "vm-" + random_hex(4);
        defer([this, id] { run_command(runtime_argv({"delete", "-f", id})); });
        return run_command(runtime_argv({"run", "-b", bundle, id}));
    }

    // Starts the container detached (its stdio on /dev/null); returns its id.
    std::string runc_start(const std::string& bundle, const std::string& script) {
        set_args(bundle, {"sh", "-c", script});
        std::string id = "vm-" + random_hex(4);
        defer([this, id] { run_command(runtime_argv({"delete", "-f", id})); });
        std::vector<std::string> argv = {"sh", "-c", "exec \"$@\" </dev/null >/dev/null 2>&1", "sh"};
        for (auto& a : runtime_argv({"run", "-d", "-b", bundle, id})) argv.push_back(a);
        auto r = run_command(argv);
        EXPECT_EQ(r.status, 0) << r;
        return id;
    }

    std::string data_of(const std::string& volume) { return ctk_root() + "/volumes/" + volume + "/_data"; }

    // Waits (bounded) until a file exists.
    bool wait_for(const std::string& path) {
        for (int i = 0; i < 400; i++) {
            if (::access(path.c_str(), F_OK) == 0) return true;
            ::usleep(50000);
        }
        return false;
    }

    std::string runc_root_;
};

class VolMountRuntimeTest : public VolMountTest, public ::testing::WithParamInterface<std::string> {
protected:
    std::string runtime() const override { return GetParam(); }
};

} // namespace

TEST_P(VolMountRuntimeTest, DataOutlivesTheContainer) {
    std::string b1 = make_bundle("c1");
    auto a = vol({"apply", b1, "-v", "data:/data"});
    ASSERT_EQ(a.status, 0) << a;
    auto w = runc_run(b1, "echo hello > /data/greeting");
    ASSERT_EQ(w.status, 0) << w;
    ASSERT_EQ(vol({"release", b1}).status, 0);
    remove_tree(b1);

    std::string b2 = make_bundle("c2");
    ASSERT_EQ(vol({"apply", b2, "-v", "data:/data"}).status, 0);
    auto r = runc_run(b2, "cat /data/greeting");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "hello\n");

    auto ls = vol({"ls", "--json"});
    ASSERT_EQ(ls.status, 0) << ls;
    auto lines = ls.json_lines();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["Name"], "data");
    ASSERT_EQ(lines[0]["Users"].size(), 1u);
    EXPECT_EQ(lines[0]["Users"][0]["Id"], "c2");
}

TEST_P(VolMountRuntimeTest, TwoContainersShareAVolumeAtOnce) {
    std::string b1 = make_bundle("c1"), b2 = make_bundle("c2");
    ASSERT_EQ(vol({"apply", b1, "-v", "shared:/s"}).status, 0);
    ASSERT_EQ(vol({"apply", b2, "--mount", "type=volume,src=shared,dst=/s"}).status, 0);
    runc_start(b1, "echo one > /s/one; i=0; while [ ! -f /s/two ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done;"
                   " cat /s/two > /s/ack; sleep 60");
    ASSERT_TRUE(wait_for(data_of("shared") + "/one")) << "the first container did not start";
    auto r = runc_run(b2, "cat /s/one; echo two > /s/two; i=0; while [ ! -s /s/ack ] && [ $i -lt 300 ]; do sleep 0.1;"
                          " i=$((i+1)); done; cat /s/ack");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "one\ntwo\n") << "each container saw the other's write while both ran";
    auto ls = vol({"ls", "--json"});
    EXPECT_EQ(ls.json_lines().at(0)["Users"].size(), 2u);
}

TEST_P(VolMountRuntimeTest, CopyUpOfEtc) {
    std::string b = make_bundle("c1");
    auto a = vol({"apply", b, "-v", "etc:/etc"});
    ASSERT_EQ(a.status, 0) << a;
    Json j = a.json();
    EXPECT_EQ(j["volumes"][0]["CopiedUp"], true);
    for (const char* f : {"passwd", "group"}) {
        std::string img = b + "/rootfs/etc/" + f, vol_file = data_of("etc") + "/" + f;
        EXPECT_EQ(read_file(vol_file), read_file(img)) << f;
        struct stat si, sv;
        ASSERT_EQ(::stat(img.c_str(), &si), 0);
        ASSERT_EQ(::stat(vol_file.c_str(), &sv), 0);
        EXPECT_EQ(si.st_mode, sv.st_mode);
        EXPECT_EQ(si.st_uid, sv.st_uid);
        EXPECT_EQ(si.st_gid, sv.st_gid);
    }
    auto r = runc_run(b, "cat /etc/passwd; echo added >> /etc/passwd");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, read_file(b + "/rootfs/etc/passwd"));
    // Only once: the volume keeps its own /etc from now on.
    ASSERT_EQ(vol({"release", b}).status, 0);
    std::string b2 = make_bundle("c2");
    auto a2 = vol({"apply", b2, "-v", "etc:/etc"});
    ASSERT_EQ(a2.status, 0) << a2;
    EXPECT_EQ(a2.json()["volumes"][0]["CopiedUp"], false);
    EXPECT_NE(read_file(data_of("etc") + "/passwd").find("added"), std::string::npos);
}

TEST_F(VolMountTest, CopyUpKeepsOwnersModesLinksAndXattrs) {
    std::string b = make_bundle("c1");
    std::string d = b + "/rootfs/srv/app";
    make_dirs(d + "/sub");
    write_file_atomic(d + "/tool", "#!/bin/sh\n", 0755);
    ASSERT_EQ(::chown((d + "/tool").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::chmod((d + "/tool").c_str(), 04755), 0);
    ASSERT_EQ(::chown(d.c_str(), 1000, 1000), 0);
    ASSERT_EQ(::chmod(d.c_str(), 0750), 0);
    ASSERT_EQ(::chown((d + "/sub").c_str(), 65534, 65534), 0);
    ASSERT_EQ(::link((d + "/tool").c_str(), (d + "/sub/tool-hardlink").c_str()), 0);
    ASSERT_EQ(::symlink("/srv/app/tool", (d + "/abs-link").c_str()), 0);
    ASSERT_EQ(::lchown((d + "/abs-link").c_str(), 42, 43), 0);
    ASSERT_EQ(::mknod((d + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    ASSERT_EQ(::setxattr((d + "/tool").c_str(), "trusted.ctk", "t1", 2, 0), 0);
    ASSERT_EQ(::setxattr((d + "/tool").c_str(), "security.capability",
                         "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20, 0),
              0);

    auto a = vol({"apply", b, "-v", "app:/srv/app"});
    ASSERT_EQ(a.status, 0) << a;
    std::string v = data_of("app");
    struct stat st;
    ASSERT_EQ(::lstat(v.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_mode & 07777, 0750u) << "the volume root takes the image directory's owner and mode";
    ASSERT_EQ(::lstat((v + "/tool").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    EXPECT_EQ(st.st_mode & 07777, 04755u) << "set-id bits survive the chown";
    EXPECT_EQ(st.st_nlink, 2u);
    struct stat hl;
    ASSERT_EQ(::lstat((v + "/sub/tool-hardlink").c_str(), &hl), 0);
    EXPECT_EQ(hl.st_ino, st.st_ino);
    ASSERT_EQ(::lstat((v + "/sub").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);
    ASSERT_EQ(::lstat((v + "/abs-link").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    EXPECT_EQ(st.st_uid, 42u);
    ASSERT_EQ(::lstat((v + "/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    char buf[64] = {};
    EXPECT_EQ(::getxattr((v + "/tool").c_str(), "trusted.ctk", buf, sizeof buf), 2);
    EXPECT_STREQ(buf, "t1");
    EXPECT_EQ(::getxattr((v + "/tool").c_str(), "security.capability", buf, sizeof buf), 20) << "file capabilities";
}

TEST_F(VolMountTest, ConcurrentAppliesShareOneVolume) {
    std::string b1 = make_bundle("c1"), b2 = make_bundle("c2");
    auto r = run_command({"sh", "-c", "\"$0\" apply \"$1\" -v race:/r >/dev/null & a=$!; "
                                      "\"$0\" apply \"$2\" -v race:/r >/dev/null & b=$!; "
                                      "wait $a; ea=$?; wait $b; eb=$?; echo $ea $eb",
                          tool_path("vol-mount"), b1, b2});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "0 0\n") << r;
    auto ls = vol({"ls", "--json"}).json_lines();
    ASSERT_EQ(ls.size(), 1u);
    EXPECT_EQ(ls[0]["Users"].size(), 2u);
}

TEST_F(VolMountTest, CopyUpNeverReadsTheHost) {
    std::string b = make_bundle("c1");
    std::string host = tmp() + "/host-secret";
    make_dirs(host);
    write_file_atomic(host + "/secret", "host only");
    ASSERT_EQ(::symlink(host.c_str(), (b + "/rootfs/abs").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../../../../../../../..", (b + "/rootfs/up").c_str()), 0);
    auto a = vol({"apply", b, "-v", "v1:/abs", "-v", "v2:/up" + host});
    ASSERT_EQ(a.status, 0) << a;
    EXPECT_NE(::access((data_of("v1") + "/secret").c_str(), F_OK), 0);
    EXPECT_NE(::access((data_of("v2") + "/secret").c_str(), F_OK), 0);
    // Through a symlink that stays inside, the image's directory is copied.
    ASSERT_EQ(::symlink("/etc", (b + "/rootfs/etclink").c_str()), 0);
    ASSERT_EQ(vol({"apply", b, "-v", "v3:/etclink"}).status, 0);
    EXPECT_EQ(read_file(data_of("v3") + "/passwd"), read_file(b + "/rootfs/etc/passwd"));
}

TEST_P(VolMountRuntimeTest, ReadOnlyVolumeAndRecursiveReadOnlyBind) {
    std::string b = make_bundle("c1");
    std::string host = tmp() + "/hostdir";
    make_dirs(host + "/sub");
    // A mount below the bind source: rro must make it read-only as well.
    ASSERT_EQ(::mount("tmpfs", (host + "/sub").c_str(), "tmpfs", 0, "size=1m"), 0);
    defer([host] { ::umount2((host + "/sub").c_str(), MNT_DETACH); });
    auto a = vol({"apply", b, "-v", "rov:/ro:ro", "-v", host + ":/h:ro", "-v", "rwv:/rw"});
    ASSERT_EQ(a.status, 0) << a;
    auto r = runc_run(b, "touch /rw/ok && echo rw-ok; touch /ro/x 2>/dev/null || echo ro-refused;"
                         " touch /h/x 2>/dev/null || echo bind-refused; touch /h/sub/x 2>/dev/null || echo sub-refused");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "rw-ok\nro-refused\nbind-refused\nsub-refused\n");
    EXPECT_NE(::access((host + "/sub/x").c_str(), F_OK), 0);
}

TEST_F(VolMountTest, CrunRunsTheSameBundle) {
    if (!have_program("crun")) GTEST_FAIL() << "crun is not installed (scripts/install-deps.sh)";
    std::string b = make_bundle("c1");
    std::string host = tmp() + "/hostdir";
    make_dirs(host + "/sub");
    ASSERT_EQ(::mount("tmpfs", (host + "/sub").c_str(), "tmpfs", 0, "size=1m"), 0);
    defer([host] { ::umount2((host + "/sub").c_str(), MNT_DETACH); });
    auto a = vol({"apply", b, "-v", "cv:/v", "-v", "cv:/ro:ro", "-v", host + ":/h:ro", "--tmpfs", "/t:size=1m"});
    ASSERT_EQ(a.status, 0) << a;
    set_args(b, {"sh", "-c", "echo via-crun > /v/f; cat /ro/f; touch /ro/x 2>/dev/null || echo ro-refused;"
                             " touch /h/sub/x 2>/dev/null || echo sub-refused;"
                             " head -c 2097152 /dev/zero > /t/f 2>/dev/null; wc -c < /t/f"});
    std::string id = "vm-" + random_hex(4), root = tmp() + "/crun";
    // crun 1.8 refuses hybrid cgroups: it runs in a private mount namespace without the
    // cgroup2 mount (the host keeps it), as bench/anchors.sh does.
    std::string wrap = "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root \"$0\" run -b \"$1\" \"$2\"";
    defer([this, root, id] {
        run_command({"unshare", "-m", "--propagation", "private", "sh", "-c",
                     "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root \"$0\" delete -f \"$1\"", root, id});
    });
    auto r = run_command({"unshare", "-m", "--propagation", "private", "sh", "-c", wrap, root, b, id});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "via-crun\nro-refused\nsub-refused\n1048576\n");
}

TEST_F(VolMountTest, RemoveRefusedWhileUsed) {
    std::string b = make_bundle("c1");
    ASSERT_EQ(vol({"apply", "--id", "box1", b, "-v", "busy:/b"}).status, 0);
    auto rm = vol({"rm", "busy"});
    EXPECT_EQ(rm.status, 5) << rm;
    EXPECT_NE(rm.err.find("in use by box1"), std::string::npos) << rm;
    EXPECT_EQ(vol({"inspect", "busy"}).status, 0);
    auto prune = vol({"prune", "--all"});
    ASSERT_EQ(prune.status, 0);
    EXPECT_EQ(prune.json()["VolumesDeleted"], Json::array());
    auto rel = vol({"release", "--id", "box1", b});
    ASSERT_EQ(rel.status, 0) << rel;
    EXPECT_EQ(rel.json()["released"], Json::array({"busy"}));
    auto rm2 = vol({"rm", "busy"});
    EXPECT_EQ(rm2.status, 0) << rm2;
    EXPECT_EQ(vol({"inspect", "busy"}).status, 4);
}

TEST_P(VolMountRuntimeTest, TmpfsSizeLimit) {
    std::string b = make_bundle("c1");
    auto a = vol({"apply", b, "--tmpfs", "/t1:size=1m", "--mount", "type=tmpfs,dst=/t2,tmpfs-size=1m,tmpfs-mode=1770"});
    ASSERT_EQ(a.status, 0) << a;
    auto r = runc_run(b, "head -c 2097152 /dev/zero > /t1/f 2>/dev/null && echo t1-unlimited; wc -c < /t1/f;"
                         " head -c 2097152 /dev/zero > /t2/f 2>/dev/null && echo t2-unlimited; wc -c < /t2/f;"
                         " stat -c %a /t2");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "1048576\n1048576\n1770\n");
}

TEST_P(VolMountRuntimeTest, TmpfsVolumeIsSharedAndLimited) {
    auto c = vol({"create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=1m", "tv"});
    ASSERT_EQ(c.status, 0) << c;
    EXPECT_EQ(c.json()["Options"]["o"], "size=1m");
    std::string b = make_bundle("c1");
    ASSERT_EQ(vol({"apply", b, "-v", "tv:/tv"}).status, 0);
    auto r = runc_run(b, "head -c 2097152 /dev/zero > /tv/f 2>/dev/null; wc -c < /tv/f");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "1048576\n");
    struct stat st;
    ASSERT_EQ(::stat((data_of("tv") + "/f").c_str(), &st), 0) << "the host sees the same tmpfs";
    EXPECT_EQ(st.st_size, 1048576);
    ASSERT_EQ(vol({"release", b}).status, 0);
    EXPECT_NE(::access((data_of("tv") + "/f").c_str(), F_OK), 0) << "unmounted with its last user";
}

TEST_P(VolMountRuntimeTest, BindDeviceVolumeKeepsHostData) {
    std::string host = tmp() + "/device";
    make_dirs(host);
    write_file_atomic(host + "/keep", "precious");
    auto c = vol({"create", "bv", "--opt", "type=none,device=" + host + ",o=bind"});
    ASSERT_EQ(c.status, 0) << c;
    std::string b = make_bundle("c1");
    ASSERT_EQ(vol({"apply", b, "-v", "bv:/bv"}).status, 0);
    auto r = runc_run(b, "cat /bv/keep; echo new > /bv/new");
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "precious");
    EXPECT_EQ(read_file(host + "/new"), "new\n");
    // rm -f while used: the volume goes, the host directory it bound stays whole.
    auto rm = vol({"rm", "-f", "bv"});
    ASSERT_EQ(rm.status, 0) << rm;
    EXPECT_EQ(read_file(host + "/keep"), "precious");
    EXPECT_EQ(read_file(host + "/new"), "new\n");
}

TEST_F(VolMountTest, BadInputChangesNothing) {
    std::string b = make_bundle("c1");
    std::string before = read_file(b + "/config.json");
    struct Case {
        std::vector<std::string> args;
        int status;
    } cases[] = {
        {{"-v", "ok1:/a", "-v", "x:/b"}, 3},                     // name too short
        {{"-v", "ok1:/a", "-v", "ok2:relative"}, 3},             // relative container path
        {{"-v", "ok1:/a", "--mount", "type=volume,src=ok2,dst=/b,colour=red"}, 3}, // unknown option
        {{"-v", "ok1:/a", "--tmpfs", "/t:size=1m,bogus"}, 3},
        {{"-v", "ok1:/a", "--mount", "type=bind,src=/nonexistent-ctk,dst=/b"}, 4},
        {{"-v", "ok1:/a", "-v", "ok2:/a"}, 3},                   // duplicate mount point
        {{"-v", "ok1:/a", "-v", "pw:/etc/passwd"}, 3},           // volume over a file
        {{"-v", "ok1:/a", "--bogus"}, 2},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args = {"apply", b};
        args.insert(args.end(), c.args.begin(), c.args.end());
        auto r = vol(args);
        EXPECT_EQ(r.status, c.status) << r;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
        EXPECT_EQ(r.err.rfind("vol-mount: ", 0), 0u) << r.err;
    }
    EXPECT_EQ(read_file(b + "/config.json"), before);
    auto ls = vol({"ls", "-q"});
    EXPECT_EQ(ls.out, "") << "no volume was created";
    EXPECT_EQ(vol({"apply", "--id", "../x", b, "-v", "ok1:/a"}).status, 3);
    EXPECT_EQ(vol({"create", "a"}).status, 3);
    EXPECT_EQ(vol({"create", "--opt", "colour=red", "ok3"}).status, 3);
    EXPECT_EQ(vol({"rm", "nope"}).status, 4);
    EXPECT_EQ(vol({"ls", "-q"}).out, "");
}

TEST_F(VolMountTest, SpecInspectAndPropagation) {
    // A shared mount to bind with rshared, made and removed by the test.
    std::string shared = tmp() + "/shared";
    make_dirs(shared);
    ASSERT_EQ(::mount("tmpfs", shared.c_str(), "tmpfs", 0, "size=1m"), 0);
    defer([shared] { ::umount2(shared.c_str(), MNT_DETACH); });
    ASSERT_EQ(::mount("", shared.c_str(), nullptr, MS_SHARED, nullptr), 0);
    std::string priv = tmp() + "/private";
    make_dirs(priv);
    ASSERT_EQ(::mount("tmpfs", priv.c_str(), "tmpfs", 0, "size=1m"), 0);
    defer([priv] { ::umount2(priv.c_str(), MNT_DETACH); });
    ASSERT_EQ(::mount("", priv.c_str(), nullptr, MS_PRIVATE, nullptr), 0);

    auto s = vol({"spec", "-v", "sv:/sv:ro", "-v", shared + ":/sh:rshared", "--tmpfs", "/run:size=64m,mode=1777"});
    ASSERT_EQ(s.status, 0) << s;
    Json m = s.json()["mounts"];
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0], (Json{{"destination", "/sv"}, {"type", "bind"}, {"source", data_of("sv")},
                          {"options", {"rbind", "ro", "rro"}}}));
    EXPECT_EQ(m[1]["options"], (Json{"rbind", "rshared"}));
    EXPECT_EQ(m[2], (Json{{"destination", "/run"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                          {"options", {"noexec", "nosuid", "nodev", "rprivate", "size=64m", "mode=1777"}}}));
    auto i = vol({"inspect", "sv"});
    ASSERT_EQ(i.status, 0) << i;
    Json v = i.json();
    EXPECT_EQ(v["Name"], "sv");
    EXPECT_EQ(v["Driver"], "local");
    EXPECT_EQ(v["Scope"], "local");
    EXPECT_EQ(v["Mountpoint"], data_of("sv"));
    EXPECT_TRUE(v["CreatedAt"].is_string());
    EXPECT_TRUE(v["Labels"].is_object());
    EXPECT_TRUE(v["Options"].is_object());

    std::string b = make_bundle("c1");
    ASSERT_EQ(vol({"apply", b, "-v", shared + ":/sh:rshared"}).status, 0);
    EXPECT_EQ(read_json_file(b + "/config.json")["linux"]["rootfsPropagation"], "shared");
    auto bad = vol({"apply", b, "-v", priv + ":/p:rslave"});
    EXPECT_EQ(bad.status, 3) << bad;
}

// Every runtime the build has: runc always, ns-run once tools/ns-run is part of the tree.
static std::vector<std::string> runtimes() {
    std::vector<std::string> r = {"runc"};
    if (VolMountTest::built("ns-run")) r.push_back("ns-run");
    return r;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, VolMountRuntimeTest, ::testing::ValuesIn(runtimes()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                             std::string n = i.param;
                             std::erase(n, '-');
                             return n;
                         });
