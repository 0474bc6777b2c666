#include "ns_run_fixture.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "linux/cgroup.hpp"

namespace ctk::test {

namespace {
std::string g_suite_dir;
std::string g_rootfs;
Json g_base;
std::atomic<int> g_ids{0};
} // namespace

void NsRunTest::SetUpTestSuite() {
    if (!g_suite_dir.empty()) return;
    TempDir dir("ctk-nsrun-suite", test_tmp_parent());
    g_suite_dir = dir.release();
    std::string layout = fixture_layout("tiny");
    auto r = run_process({"umoci", "unpack", "--image", layout + ":latest", g_suite_dir + "/tiny"});
    if (!r.ok()) {
        ADD_FAILURE() << "umoci unpack failed: " << r.err;
        return;
    }
    g_rootfs = g_suite_dir + "/tiny/rootfs";
    RunOptions o;
    o.cwd = g_suite_dir;
    auto spec = run_process({"runc", "spec"}, o);
    if (!spec.ok()) {
        ADD_FAILURE() << "runc spec failed: " << spec.err;
        return;
    }
    g_base = read_json_file(g_suite_dir + "/config.json");
    g_base["root"]["path"] = g_rootfs;
    g_base["root"]["readonly"] = true;
    g_base["process"]["terminal"] = false;
    g_base["process"]["args"] = {"true"};
}

void NsRunTest::TearDownTestSuite() {
    if (g_suite_dir.empty()) return;
    try {
        remove_tree(g_suite_dir);
    } catch (const std::exception&) {
    }
    g_suite_dir.clear();
}

void NsRunTest::SetUp() {
    ToolTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_FALSE(g_rootfs.empty()) << "no rootfs (umoci unpack of the tiny fixture failed)";
    state_root_ = tmp() + "/state";
}

const std::string& NsRunTest::shared_rootfs() { return g_rootfs; }
Json NsRunTest::base_config() { return g_base; }

Json NsRunTest::shell_config(const std::string& script) {
    Json c = g_base;
    c["process"]["args"] = {"/bin/sh", "-c", script};
    return c;
}

std::string NsRunTest::bundle(const Json& config) {
    std::string dir = tmp() + "/bundle" + std::to_string(++bundles_);
    make_dirs(dir);
    write_json_file(dir + "/config.json", config);
    return dir;
}

std::string NsRunTest::copy_rootfs() {
    std::string dir = tmp() + "/rootfs" + std::to_string(++bundles_);
    auto r = run_process({"cp", "-a", g_rootfs, dir});
    EXPECT_TRUE(r.ok()) << r.err;
    return dir;
}

std::string NsRunTest::new_id() {
    return "ctkt-" + std::to_string(::getpid()) + "-" + std::to_string(++g_ids);
}

ToolResult NsRunTest::ns(const std::vector<std::string>& args, const std::string& input) {
    std::vector<std::string> a = {"--root", state_root_};
    a.insert(a.end(), args.begin(), args.end());
    return run("ns-run", a, input);
}

ToolResult NsRunTest::ns_detached(const std::vector<std::string>& args) {
    std::string out = tmp() + "/detached.out", err = tmp() + "/detached.err";
    std::vector<std::string> argv = {"sh", "-c", "exec \"$@\" <" + std::string("/dev/null") + " >" + out + " 2>" + err,
                                     "sh", tool_path("ns-run"), "--root", state_root_};
    argv.insert(argv.end(), args.begin(), args.end());
    ToolResult r = run_command(argv);
    r.out = read_file_if_exists(out).value_or("");
    r.err = read_file_if_exists(err).value_or("");
    return r;
}

void NsRunTest::delete_at_end(const std::string& id) {
    defer([this, id] {
        ns({"delete", "--force", id});
        for (const char* c : {"pids", "memory", "freezer"}) {
            std::string d = cgroup_dir(c, id);
            EXPECT_TRUE(d.empty() || ::access(d.c_str(), F_OK) != 0) << "cgroup left behind: " << d;
        }
    });
}

ToolResult NsRunTest::run_container(const Json& config, const std::vector<std::string>& extra) {
    std::string id = new_id();
    delete_at_end(id);
    std::vector<std::string> args = {"run", "--bundle", bundle(config)};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    return ns(args);
}

std::string NsRunTest::create_container(const Json& config, const std::vector<std::string>& extra, bool start) {
    std::string id = new_id();
    delete_at_end(id);
    std::vector<std::string> args = {start ? "run" : "create", "--bundle", bundle(config)};
    if (start) args.push_back("--detach");
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    ToolResult r = ns_detached(args);
    EXPECT_EQ(r.status, 0) << r;
    return id;
}

Json NsRunTest::state(const std::string& id) {
    ToolResult r = ns({"state", id});
    EXPECT_EQ(r.status, 0) << r;
    return r.status == 0 ? r.json() : Json();
}

Json NsRunTest::wait_stopped(const std::string& id) {
    for (int i = 0; i < 1000; i++) {
        Json s = state(id);
        if (s.is_null() || s.value("status", "") == "stopped") return s;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "container " << id << " did not stop";
    return state(id);
}

std::string NsRunTest::cgroup_dir(const std::string& controller, const std::string& id) {
    auto self = read_file_if_exists("/proc/self/cgroup").value_or("");
    std::string unified;
    for (const auto& line : split(self, '\n')) {
        auto parts = split(line, ':');
        if (parts.size() < 3) continue;
        if (parts[0] == "0" && parts[1].empty()) {
            unified = parts[2];
            continue;
        }
        for (const auto& c : split(parts[1], ','))
            if (c == controller) {
                std::string own = parts[2] == "/" ? "" : parts[2];
                return "/sys/fs/cgroup/" + controller + own + "/" + id;
            }
    }
    // Pure cgroup v2: the unified hierarchy, beneath our cgroup, or beside
    // the leaf ns-run moved us into (linux::cgroup::callers_leaf).
    if (unified.empty() || !v2_only()) return "";
    return "/sys/fs/cgroup" + own_v2_cgroup() + "/" + id;
}

bool NsRunTest::v2_only() {
    int lines = 0;
    for (const auto& line : split(read_file_if_exists("/proc/self/cgroup").value_or(""), '\n')) {
        if (line.empty()) continue;
        if (line.rfind("0::", 0) != 0) return false;
        lines++;
    }
    return lines == 1;
}

std::string NsRunTest::own_v2_cgroup() {
    std::string own;
    for (const auto& line : split(read_file_if_exists("/proc/self/cgroup").value_or(""), '\n'))
        if (line.rfind("0::", 0) == 0) own = line.substr(3);
    std::string leaf = std::string("/") + linux::cgroup::callers_leaf;
    if (own.size() >= leaf.size() && own.ends_with(leaf)) own.resize(own.size() - leaf.size());
    return own == "/" ? "" : own;
}

} // namespace ctk::test
