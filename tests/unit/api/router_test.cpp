// The router's matching and Docker's version rules, and the small parsers
// the handlers share (query strings, filters, frames, progress).
#include <gtest/gtest.h>

#include "api/events.hpp"
#include "api/http.hpp"
#include "api/router.hpp"
#include "api/streams.hpp"
#include "api/transport.hpp"
#include "api/util.hpp"
#include "core/error.hpp"

using namespace ctk;
using namespace ctk::api;

namespace {

Router sample_router() {
    Router r;
    auto nop = [](Request&, Response&) {};
    r.add("GET", "/images/json", nop);
    r.add("GET", "/images/{name*}/json", nop);
    r.add("DELETE", "/images/{name*}", nop);
    r.add("POST", "/images/{name*}/tag", nop);
    r.add("GET", "/containers/{id}/json", nop);
    r.add("POST", "/containers/{id}/start", nop);
    r.add("HEAD", "/_ping", nop);
    return r;
}

} // namespace

TEST(Router, MatchesImageNamesWithSlashesAndPortsGreedily) {
    Router r = sample_router();
    EXPECT_EQ(r.match("GET", "/images/json"), "/images/json");
    EXPECT_EQ(r.match("GET", "/images/127.0.0.1:5000/tiny/json"), "/images/{name*}/json");
    EXPECT_EQ(r.match("GET", "/images/tiny/json"), "/images/{name*}/json");
    EXPECT_EQ(r.match("DELETE", "/images/127.0.0.1:5001/tiny"), "/images/{name*}");
    EXPECT_EQ(r.match("POST", "/images/a/b/c/tag"), "/images/{name*}/tag");
    // "json" as an image name is a different route than the listing
    EXPECT_EQ(r.match("GET", "/images/json/json"), "/images/{name*}/json");
}

TEST(Router, MethodAndSegmentCountMustMatch) {
    Router r = sample_router();
    EXPECT_EQ(r.match("POST", "/containers/abc/json"), "");
    EXPECT_EQ(r.match("GET", "/containers/abc/def/json"), "");
    EXPECT_EQ(r.match("GET", "/_ping"), "");
    EXPECT_EQ(r.match("HEAD", "/_ping"), "/_ping");
    EXPECT_EQ(r.match("GET", "/no/such/endpoint"), "");
}

TEST(Router, SplitsVersionPrefixes) {
    int maj = 0, min = 0;
    std::string rest;
    ASSERT_TRUE(split_version("/v1.41/containers/json", maj, min, rest));
    EXPECT_EQ(maj, 1);
    EXPECT_EQ(min, 41);
    EXPECT_EQ(rest, "/containers/json");
    ASSERT_TRUE(split_version("/v1.12/_ping", maj, min, rest));
    EXPECT_EQ(min, 12);
    ASSERT_TRUE(split_version("/v1.99", maj, min, rest));
    EXPECT_EQ(rest, "/");
    EXPECT_FALSE(split_version("/version", maj, min, rest));
    EXPECT_FALSE(split_version("/v1/containers", maj, min, rest));
    EXPECT_FALSE(split_version("/v1.x/containers", maj, min, rest));
    EXPECT_FALSE(split_version("/vv1.41/containers", maj, min, rest));
    EXPECT_FALSE(split_version("/v1.41abc/containers", maj, min, rest));
    EXPECT_FALSE(split_version("/v99999999999.1/x", maj, min, rest));
}

TEST(Router, ErrorKindsMapToDockerStatuses) {
    EXPECT_EQ(status_of(Error("x", ErrorKind::not_found)), 404);
    EXPECT_EQ(status_of(Error("x", ErrorKind::conflict)), 409);
    EXPECT_EQ(status_of(Error("x", ErrorKind::invalid)), 400);
    EXPECT_EQ(status_of(Error("x", ErrorKind::usage)), 400);
    EXPECT_EQ(status_of(Error("x", ErrorKind::failed)), 500);
    EXPECT_EQ(status_of(HttpError(403, "x")), 403);
    EXPECT_EQ(status_of(std::runtime_error("x")), 500);
}

TEST(Query, DecodesAndReadsDockerBooleans) {
    Query q("fromImage=127.0.0.1%3A5000%2Ftiny&tag=latest&all=1&force=True&v=False&x=0&msg=a+b%20c&empty=&dup=1&dup=2");
    EXPECT_EQ(q.value("fromImage"), "127.0.0.1:5000/tiny");
    EXPECT_EQ(q.value("msg"), "a b c");
    EXPECT_TRUE(q.flag("all"));
    EXPECT_TRUE(q.flag("force"));
    EXPECT_FALSE(q.flag("v", true));
    EXPECT_FALSE(q.flag("x", true));
    EXPECT_FALSE(q.flag("empty", true));
    EXPECT_TRUE(q.flag("absent", true));
    EXPECT_FALSE(q.flag("absent"));
    EXPECT_EQ(q.all("dup"), (std::vector<std::string>{"1", "2"}));
    EXPECT_TRUE(q.has("empty"));
}

TEST(Query, IntegersAndBadIntegers) {
    Query q("limit=-1&t=10&bad=ten&huge=99999999999999999999999");
    EXPECT_EQ(q.integer("limit"), -1);
    EXPECT_EQ(q.integer("t"), 10);
    EXPECT_EQ(q.integer("absent"), std::nullopt);
    EXPECT_THROW(q.integer("bad"), HttpError);
    EXPECT_THROW(q.integer("huge"), HttpError);
}

TEST(Query, PercentDecodingLeavesBrokenEscapes) {
    EXPECT_EQ(percent_decode("%2", false), "%2");
    EXPECT_EQ(percent_decode("%zz%41", false), "%zzA");
    EXPECT_EQ(percent_decode("a+b", false), "a+b");
    EXPECT_EQ(percent_decode("a+b", true), "a b");
}

TEST(Filters, BothEncodings) {
    auto cli = parse_filters_json(R"({"name":{"web":true},"status":{"running":true,"exited":false}})");
    EXPECT_EQ(cli["name"], (std::vector<std::string>{"web"}));
    EXPECT_EQ(cli["status"], (std::vector<std::string>{"running"}));
    auto py = parse_filters_json(R"({"label": ["com.docker.compose.project=demo", "com.docker.compose.oneoff=False"]})");
    EXPECT_EQ(py["label"].size(), 2u);
    EXPECT_TRUE(parse_filters_json("").empty());
    EXPECT_THROW(parse_filters_json("{bad"), HttpError);
    EXPECT_THROW(parse_filters_json("[1,2]"), HttpError);
    EXPECT_THROW(parse_filters_json(R"({"label": 3})"), HttpError);
    EXPECT_THROW(parse_filters_json(R"({"label": [1]})"), HttpError);
}

TEST(Events, FilterByTypeEventContainerAndEveryLabel) {
    Events ev;
    auto sub = ev.subscribe();
    ev.publish("container", "start", "abc123", {{"name", "evc"}, {"image", "tiny"}, {"app", "x"}, {"tier", "web"}});
    ev.publish("network", "connect", "net1", {{"name", "n1"}, {"container", "abc123"}});
    auto got = sub->take();
    ASSERT_EQ(got.size(), 2u);
    const Json& c = got[0];
    EXPECT_EQ(c["status"], "start");
    EXPECT_EQ(c["from"], "tiny");
    EXPECT_EQ(c["Actor"]["Attributes"]["name"], "evc");
    EXPECT_TRUE(c["timeNano"].get<int64_t>() / 1000000000 == c["time"].get<int64_t>());
    EXPECT_FALSE(got[1].contains("status")); // network events carry only Type, Action, Actor, scope, time
    EXPECT_TRUE(EventFilter::parse(R"({"type":{"container":true}})").match(c));
    EXPECT_FALSE(EventFilter::parse(R"({"type":{"container":true}})").match(got[1]));
    EXPECT_TRUE(EventFilter::parse(R"({"event":{"start":true,"die":true}})").match(c));
    EXPECT_FALSE(EventFilter::parse(R"({"event":{"die":true}})").match(c));
    EXPECT_TRUE(EventFilter::parse(R"({"container":{"evc":true}})").match(c));
    EXPECT_TRUE(EventFilter::parse(R"({"container":{"abc":true}})").match(c));
    EXPECT_FALSE(EventFilter::parse(R"({"container":{"other":true}})").match(c));
    EXPECT_TRUE(EventFilter::parse(R"({"label":["app=x","tier=web"]})").match(c));
    EXPECT_FALSE(EventFilter::parse(R"({"label":["app=x","tier=db"]})").match(c));
    EXPECT_THROW(EventFilter::parse(R"({"colour":{"red":true}})"), HttpError);
    ev.unsubscribe(sub);
    auto hist = ev.history(0, INT64_MAX);
    EXPECT_EQ(hist.size(), 2u);
    EXPECT_TRUE(ev.history(0, 1).empty());
}

TEST(Events, KeepsOnlyTheLastOnes) {
    Events ev(3);
    for (int i = 0; i < 10; i++) ev.publish("volume", "create", "v" + std::to_string(i), {});
    auto h = ev.history(0, INT64_MAX);
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[0]["Actor"]["ID"], "v7");
}

TEST(Streams, MultiplexedFrameHeader) {
    std::string f = mux_frame(1, "hi\n");
    ASSERT_EQ(f.size(), 11u);
    EXPECT_EQ(std::string(f.data(), 8), std::string("\x01\0\0\0\0\0\0\x03", 8));
    EXPECT_EQ(f.substr(8), "hi\n");
    std::string big(70000, 'x');
    std::string g = mux_frame(2, big);
    EXPECT_EQ(static_cast<unsigned char>(g[0]), 2);
    EXPECT_EQ(static_cast<unsigned char>(g[5]), 0x01);
    EXPECT_EQ(static_cast<unsigned char>(g[6]), 0x11);
    EXPECT_EQ(static_cast<unsigned char>(g[7]), 0x70);
}

TEST(Streams, JsonFileLogLines) {
    LogEntry e;
    ASSERT_TRUE(parse_log_line(R"({"log":"hello\n","stream":"stderr","time":"2026-01-02T03:04:05.1Z"})", e));
    EXPECT_EQ(e.log, "hello\n");
    EXPECT_EQ(e.stream, "stderr");
    EXPECT_EQ(e.time, "2026-01-02T03:04:05.1Z");
    EXPECT_FALSE(parse_log_line("not json", e));
    EXPECT_FALSE(parse_log_line("[1]", e));
}

TEST(Util, HumanSizesAndProgressBars) {
    EXPECT_EQ(human_size4(36412), "36.41kB");
    EXPECT_EQ(human_size4(1064965), "1.065MB");
    EXPECT_EQ(human_size4(999), "999B");
    std::string bar = progress_bar(36412, 1064965);
    EXPECT_EQ(bar, "[=>" + std::string(49, ' ') + "]  36.41kB/1.065MB"); // as 04-pull.txt
    EXPECT_EQ(progress_bar(1064965, 1064965), "[" + std::string(50, '=') + ">]  1.065MB/1.065MB");
}

TEST(Util, ToolMessagesLoseTheToolPrefix) {
    EXPECT_EQ(tool_message("warning\nreg-fetch: manifest unknown\n", "x"), "manifest unknown");
    EXPECT_EQ(tool_message("", "fallback"), "fallback");
    EXPECT_EQ(tool_message("plain message: with colon", "x"), "plain message: with colon");
    // one mapping of exit status to error kind (core/error.hpp), the inverse of exit_code
    for (ErrorKind k : {ErrorKind::failed, ErrorKind::usage, ErrorKind::invalid, ErrorKind::not_found,
                        ErrorKind::conflict, ErrorKind::remote})
        EXPECT_EQ(error_kind_of_exit(exit_code(k)), k);
    EXPECT_EQ(error_kind_of_exit(0), ErrorKind::failed);
    EXPECT_EQ(error_kind_of_exit(7), ErrorKind::failed);
    EXPECT_EQ(error_kind_of_exit(125), ErrorKind::failed);
}

TEST(Endpoint, ParsesUnixAndTcp) {
    Endpoint u = parse_endpoint("unix:///run/ctk/ctld.sock");
    EXPECT_EQ(u.kind, Endpoint::Kind::unix_socket);
    EXPECT_EQ(u.path, "/run/ctk/ctld.sock");
    EXPECT_EQ(parse_endpoint("/tmp/x.sock").path, "/tmp/x.sock");
    Endpoint t = parse_endpoint("tcp://127.0.0.1:2376");
    EXPECT_EQ(t.kind, Endpoint::Kind::tcp);
    EXPECT_EQ(t.host, "127.0.0.1");
    EXPECT_EQ(t.port, 2376);
    EXPECT_TRUE(t.loopback());
    EXPECT_FALSE(parse_endpoint("tcp://10.1.2.3:2376").loopback());
    EXPECT_TRUE(parse_endpoint("tcp://[::1]:2376").loopback());
    EXPECT_EQ(parse_endpoint("tcp://[::1]:2376").str(), "tcp://[::1]:2376");
    EXPECT_THROW(parse_endpoint("unix://relative.sock"), Error);
    EXPECT_THROW(parse_endpoint("tcp://127.0.0.1"), Error);
    EXPECT_THROW(parse_endpoint("tcp://127.0.0.1:99999"), Error);
    EXPECT_THROW(parse_endpoint("http://127.0.0.1:80"), Error);
    EXPECT_THROW(parse_endpoint("unix:///" + std::string(200, 'a')), Error);
}
