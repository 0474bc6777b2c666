// --stdio-log (CONTRACTS.md, ns-run "stdio log (--stdio-log)"): the monitor
// writes stdout/stderr in Docker's json-file format; the exit code and times
// survive the monitor.
#include <unistd.h>

#include "core/fs.hpp"
#include "core/strings.hpp"
#include "ns_run_fixture.hpp"

using namespace ctk;
using namespace ctk::test;

namespace {
class StdioLog : public NsRunTest {
protected:
    std::vector<Json> lines(const std::string& path) {
        std::vector<Json> out;
        for (const auto& l : split(read_file_if_exists(path).value_or(""), '\n'))
            if (!l.empty()) out.push_back(parse_json(l, "log line"));
        return out;
    }
};
} // namespace

TEST_F(StdioLog, DetachedRunWritesJsonFile) {
    std::string log = tmp() + "/c.log";
    std::string id = create_container(shell_config("echo out; echo err >&2; printf 'tail \\377'; exit 4"),
                                      {"--stdio-log", log, "--monitor"}, true);
    auto w = ns({"wait", id});
    ASSERT_EQ(w.status, 0) << w;
    EXPECT_EQ(w.json()["exitCode"], 4);
    auto l = lines(log);
    ASSERT_EQ(l.size(), 3u) << read_file(log);
    Json out, err, tail;
    for (const auto& e : l) {
        if (e["log"] == "out\n") out = e;
        if (e["log"] == "err\n") err = e;
        if (e["log"].get<std::string>().rfind("tail", 0) == 0) tail = e;
    }
    EXPECT_EQ(out["stream"], "stdout");
    EXPECT_EQ(err["stream"], "stderr");
    EXPECT_EQ(tail["log"], "tail \xef\xbf\xbd") << "the last line without newline, invalid UTF-8 replaced";
    EXPECT_EQ(out["time"].get<std::string>().size(), 30u);
    Json s = state(id);
    EXPECT_EQ(s["exitCode"], 4);
    EXPECT_TRUE(s.contains("finished"));
    EXPECT_TRUE(s.contains("started"));
}

TEST_F(StdioLog, CreateStartAndForeground) {
    std::string log = tmp() + "/c.log";
    std::string id = create_container(shell_config("echo one"), {"--stdio-log", log, "--monitor"});
    ASSERT_EQ(ns({"start", id}).status, 0);
    ASSERT_EQ(ns({"wait", id}).status, 0);
    auto l = lines(log);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0]["log"], "one\n");
    std::string log2 = tmp() + "/fg.log";
    auto fg = run_container(shell_config("echo two"), {"--stdio-log", log2});
    EXPECT_EQ(fg.out, "two\n") << "the foreground run shows it too";
    auto l2 = lines(log2);
    ASSERT_EQ(l2.size(), 1u);
    EXPECT_EQ(l2[0]["log"], "two\n");
}

TEST_F(StdioLog, MonitorIsSmall) {
    std::string id = create_container(shell_config("exec sleep 1000"), {"--stdio-log", tmp() + "/c.log", "--monitor"}, true);
    // The monitor is the container process's parent.
    std::string stat = read_file("/proc/" + std::to_string(state(id)["pid"].get<int>()) + "/stat");
    auto fields = split(stat.substr(stat.rfind(')') + 2), ' ');
    std::string monitor = fields[1];
    // `run -d` returns before the monitor re-executes itself; measure it once it
    // waits in its loop (blocked in poll(2), syscall 7 on x86-64), as it stays.
    bool waiting = false;
    for (int i = 0; i < 1000 && !waiting; i++) {
        auto sc = read_file_if_exists("/proc/" + monitor + "/syscall", 256);
        waiting = sc && (sc->rfind("7 ", 0) == 0 || sc->rfind("271 ", 0) == 0);
        if (!waiting) ::usleep(10000);
    }
    ASSERT_TRUE(waiting) << "the monitor never blocked in poll";
    std::string cmdline = read_file("/proc/" + monitor + "/cmdline");
    EXPECT_NE(cmdline.find("__monitor"), std::string::npos) << "the monitor re-executed itself";
    uint64_t private_kb = 0;
    for (const auto& l : split(read_file("/proc/" + monitor + "/smaps_rollup"), '\n'))
        if (l.rfind("Private_", 0) == 0) private_kb += std::stoull(l.substr(l.find(':') + 1));
    RecordProperty("monitor_private_kib", std::to_string(private_kb));
    EXPECT_LT(private_kb, 1024u) << "the detached monitor's private memory (KiB)";
}
