// Fixture of ctld's integration tests: a temporary store, a ctld serving it on
// a temporary socket, and the stock docker CLI (and docker-compose) as its
// clients. Networks live in 10.220.0.0/16 (the default network, bridge
// device ctkd0) and 10.221.0.0/16 (networks created without a subnet);
// containers name no DNS server, so nothing leaves the machine. Clean-up
// removes every container, network and volume the test made, and stops ctld.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tool_test.hpp"

namespace ctk::test {

class CtldTest : public ToolTest {
protected:
    void SetUp() override;
    void TearDown() override;

    // Starts ctld (again) on the test's socket; waits until it answers.
    void start_daemon(const std::vector<std::string>& extra_args = {});
    // SIGTERM (or SIGKILL) and wait.
    void stop_daemon(bool kill9 = false);
    pid_t daemon_pid() const { return pid_; }
    // The test reaped the daemon itself.
    void forget_daemon() { pid_ = -1; }

    // docker -H unix://SOCK ARGS…
    ToolResult docker(const std::vector<std::string>& args, const std::string& input = "",
                      const std::vector<std::string>& env = {});
    // docker-compose in `dir` with DOCKER_HOST set.
    ToolResult compose(const std::string& dir, const std::vector<std::string>& args);
    // A shell command with DOCKER_HOST set (pipes, script(1) for a terminal).
    ToolResult sh(const std::string& script);
    // ctl with the test's store (-H given by the caller when it should talk to ctld).
    ToolResult ctl(const std::vector<std::string>& args, const std::string& input = "");

    // One raw HTTP exchange on a new connection: everything the daemon sends
    // until it closes or `timeout_ms` pass without data.
    std::string raw_request(const std::string& bytes, int timeout_ms = 5000);

    // The fixture image, pulled through the daemon, also tagged "tiny".
    std::string tiny();

    std::string socket_path() const { return tmp() + "/ctld.sock"; }
    std::string host() const { return "unix://" + socket_path(); }
    std::string config_path() const { return tmp() + "/ctk.json"; }
    std::string daemon_log() const;
    std::vector<std::string> daemon_env() const;

private:
    pid_t pid_ = -1;
    bool tiny_pulled_ = false;
};

} // namespace ctk::test
