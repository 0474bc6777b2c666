#include "ctl_test.hpp"

#include <unistd.h>

#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

namespace ctk::test {

std::string CtlTest::default_subnet() {
    const char* s = std::getenv("CTK_CTL_TEST_SUBNET");
    return s && *s ? s : "10.218.0.0/16";
}

std::string CtlTest::without_runtime_warnings(const std::string& err) {
    std::string out;
    for (const auto& line : split(err, '\n'))
        if (!line.empty() && line.rfind("ns-run: warning:", 0) != 0) out += line + "\n";
    return out;
}

void CtlTest::SetUp() {
    ToolTest::SetUp();
    write_file_atomic(config_path(), R"({"network": {"default_subnet": ")" + default_subnet() +
                                         R"(", "dns": []}, "registry": {}})");
}

void CtlTest::TearDown() {
    if (::geteuid() == 0 && !tmp().empty()) {
        // everything the test made, even after a failed assertion
        auto ids = ctl({"ps", "-aq", "--no-trunc"});
        for (const auto& id : split(ids.out, '\n'))
            if (!id.empty()) ctl({"rm", "-f", "-v", id});
        auto nets = ctl({"network", "ls", "--format", "{{.Name}}"});
        for (const auto& n : split(nets.out, '\n'))
            if (!n.empty() && n != "none" && n != "host") ctl({"network", "rm", n});
        auto vols = ctl({"volume", "ls", "-q"});
        for (const auto& v : split(vols.out, '\n'))
            if (!v.empty()) ctl({"volume", "rm", "-f", v});
    }
    ToolTest::TearDown();
}

ToolResult CtlTest::ctl(const std::vector<std::string>& args, const std::string& input) {
    return run("ctl", args, input, {"CTK_CONFIG=" + config_path()});
}

ToolResult CtlTest::sh(const std::string& script) {
    return run_command({"sh", "-c", script}, "", {"CTK_CONFIG=" + config_path()});
}

std::string CtlTest::load_tiny() {
    std::string archive = tmp() + "/tiny-docker-archive.tar";
    auto s = run_command({"skopeo", "copy", "-q", "oci:" + fixture_layout("tiny") + ":latest",
                          "docker-archive:" + archive + ":" + tiny()});
    EXPECT_EQ(s.status, 0) << s;
    auto r = ctl({"load", "-i", archive});
    EXPECT_EQ(r.status, 0) << r;
    EXPECT_EQ(r.out, "Loaded image: " + tiny() + "\n");
    return tiny();
}

} // namespace ctk::test
