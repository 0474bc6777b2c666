#include "tool_test.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/process.hpp"
#include "linux/mount.hpp"

namespace ctk::test {

Json ToolResult::json() const {
    try {
        return Json::parse(out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\nstdout: " << out
                      << "\nstderr: " << err;
        return Json();
    }
}

std::vector<Json> ToolResult::json_lines() const {
    std::vector<Json> lines;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        try {
            lines.push_back(Json::parse(line));
        } catch (const std::exception& e) {
            ADD_FAILURE() << "stdout line is not JSON: " << line;
        }
    }
    return lines;
}

std::ostream& operator<<(std::ostream& os, const ToolResult& r) {
    return os << "exit " << r.status << "\n--- stdout\n" << r.out << "--- stderr\n" << r.err;
}

static std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return (v && *v) ? v : fallback;
}

std::string ToolTest::build_dir() { return env_or("CTK_BUILD_DIR", "build"); }
std::string ToolTest::source_dir() { return env_or("CTK_SOURCE_DIR", "."); }
std::string ToolTest::shared_dir() { return env_or("CTK_SHARED_DIR", source_dir() + "/../shared"); }
std::string ToolTest::fixtures_dir() { return shared_dir() + "/fixtures"; }
std::string ToolTest::fixture_cache() {
    std::string home = env_or("HOME", "/root");
    return env_or("CTK_CACHE", env_or("XDG_CACHE_HOME", home + "/.cache") + "/ctk-fixtures");
}
std::string ToolTest::fixture_layout(const std::string& name) { return fixture_cache() + "/oci/" + name; }
std::string ToolTest::registry() { return env_or("CTK_TEST_REGISTRY", "127.0.0.1:5000"); }
std::string ToolTest::tool_path(const std::string& tool) {
    return build_dir() + "/tools/" + tool + "/" + tool;
}

bool ToolTest::have_program(const std::string& name) {
    std::string path = env_or("PATH", "/usr/bin:/bin");
    for (const auto& dir : std::vector<std::string>{"/usr/sbin", "/sbin"}) path += ":" + dir;
    std::istringstream in(path);
    std::string dir;
    while (std::getline(in, dir, ':'))
        if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    return false;
}

std::string ToolTest::test_tmp_parent() {
    // $CTK_TEST_TMPDIR, else /dev/shm: a tmpfs, ~50x faster than this machine's ext4
    // for the many small files an unpack makes, and gone after a reboot.
    std::string dir = env_or("CTK_TEST_TMPDIR", "");
    if (!dir.empty()) return dir;
    struct stat st;
    if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0)
        return "/dev/shm";
    return "/tmp";
}

void ToolTest::SetUp() {
    TempDir dir("ctk-it", test_tmp_parent());
    tmp_ = dir.release();
    root_ = tmp_ + "/root";
    run_ = tmp_ + "/run";
    make_dirs(root_);
    make_dirs(run_);
    make_dirs(tmp_ + "/home");
    // The leak check (root only: what it looks at is root's). CTK_LEAK_CHECK=0 turns it off.
    if (::geteuid() == 0 && env_or("CTK_LEAK_CHECK", "1") != "0") {
        try {
            before_ = HostSnapshot::take();
            leaks_ = std::make_unique<LeakScope>(tmp_, root_, run_);
            leaks_->watch_store();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "leak check: no snapshot of the host: " << e.what();
        }
    }
}

void ToolTest::claim_names(const std::string& token) {
    if (leaks_) leaks_->claim(token);
}

void ToolTest::keep_after_test(const std::string& path) {
    if (leaks_) leaks_->keep(path);
}

std::vector<Leak> ToolTest::leak_report() {
    if (!leaks_) return {};
    leaks_->scan_store();
    return leaks_->find(before_);
}

std::vector<std::string> ToolTest::clean_leaks(const std::vector<Leak>& leaks) {
    return leaks_ ? leaks_->clean(leaks) : std::vector<std::string>{};
}

void ToolTest::check_leaks() {
    auto found = leaks_->find(before_);
    if (!found.empty()) {
        ADD_FAILURE() << "leak check: the test left behind, after its clean-ups:" << LeakScope::describe(found);
        auto failed = leaks_->clean(found);
        if (!failed.empty()) {
            std::string list;
            for (const auto& f : failed) list += "\n  " + f;
            ADD_FAILURE() << "leak check: could not remove:" << list;
        }
    }
    auto notes = leaks_->unowned(before_);
    if (!notes.empty()) {
        std::cerr << "leak check: note: new ctk-like objects that carry no identity of this test"
                     " (another program's?):";
        for (size_t i = 0; i < notes.size() && i < 8; ++i) std::cerr << "\n  " << notes[i];
        if (notes.size() > 8) std::cerr << "\n  and " << notes.size() - 8 << " more";
        std::cerr << "\n";
    }
}

void ToolTest::TearDown() {
    // A last look at the store's ids before the clean-ups remove its records.
    if (leaks_) leaks_->stop();
    while (!cleanups_.empty()) {
        auto step = std::move(cleanups_.back());
        cleanups_.pop_back();
        try {
            step();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "clean-up step failed: " << e.what();
        }
    }
    if (tmp_.empty()) return;
    if (leaks_) {
        try {
            check_leaks();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "leak check failed: " << e.what();
        }
        leaks_.reset();
    }
    if (::geteuid() == 0) linux::unmount_below(tmp_);
    try {
        remove_tree(tmp_);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "could not remove " << tmp_ << ": " << e.what();
    }
}

std::vector<std::string> ToolTest::tool_env(const std::vector<std::string>& extra) const {
    std::vector<std::string> env = {
        "CTK_ROOT=" + root_,
        "CTK_RUN=" + run_,
        "HOME=" + tmp_ + "/home",
        "XDG_CONFIG_HOME=" + tmp_ + "/home/.config",
        "CTK_CACHE=" + fixture_cache(),
    };
    for (const auto& e : extra) env.push_back(e);
    return environment_with(env);
}

ToolResult ToolTest::run_command(const std::vector<std::string>& argv, const std::string& input,
                                 const std::vector<std::string>& env) {
    RunOptions o;
    o.input = input;
    o.env = tool_env(env);
    o.timeout_ms = 300000;
    ProcessResult p = run_process(argv, o);
    if (p.timed_out) ADD_FAILURE() << "timed out: " << argv[0];
    return ToolResult{p.status, std::move(p.out), std::move(p.err)};
}

ToolResult ToolTest::run(const std::string& tool, const std::vector<std::string>& args,
                         const std::string& input, const std::vector<std::string>& env) {
    std::vector<std::string> argv = {tool_path(tool)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, input, env);
}

} // namespace ctk::test
