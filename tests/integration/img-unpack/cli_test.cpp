// The command line: usage errors, and the options that shape config.json.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "core/fd.hpp"
#include "core/fs.hpp"
#include "unpack_test.hpp"

using namespace ctk;
using namespace ctk::test;

class Cli : public UnpackTest {};

TEST_F(Cli, Usage) {
    ToolResult r = unpack({"--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("--release BUNDLE"), std::string::npos) << r.out;
    EXPECT_EQ(unpack({tmp() + "/b"}).status, 2);                                        // no image
    EXPECT_EQ(unpack({"--image", image("tiny", "latest")}).status, 2);                  // no bundle
    EXPECT_EQ(unpack({"--image", "a", "--archive", "b", tmp() + "/b"}).status, 2);      // two images
    EXPECT_EQ(unpack({"--mode", "fast", "--image", image("tiny", "latest"), tmp() + "/b"}).status, 2);
    EXPECT_EQ(unpack({"--bogus"}).status, 2);
    r = unpack({"--image", tmp() + "/nowhere:latest", tmp() + "/b"});
    EXPECT_EQ(r.status, 4) << r;
    EXPECT_EQ(r.err.find("\n"), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_EQ(r.err.rfind("img-unpack: ", 0), 0u) << r.err;
    EXPECT_FALSE(exists(tmp() + "/b"));
}

TEST_F(Cli, ConfigJsonFromTheImageAndOptions) {
    std::string b = tmp() + "/b";
    unpack_ok({"--image", image("tiny", "latest")}, b);
    Json c = read_json_file(b + "/config.json");
    EXPECT_EQ(c["ociVersion"].get<std::string>().substr(0, 2), "1.");
    EXPECT_EQ(c["process"]["args"], Json({"sh"}));
    EXPECT_EQ(c["process"]["cwd"], "/");
    EXPECT_EQ(c["process"]["user"]["uid"], 0);
    EXPECT_EQ(c["root"]["path"], "rootfs");
    EXPECT_EQ(c["hostname"], "b");
    EXPECT_EQ(c["annotations"]["org.opencontainers.image.title"], "ctk tiny fixture");
    EXPECT_EQ(c["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    EXPECT_EQ(c["process"]["capabilities"]["bounding"].size(), 14u);

    std::string o = tmp() + "/o";
    unpack_ok({"--entrypoint", "/bin/busybox", "-e", "A=1", "-e", "PATH=/bin", "-u", "nobody:nogroup", "-w", "/tmp",
               "--hostname", "web", "-t", "--read-only", "--cap-add", "net_admin", "--cap-drop", "ALL",
               "--seccomp", "unconfined", "--no-new-privileges", "--image", image("tiny", "latest")},
              o, {"sh", "-c", "echo $A"});
    c = read_json_file(o + "/config.json");
    EXPECT_EQ(c["process"]["args"], Json({"/bin/busybox", "sh", "-c", "echo $A"}));
    EXPECT_EQ(c["process"]["user"]["uid"], 65534);
    EXPECT_EQ(c["process"]["user"]["gid"], 65534);
    EXPECT_EQ(c["process"]["cwd"], "/tmp");
    EXPECT_EQ(c["process"]["terminal"], true);
    EXPECT_EQ(c["process"]["noNewPrivileges"], true);
    EXPECT_EQ(c["process"]["env"],
              Json({"PATH=/bin", "HOSTNAME=web", "TERM=xterm", "A=1", "HOME=/nonexistent"}));
    EXPECT_EQ(c["process"]["capabilities"]["bounding"], Json({"CAP_NET_ADMIN"}));
    EXPECT_EQ(c["root"]["readonly"], true);
    EXPECT_EQ(c["hostname"], "web");
    EXPECT_FALSE(c["linux"].contains("seccomp"));

    // --entrypoint '' clears it, and with it the image's Cmd: nothing to run
    ToolResult r = unpack({"--entrypoint", "", "--image", image("tiny", "latest"), tmp() + "/none"});
    EXPECT_EQ(r.status, 3) << r;
    EXPECT_NE(r.err.find("no command"), std::string::npos) << r;
    EXPECT_FALSE(exists(tmp() + "/none"));
    r = unpack({"-u", "ghost", "--image", image("tiny", "latest"), tmp() + "/ghost"});
    EXPECT_EQ(r.status, 4) << r;
    EXPECT_FALSE(exists(tmp() + "/ghost"));
    // a seccomp profile file in Docker's format
    write_file_atomic(tmp() + "/profile.json", R"({"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]})");
    unpack_ok({"--seccomp", tmp() + "/profile.json", "--image", image("tiny", "latest")}, tmp() + "/p");
    EXPECT_EQ(read_json_file(tmp() + "/p/config.json")["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ALLOW");
}

TEST_F(Cli, AKilledFlatUnpackLeavesNothingTheNextRunOrReleaseKeeps) {
    // what a flat unpack killed half-way leaves: its staging directory, unlocked
    std::string b = tmp() + "/killed";
    ASSERT_EQ(::mkdir(b.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((b + "/.rootfs-deadbeef").c_str(), 0755), 0);
    write_file_atomic(b + "/.rootfs-deadbeef/half-written", "x");
    // one that a live unpack still holds (its lock taken) is not touched
    ASSERT_EQ(::mkdir((b + "/.rootfs-0000live").c_str(), 0755), 0);
    UniqueFd live(::open((b + "/.rootfs-0000live").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(live);
    ASSERT_EQ(::flock(live.get(), LOCK_EX), 0);
    unpack_ok({"--image", image("tiny", "latest")}, b);
    EXPECT_FALSE(exists(b + "/.rootfs-deadbeef")) << "the rerun removed the abandoned staging";
    EXPECT_TRUE(exists(b + "/.rootfs-0000live")) << "a staging still being written stays";
    EXPECT_TRUE(exists(b + "/rootfs/bin/busybox"));
    live.reset();
    ::rmdir((b + "/.rootfs-0000live").c_str());

    // --release of a bundle that holds nothing but an abandoned staging
    std::string only = tmp() + "/only-staging";
    ASSERT_EQ(::mkdir(only.c_str(), 0700), 0);
    ASSERT_EQ(::mkdir((only + "/.rootfs-0badf00d").c_str(), 0755), 0);
    write_file_atomic(only + "/.rootfs-0badf00d/f", "x");
    auto r = unpack({"--release", only});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_FALSE(exists(only)) << "released: nothing left";
}
