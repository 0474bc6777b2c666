// What every ns-run integration test needs: a busybox rootfs unpacked once
// per test program (umoci unpack of the tiny fixture image), `runc spec` as the
// base config, unique container IDs (cgroup names are global), bundles in the
// test's directory, and a clean-up that deletes every container the test made
// and checks that its cgroups are gone.
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"
#include "tool_test.hpp"

namespace ctk::test {

class NsRunTest : public ToolTest {
protected:
    static void SetUpTestSuite();
    static void TearDownTestSuite();
    void SetUp() override;

    static const std::string& shared_rootfs();
    // `runc spec` with root = the shared rootfs (read-only), args ["true"], no terminal.
    static Json base_config();
    // The same running /bin/sh -c script.
    static Json shell_config(const std::string& script);

    // Writes config into a new bundle directory; returns its path.
    std::string bundle(const Json& config);
    // A private, writable copy of the rootfs (for tests that change it).
    std::string copy_rootfs();
    std::string new_id();
    const std::string& state_root() const { return state_root_; }

    // ns-run --root <state> args...
    ToolResult ns(const std::vector<std::string>& args, const std::string& input = "");
    // The same with stdio on files, for verbs that leave a container running
    // (its stdio would otherwise hold the test's pipes open).
    ToolResult ns_detached(const std::vector<std::string>& args);
    // Foreground `run` of a new container; deletes it afterwards.
    ToolResult run_container(const Json& config, const std::vector<std::string>& extra = {});
    // `create` (or `run -d` when detach) of a new container, deleted at the end of the test.
    std::string create_container(const Json& config, const std::vector<std::string>& extra = {},
                                 bool start = false);
    void delete_at_end(const std::string& id);
    Json state(const std::string& id);
    // Waits (up to 10 s) until the container is stopped; returns its state.
    Json wait_stopped(const std::string& id);
    // The container's cgroup directory holding `controller` (v1), or its
    // unified one on pure cgroup v2; "" when neither (hybrid, controller not in v1).
    static std::string cgroup_dir(const std::string& controller, const std::string& id);
    // /proc/self/cgroup has the unified line only.
    static bool v2_only();
    // Where ns-run puts relative cgroups on v2: our cgroup, or the parent of
    // the callers' leaf we were moved into ("" for the root).
    static std::string own_v2_cgroup();

private:
    std::string state_root_;
    int bundles_ = 0;
};

} // namespace ctk::test
