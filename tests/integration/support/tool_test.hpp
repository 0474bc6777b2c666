// Integration-test plumbing: a GoogleTest fixture that gives each test its own
// temporary CTK_ROOT and CTK_RUN (on tmpfs: /dev/shm, or $CTK_TEST_TMPDIR), runs the built tools as
// subprocesses the way a user would, captures stdout, stderr and the exit
// status, and removes everything the test made (mounts included) even when the
// test fails. As root, a leak check (leak_check.hpp) fails the test when its
// clean-ups left a mount, network namespace, interface, nftables rule, cgroup,
// process or store file behind, then removes what it found.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/fs.hpp"
#include "core/json.hpp"
#include "leak_check.hpp"

namespace ctk::test {

struct ToolResult {
    int status = -1;
    std::string out;
    std::string err;
    // stdout parsed as one JSON document (fails the test when it is not).
    Json json() const;
    // Every stdout line parsed as JSON (for tools that print one object a line).
    std::vector<Json> json_lines() const;
};

std::ostream& operator<<(std::ostream& os, const ToolResult& r);

class ToolTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // Runs build/tools/<tool>/<tool> with args; env: CTK_ROOT, CTK_RUN, HOME and
    // XDG_CONFIG_HOME pointing into the test's temporary directory, plus `env`.
    ToolResult run(const std::string& tool, const std::vector<std::string>& args,
                   const std::string& input = "", const std::vector<std::string>& env = {});
    // Runs any command with the same environment.
    ToolResult run_command(const std::vector<std::string>& argv, const std::string& input = "",
                           const std::vector<std::string>& env = {});
    // The environment tools get ("K=V").
    std::vector<std::string> tool_env(const std::vector<std::string>& extra = {}) const;

    // Registers a clean-up step; they run in reverse order in TearDown, also
    // after a failed assertion.
    void defer(std::function<void()> step) { cleanups_.push_back(std::move(step)); }

    // The leak check: names containing `token` are the test's (beyond its
    // directory, its pid in ctkt names and the ids its store held).
    void claim_names(const std::string& token);
    // `path` (a mount or a file of the store) stays after the test on purpose.
    void keep_after_test(const std::string& path);
    // What the test left now, compared with its start (the check TearDown makes
    // after the clean-ups); clean_leaks removes it and returns what it could not.
    std::vector<Leak> leak_report();
    std::vector<std::string> clean_leaks(const std::vector<Leak>& leaks);

    const std::string& tmp() const { return tmp_; }          // the test's private directory
    const std::string& ctk_root() const { return root_; }     // its CTK_ROOT
    const std::string& ctk_run() const { return run_; }       // its CTK_RUN

    static std::string tool_path(const std::string& tool);
    static std::string build_dir();
    static std::string source_dir();
    static std::string shared_dir();     // ../shared
    static std::string fixtures_dir();   // ../shared/fixtures
    static std::string fixture_cache();  // $CTK_CACHE, where make-images.sh keeps its layouts
    static std::string fixture_layout(const std::string& name); // $CTK_CACHE/oci/<name>
    static std::string registry();       // $CTK_TEST_REGISTRY, default 127.0.0.1:5000
    static bool have_program(const std::string& name);
    // Where test directories are made: $CTK_TEST_TMPDIR, else /dev/shm (tmpfs), else /tmp.
    static std::string test_tmp_parent();

private:
    void check_leaks();

    std::string tmp_;
    std::string root_;
    std::string run_;
    std::vector<std::function<void()>> cleanups_;
    std::unique_ptr<LeakScope> leaks_;
    HostSnapshot before_;
};

// Skips the test unless it runs as root (integration tests need root; CI runs as root).
#define CTK_REQUIRE_ROOT()                                                                         \
    do {                                                                                           \
        if (::geteuid() != 0) GTEST_SKIP() << "needs root";                                       \
    } while (0)

} // namespace ctk::test
