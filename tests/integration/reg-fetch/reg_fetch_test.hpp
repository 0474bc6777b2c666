// The fixture of the reg-fetch integration tests: runs the built tool with a
// private CTK_CONFIG and Docker config, and offers what most tests need.
#pragma once

#include <string>
#include <vector>

#include "core/json.hpp"
#include "support.hpp"
#include "tool_test.hpp"

namespace ctk::test {

class RegFetchTest : public ToolTest {
protected:
    void SetUp() override;

    // reg-fetch with CTK_CONFIG, DOCKER_CONFIG and PATH pointing into the test's directory.
    ToolResult reg_fetch(const std::vector<std::string>& args, const std::string& input = "");
    // Any command in the same environment.
    ToolResult command(const std::vector<std::string>& argv, const std::string& input = "");
    std::vector<std::string> env() const;

    // Writes the ctk config file's "registry" section.
    void set_registry_config(const Json& section);
    void write_docker_config(const Json& config);
    Json docker_config() const;
    // A docker-credential-<name> helper in the test's PATH that answers `get`
    // for `server` with user/password, and logs every call to helper.log.
    void install_credential_helper(const std::string& name, const std::string& server,
                                   const std::string& user, const std::string& password);

    std::string layout(const std::string& name) const { return tmp() + "/" + name; }
    // "<registry>/<name>", the fixture registry.
    static std::string image(const std::string& name) { return registry() + "/" + name; }
    // A repository name on the fixture registry unique to this run; its
    // storage is removed when the test ends.
    std::string unique_repository(const std::string& leaf);

    // The pull's JSON (asserts success).
    Json pull(const std::string& ref, const std::vector<std::string>& extra = {});
    // The last "reg-fetch: ..." line of stderr.
    static std::string error_line(const ToolResult& r);
    // Every file below `dir` (relative names, sorted) with sizes.
    static std::string listing(const std::string& dir);
    // The manifest digest a layout tags `name` with.
    static std::string tagged_digest(const std::string& layout_dir, const std::string& name);
    // Checks that every blob of the layout hashes to its name.
    static void expect_blobs_intact(const std::string& layout_dir);

    // The Python helper (token service or proxy), logging to <tmp>/<log>.
    Daemon start_helper(const std::vector<std::string>& args, int port, const std::string& log,
                        const std::string& host = "127.0.0.1");
    std::vector<Json> read_log(const std::string& log) const;
};

} // namespace ctk::test
