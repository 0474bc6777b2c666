// Fixture of ctl's integration tests: a temporary store and a configuration
// whose networks live in 10.210.0.0/16 … 10.219.0.0/16 and whose containers
// name no DNS server (nothing leaves the machine), helpers to run ctl as a
// user types it, and a clean-up that removes every container, network and
// volume the test made.
#pragma once

#include <string>
#include <vector>

#include "tool_test.hpp"

namespace ctk::test {

class CtlTest : public ToolTest {
protected:
    void SetUp() override;
    void TearDown() override;

    // ctl ARGS… with the test's store and configuration.
    ToolResult ctl(const std::vector<std::string>& args, const std::string& input = "");
    // Runs a shell script with the same environment (for --explain scripts).
    ToolResult sh(const std::string& script);
    // The fixture image 127.0.0.1:5000/tiny:latest in the store, without a
    // registry: skopeo writes a docker-archive of the fixture layout, ctl loads it.
    std::string load_tiny();
    std::string tiny() const { return registry() + "/tiny:latest"; }
    std::string config_path() const { return tmp() + "/ctk.json"; }
    // stderr without ns-run's warnings (the seccomp profile names syscalls this
    // libseccomp does not know yet), which are not the container's output.
    static std::string without_runtime_warnings(const std::string& err);
    // The default network's subnet for this test binary.
    static std::string default_subnet();
};

} // namespace ctk::test
