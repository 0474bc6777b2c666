// OCI hooks (config.md "POSIX-platform Hooks"): each kind runs at its point
// of the lifecycle, in its namespace, with the state on stdin.
#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class Hooks : public NsRunTest {
protected:
    // A hook script on the host: appends "<kind> <hostname> <state>" to the log.
    std::string hook_script() {
        std::string path = tmp() + "/hook.sh";
        write_file_atomic(path, "#!/bin/sh\necho \"$1 $(cat /proc/sys/kernel/hostname) $(cat)\" >> " + tmp() +
                                    "/hooks.log\n",
                          0755);
        return path;
    }
    Json hook(const std::string& path, const std::string& kind) {
        return {{"path", path}, {"args", {"hook.sh", kind}}};
    }
};
} // namespace

TEST_F(Hooks, AllKindsInOrderWithTheState) {
    std::string h = hook_script();
    std::string rootfs = copy_rootfs();
    // createContainer runs before pivot_root (host paths), startContainer after
    // it: its script is a file of the rootfs, writing to the rootfs.
    write_file_atomic(rootfs + "/hook.sh",
                      "#!/bin/sh\necho \"$1 $(cat /proc/sys/kernel/hostname) $(cat)\" >> /hooks.log\n", 0755);
    Json c = shell_config("exec sleep 1000");
    c["root"]["path"] = rootfs;
    c["root"]["readonly"] = false;
    c["hostname"] = "inside";
    c["hooks"] = {{"prestart", {hook(h, "prestart")}},
                  {"createRuntime", {hook(h, "createRuntime")}},
                  {"createContainer", {hook(h, "createContainer")}},
                  {"startContainer", {hook("/hook.sh", "startContainer")}},
                  {"poststart", {hook(h, "poststart")}},
                  {"poststop", {hook(h, "poststop")}}};
    std::string id = create_container(c);
    ASSERT_EQ(ns({"start", id}).status, 0);
    // startContainer runs after start returned; its line shows when it is done.
    for (int i = 0; i < 500 && !read_file_if_exists(rootfs + "/hooks.log"); i++) ::usleep(10000);
    ASSERT_EQ(ns({"delete", "--force", id}).status, 0);
    std::string host_log = read_file_if_exists(tmp() + "/hooks.log").value_or("");
    std::string inside_log = read_file_if_exists(rootfs + "/hooks.log").value_or("");
    auto lines = split(host_log, '\n');
    std::erase(lines, "");
    ASSERT_EQ(lines.size(), 5u) << host_log << "--- inside:\n" << inside_log;
    std::string host = std::string(trim(read_file("/proc/sys/kernel/hostname")));
    std::vector<std::pair<std::string, std::string>> expect = {
        {"prestart", host}, {"createRuntime", host}, {"createContainer", "inside"}, {"poststart", host}, {"poststop", host}};
    for (size_t i = 0; i < expect.size(); i++) {
        auto sp = lines[i].find(' ');
        auto sp2 = lines[i].find(' ', sp + 1);
        EXPECT_EQ(lines[i].substr(0, sp), expect[i].first) << lines[i];
        EXPECT_EQ(lines[i].substr(sp + 1, sp2 - sp - 1), expect[i].second) << lines[i];
        Json st = parse_json(lines[i].substr(sp2 + 1), "hook state");
        EXPECT_EQ(st["id"], id);
        EXPECT_EQ(st["bundle"].get<std::string>().rfind(tmp(), 0), 0u);
        EXPECT_GT(st["pid"].get<int>(), 0);
    }
    EXPECT_NE(inside_log.find("startContainer inside"), std::string::npos) << "startContainer runs in the container: " << inside_log;
}

TEST_F(Hooks, FailingCreateRuntimeHookFailsCreate) {
    Json c = base_config();
    c["hooks"] = {{"createRuntime", {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo nope >&2; exit 3"}}}}}};
    std::string id = new_id();
    auto r = ns_detached({"create", "--bundle", bundle(c), id});
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("createRuntime hook"), std::string::npos) << r;
    EXPECT_NE(r.err.find("nope"), std::string::npos) << r;
    EXPECT_EQ(ns({"state", id}).status, 4) << "nothing left";
    EXPECT_NE(::access(cgroup_dir("pids", id).c_str(), F_OK), 0) << "no cgroup left";
}

TEST_F(Hooks, HookTimeout) {
    Json c = base_config();
    c["hooks"] = {{"prestart", {{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}, {"timeout", 1}}}}};
    auto r = run_container(c);
    EXPECT_EQ(r.status, 1) << r;
    EXPECT_NE(r.err.find("timed out"), std::string::npos) << r;
}

TEST_F(Hooks, FailingPoststartIsAWarning) {
    Json c = shell_config("echo ran");
    c["hooks"] = {{"poststart", {{{"path", "/bin/false"}}}}};
    auto r = run_container(c);
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_NE(r.err.find("warning"), std::string::npos) << r;
}
