#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "container/state.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "linux/process.hpp"

using namespace ctk;
using namespace ctk::container;

namespace {
State sample() {
    State s;
    s.id = "c1";
    s.bundle = "/b";
    s.rootfs = "/b/rootfs";
    s.pid = 1234;
    s.pid_start = 99;
    s.created = "2026-01-01T00:00:00.000000001Z";
    s.config.annotations["a"] = "b";
    s.cgroup = {{"mode", "v1"}, {"dirs", Json::array()}};
    return s;
}
} // namespace

TEST(State, RoundTrip) {
    State s = sample();
    s.exit_code = 3;
    s.finished = "2026-01-01T00:00:01Z";
    State back = State::from_json(s.to_json(), "state");
    EXPECT_EQ(back.id, "c1");
    EXPECT_EQ(back.pid, 1234);
    EXPECT_EQ(back.pid_start, 99u);
    EXPECT_EQ(back.exit_code, 3);
    EXPECT_EQ(back.finished, s.finished);
    EXPECT_EQ(back.config.annotations.at("a"), "b");
    EXPECT_EQ(back.cgroup["mode"], "v1");
    EXPECT_THROW(State::from_json(Json::object(), "state"), Error);
}

TEST(State, OciStateCarriesTheExtensions) {
    State s = sample();
    s.started = "2026-01-01T00:00:00.5Z";
    Json running = oci_state(s, Status::running);
    EXPECT_EQ(running["status"], "running");
    EXPECT_EQ(running["pid"], 1234);
    EXPECT_EQ(running["bundle"], "/b");
    EXPECT_EQ(running["annotations"]["a"], "b");
    EXPECT_EQ(running["created"], s.created);
    EXPECT_EQ(running["started"], s.started);
    EXPECT_FALSE(running.contains("exitCode"));
    s.exit_code = 0;
    s.finished = "2026-01-01T00:00:02Z";
    Json stopped = oci_state(s, Status::stopped);
    EXPECT_EQ(stopped["pid"], 0);
    EXPECT_EQ(stopped["exitCode"], 0);
    EXPECT_EQ(stopped["finished"], s.finished);
}

TEST(State, Rfc3339Nano) {
    std::regex re(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");
    EXPECT_TRUE(std::regex_match(now_rfc3339(), re)) << now_rfc3339();
}

TEST(State, Ids) {
    EXPECT_NO_THROW(check_id("abc-1.2_x+y"));
    for (const char* bad : {"", ".", "..", "../x", "a/b", "-x", "a b", ".hidden"}) {
        try {
            check_id(bad);
            FAIL() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::usage);
        }
    }
}

TEST(StateStore, CreateSaveLoadListRemove) {
    TempDir d("store");
    StateStore store(d.path() + "/runtime");
    {
        UniqueFd lock = store.create("c1");
        EXPECT_TRUE(lock);
        State s = sample();
        store.save(s);
    }
    EXPECT_TRUE(store.exists("c1"));
    try {
        store.create("c1");
        FAIL() << "a second create of the same id";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::conflict);
    }
    EXPECT_EQ(store.load("c1").pid, 1234);
    EXPECT_EQ(store.ids(), std::vector<std::string>{"c1"});
    try {
        store.load("c2");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
    store.remove("c1");
    EXPECT_FALSE(store.exists("c1"));
    EXPECT_TRUE(store.ids().empty());
}

TEST(StateStore, StatusFollowsTheProcess) {
    TempDir d("store");
    StateStore store(d.path());
    State s = sample();
    EXPECT_EQ(current_status(s, store.dir("c1")), Status::stopped) << "pid 1234 with start 99 is not alive";
    s.pid = ::getpid();
    s.pid_start = *linux::process_start_time(::getpid());
    s.cgroup = Json::object();
    make_dirs(store.dir("c1"));
    EXPECT_EQ(current_status(s, store.dir("c1")), Status::running);
    ASSERT_EQ(::mkfifo(store.fifo("c1").c_str(), 0600), 0);
    EXPECT_EQ(current_status(s, store.dir("c1")), Status::created);
    s.exit_code = 1;
    EXPECT_EQ(current_status(s, store.dir("c1")), Status::stopped);
}

// The config lives in config.json beside state.json, so a listing parses only
// the small state: load_brief has the annotations, load the whole config.
TEST(StateStore, ConfigBesideTheStateAndABriefLoadForListings) {
    TempDir d("store");
    StateStore store(d.path() + "/runtime");
    State s = sample();
    s.config.hostname = "box";
    {
        UniqueFd lock = store.create("c1");
        store.save(s);
    }
    std::string state_text = read_file(store.dir("c1") + "/state.json");
    EXPECT_EQ(state_text.find("\"hostname\""), std::string::npos) << state_text;
    EXPECT_LT(state_text.size(), 1024u) << state_text;
    EXPECT_NE(read_file(store.dir("c1") + "/config.json").find("\"hostname\":\"box\""), std::string::npos);
    State full = store.load("c1");
    EXPECT_EQ(full.config.hostname, "box");
    EXPECT_EQ(full.config.annotations.at("a"), "b");
    State brief = *store.load_brief("c1");
    EXPECT_EQ(brief.config.hostname, "");
    EXPECT_EQ(brief.config.annotations.at("a"), "b");
    EXPECT_EQ(brief.pid, 1234);
    // a state.json written before the split (config inside) still loads whole
    Json old = s.to_json();
    old["config"] = Json(s.config);
    write_file_atomic(store.dir("c1") + "/state.json", dump_compact(old));
    ::unlink((store.dir("c1") + "/config.json").c_str());
    EXPECT_EQ(store.load("c1").config.hostname, "box");
    // no temporary file is left beside them
    EXPECT_EQ(store.ids(), std::vector<std::string>{"c1"});
}
