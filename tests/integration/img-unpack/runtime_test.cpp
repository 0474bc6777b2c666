// Bundles run under the peers: runc on the host's (hybrid) cgroups, crun in
// a private mount namespace without the cgroup2 mount it refuses
// (../shared/bench/anchors.sh does the same).
#include "unpack_test.hpp"

using namespace ctk;
using namespace ctk::test;

class Runtime : public UnpackTest {
protected:
    ToolResult runc(const std::string& bundle, const std::string& id) {
        std::string state = tmp() + "/runc-state";
        defer([this, state, id] { run_command({"runc", "--root", state, "delete", "--force", id}); });
        return run_command({"runc", "--root", state, "run", "--bundle", bundle, id});
    }
    ToolResult crun(const std::string& bundle, const std::string& id) {
        std::string state = tmp() + "/crun-state";
        std::string script = "umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root \"$1\" run --bundle \"$2\" \"$3\"";
        defer([this, state, id] {
            run_command({"unshare", "-m", "--propagation", "private", "--", "sh", "-c",
                         "umount /sys/fs/cgroup/unified 2>/dev/null; crun --root \"$1\" delete --force \"$2\"", "sh",
                         state, id});
        });
        return run_command({"unshare", "-m", "--propagation", "private", "--", "sh", "-c", script, "sh", state,
                            bundle, id});
    }
    std::string id(const std::string& what) { return "ctk-iu-" + what + "-" + std::to_string(::getpid()); }
};

TEST_F(Runtime, TrueUnderRuncAndCrun) {
    ASSERT_TRUE(have_program("runc") && have_program("crun")) << "runc and crun are declared peers";
    for (const char* mode : {"flat", "overlay"}) {
        std::string b = tmp() + "/" + mode;
        unpack_ok({"--mode", mode, "--image", image("tiny", "latest")}, b, {"/bin/true"});
        ToolResult r = runc(b, id(std::string("runc-") + mode));
        EXPECT_EQ(r.status, 0) << mode << " " << r;
        r = crun(b, id(std::string("crun-") + mode));
        EXPECT_EQ(r.status, 0) << mode << " " << r;
    }
}

TEST_F(Runtime, ConfinedLikeDocker) {
    // The process sees Docker's capability set, a seccomp filter, its user
    // from the image's /etc/passwd and the environment of the image.
    std::string b = tmp() + "/b";
    unpack_ok({"-u", "nobody", "-e", "GREETING=hi", "--image", image("tiny", "latest")}, b,
              {"/bin/sh", "-c", "grep -E '^(CapEff|Seccomp):' /proc/self/status; id -u; echo $GREETING $HOME"});
    for (bool use_crun : {false, true}) {
        ToolResult r = use_crun ? crun(b, id("crun-confined")) : runc(b, id("runc-confined"));
        ASSERT_EQ(r.status, 0) << r;
        EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
        // nobody has no effective capabilities
        EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("65534\nhi /nonexistent"), std::string::npos) << r.out;
    }
    // root gets exactly Docker's 14 capabilities: 0xa80425fb
    std::string rb = tmp() + "/root";
    unpack_ok({"--image", image("tiny", "latest")}, rb, {"/bin/sh", "-c", "grep CapBnd /proc/self/status"});
    ToolResult r = runc(rb, id("runc-caps"));
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_NE(r.out.find("00000000a80425fb"), std::string::npos) << r.out;
}
