// Shared plumbing of the net-bridge integration tests: a temporary store and
// configuration (subnets in 10.200.0.0/16 only, dns [] so nothing is ever
// sent outside), namespaces the test creates, and a clean-up that detaches,
// removes and deletes everything even when the test fails.
#pragma once

#include <string>
#include <vector>

#include "tool_test.hpp"

namespace ctk::test {

class NetBridgeTest : public ToolTest {
protected:
    void SetUp() override;

    // net-bridge with the test's CTK_ROOT, CTK_RUN and CTK_CONFIG.
    ToolResult nb(const std::vector<std::string>& args, const std::string& input = "",
                  const std::vector<std::string>& env = {});
    // A command that must succeed; returns its stdout.
    std::string sh(const std::string& script);
    // Exit status of a shell command (stdout/stderr discarded).
    int sh_status(const std::string& script);

    // `ip netns add`, deleted (with the processes in it) at the end.
    // Returns the name; its path is /var/run/netns/<name>.
    std::string netns(const std::string& tag);
    static std::string ns_path(const std::string& name) { return "/var/run/netns/" + name; }
    // A unique bridge name: ctk-test-<tag><n>.
    std::string bridge_name(const std::string& tag);
    // `net-bridge create NAME --subnet SUBNET --bridge <unique>`; returns the bridge.
    std::string create_network(const std::string& name, const std::string& subnet,
                               const std::vector<std::string>& extra = {});
    // Puts resolv.conf where `ip netns exec` mounts it as /etc/resolv.conf.
    void install_resolv_conf(const std::string& ns, const std::string& resolv_conf_path);
    // busybox httpd serving `text` on port 80 inside ns.
    void serve_http(const std::string& ns, const std::string& text);
    // The rules in table ip ctk whose comment contains `comment` (nft list).
    int count_rules(const std::string& comment);

    std::string config_path() const { return tmp() + "/ctk.json"; }
    std::string unique_; // per-test suffix for names
    std::string default_bridge_;
};

} // namespace ctk::test
