// CVE-2024-21626: no file descriptor of the runtime (or of its caller) may
// reach the container, and a cwd of /proc/self/fd/N cannot lead out of it.
#include "core/fs.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Cve202421626 : public NsRunTest {
protected:
    // Runs ns-run with fd 3 open on a host directory, as a careless caller would.
    ToolResult with_fd3(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {"sh", "-c", "exec 3</tmp; exec \"$@\"", "sh", tool_path("ns-run"),
                                         "--root", state_root()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv);
    }
};
} // namespace

TEST_F(Cve202421626, OnlyStdioReachesTheProgram) {
    std::string id = new_id();
    delete_at_end(id);
    // "; true": sh must not exec ls (which would list its own directory fd).
    auto r = with_fd3({"run", "--bundle", bundle(shell_config("ls /proc/$$/fd; true")), id});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "0\n1\n2\n");
}

TEST_F(Cve202421626, PreserveFdsPassesExactlyThoseAsked) {
    std::string id = new_id();
    delete_at_end(id);
    auto r = with_fd3({"run", "--preserve-fds", "1", "--bundle",
                       bundle(shell_config("ls /proc/$$/fd; readlink /proc/$$/fd/3")), id});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "0\n1\n2\n3\n/tmp\n");
}

TEST_F(Cve202421626, ExecGetsNoRuntimeFds) {
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    auto r = with_fd3({"exec", id, "sh", "-c", "ls /proc/$$/fd; true"});
    ASSERT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "0\n1\n2\n");
}

TEST_F(Cve202421626, CwdThroughProcSelfFdIsRefused) {
    for (const char* cwd : {"/proc/self/fd/3", "/proc/self/fd/5", "/proc/1/cwd"}) {
        Json c = shell_config("echo RAN; pwd");
        c["process"]["cwd"] = cwd;
        std::string id = new_id();
        delete_at_end(id);
        auto r = with_fd3({"run", "--bundle", bundle(c), id});
        EXPECT_NE(r.status, 0) << cwd << ": " << r;
        EXPECT_EQ(r.out.find("RAN"), std::string::npos) << cwd << ": the program ran: " << r;
        EXPECT_NE(r.err.find("cwd"), std::string::npos) << r;
    }
}

TEST_F(Cve202421626, ExecCwdThroughProcSelfFdIsRefused) {
    std::string id = create_container(shell_config("exec sleep 1000"), {}, true);
    auto r = with_fd3({"exec", "--cwd", "/proc/self/fd/3", id, "sh", "-c", "echo RAN; pwd"});
    EXPECT_NE(r.status, 0) << r;
    EXPECT_EQ(r.out.find("RAN"), std::string::npos) << r;
}
