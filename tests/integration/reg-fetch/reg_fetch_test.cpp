#include "reg_fetch_test.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/digest.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"

namespace ctk::test {

void RegFetchTest::SetUp() {
    ToolTest::SetUp();
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    make_dirs(tmp() + "/bin");
    make_dirs(tmp() + "/home/.docker");
    write_file_atomic(tmp() + "/ctk.json", "{}");
}

std::vector<std::string> RegFetchTest::env() const {
    const char* path = std::getenv("PATH");
    return {"CTK_CONFIG=" + tmp() + "/ctk.json", "DOCKER_CONFIG=" + tmp() + "/home/.docker",
            "PATH=" + tmp() + "/bin:" + (path ? path : "/usr/sbin:/usr/bin:/sbin:/bin")};
}

ToolResult RegFetchTest::reg_fetch(const std::vector<std::string>& args, const std::string& input) {
    return run("reg-fetch", args, input, env());
}

ToolResult RegFetchTest::command(const std::vector<std::string>& argv, const std::string& input) {
    return run_command(argv, input, env());
}

void RegFetchTest::set_registry_config(const Json& section) {
    write_file_atomic(tmp() + "/ctk.json", Json{{"registry", section}}.dump());
}

void RegFetchTest::write_docker_config(const Json& config) {
    write_file_atomic(tmp() + "/home/.docker/config.json", config.dump());
}

Json RegFetchTest::docker_config() const {
    auto text = read_file_if_exists(tmp() + "/home/.docker/config.json");
    return text ? Json::parse(*text) : Json::object();
}

void RegFetchTest::install_credential_helper(const std::string& name, const std::string& server,
                                             const std::string& user, const std::string& password) {
    std::string script = "#!/bin/sh\n"
                         "input=$(cat)\n"
                         "echo \"$1 $input\" >>" + tmp() + "/helper.log\n"
                         "if [ \"$1\" = get ] && [ \"$input\" = '" + server + "' ]; then\n"
                         "  printf '{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}\\n' '" +
                         server + "' '" + user + "' '" + password + "'\n"
                         "  exit 0\n"
                         "fi\n"
                         "[ \"$1\" = get ] && { echo 'credentials not found in native keychain'; exit 1; }\n"
                         "exit 0\n";
    write_file_atomic(tmp() + "/bin/docker-credential-" + name, script, 0755);
}

std::string RegFetchTest::unique_repository(const std::string& leaf) {
    std::string prefix = "ctk-test-" + random_hex(6);
    std::string storage = fixture_cache() + "/registry-" + registry().substr(registry().rfind(':') + 1) +
                          "/docker/registry/v2/repositories/" + prefix;
    defer([storage] {
        if (std::filesystem::exists(storage)) remove_tree(storage);
    });
    return prefix + "/" + leaf;
}

Json RegFetchTest::pull(const std::string& ref, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"pull", "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(ref);
    ToolResult r = reg_fetch(args);
    EXPECT_EQ(r.status, 0) << r;
    if (r.status != 0) return Json::object();
    return r.json();
}

std::string RegFetchTest::error_line(const ToolResult& r) {
    std::istringstream in(r.err);
    std::string line, last;
    while (std::getline(in, line))
        if (line.starts_with("reg-fetch: ")) last = line;
    return last;
}

std::string RegFetchTest::listing(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        std::string n = e.path().string().substr(dir.size());
        if (e.is_regular_file()) n += " " + std::to_string(e.file_size());
        names.push_back(n);
    }
    std::sort(names.begin(), names.end());
    return join(names, "\n");
}

std::string RegFetchTest::tagged_digest(const std::string& layout_dir, const std::string& name) {
    Json index = Json::parse(read_file(layout_dir + "/index.json"));
    for (const auto& d : index["manifests"])
        if (d.contains("annotations") && d["annotations"].value("org.opencontainers.image.ref.name", "") == name)
            return d["digest"];
    return "";
}

void RegFetchTest::expect_blobs_intact(const std::string& layout_dir) {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(layout_dir + "/blobs/sha256")) {
        UniqueFd fd = open_path(e.path().string(), O_RDONLY);
        Hasher h;
        char buf[1 << 16];
        ssize_t got;
        while ((got = ::read(fd.get(), buf, sizeof buf)) > 0) h.update(buf, static_cast<size_t>(got));
        EXPECT_EQ(h.digest().encoded(), e.path().filename().string());
        n++;
    }
    EXPECT_GT(n, 0u);
}

Daemon RegFetchTest::start_helper(const std::vector<std::string>& args, int port, const std::string& log,
                                  const std::string& host) {
    std::vector<std::string> argv = {"python3", helper_server_script()};
    argv.insert(argv.end(), args.begin(), args.end());
    // a proxy forwards to the fixture registry, on whichever port it runs
    for (const std::string& a : {std::string("--port"), std::to_string(port), std::string("--log"),
                                 tmp() + "/" + log, std::string("--host"), host, std::string("--upstream"), registry()})
        argv.push_back(a);
    Daemon d(argv, environment_with({}), tmp() + "/" + log + ".out");
    if (!wait_for_port(host, port))
        ADD_FAILURE() << "helper did not start: " << read_file_if_exists(tmp() + "/" + log + ".out").value_or("");
    return d;
}

std::vector<Json> RegFetchTest::read_log(const std::string& log) const {
    std::vector<Json> out;
    std::istringstream in(read_file_if_exists(tmp() + "/" + log).value_or(""));
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(Json::parse(line));
    return out;
}

} // namespace ctk::test
