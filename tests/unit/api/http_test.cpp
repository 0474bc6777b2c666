// The HTTP layer on a socketpair: keep-alive, chunked bodies, limits,
// 100-continue, hijack, malformed requests, and a fuzz loop of mutated
// requests that must always get an HTTP answer or a closed connection, never
// a crash or a hang.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include <cstdlib>

#include "api/daemon.hpp"
#include "api/http.hpp"
#include "core/fs.hpp"

using namespace ctk;
using namespace ctk::api;

namespace {

// One connection served on a thread; the test is the client.
class Conn {
public:
    explicit Conn(Handler h, ServerLimits limits = {}) {
        int s[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0) throw std::runtime_error("socketpair");
        client_.reset(s[0]);
        UniqueFd server(s[1]);
        thread_ = std::thread([this, h = std::move(h), fd = server.release(), limits]() mutable {
            serve_connection(plain_transport(UniqueFd(fd), "test"), h, limits, nullptr);
            done = true;
        });
    }
    ~Conn() {
        client_.reset();
        if (thread_.joinable()) thread_.join();
    }
    void send(std::string_view data) { ASSERT_NO_THROW(write_all(client_.get(), data, "test")); }
    void close_write() { ::shutdown(client_.get(), SHUT_WR); }
    // Everything until the server closes, or `ms` pass without a byte.
    std::string read_all(int ms = 5000) {
        std::string out;
        for (;;) {
            pollfd p{client_.get(), POLLIN, 0};
            if (::poll(&p, 1, ms) <= 0) {
                timed_out = true;
                break;
            }
            char buf[65536];
            ssize_t n = ::read(client_.get(), buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<size_t>(n));
        }
        return out;
    }
    int fd() const { return client_.get(); }
    bool timed_out = false;
    std::atomic<bool> done{false}; // serve_connection returned

private:
    UniqueFd client_;
    std::thread thread_;
};

size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) n++;
    return n;
}

Handler echo_handler() {
    return [](Request& req, Response& res) {
        if (req.path() == "/hijack") {
            Transport& t = res.hijack(StdHeaders::none);
            char buf[256];
            size_t n = t.read_some(buf, sizeof buf);
            t.write_all("echo:" + std::string(buf, n));
            t.close_write();
            return;
        }
        if (req.path() == "/stream") {
            res.begin_stream(200, "application/json");
            res.chunk("{\"a\":1}\n");
            res.chunk("{\"b\":2}\n");
            return;
        }
        std::string body = req.body(1024);
        res.send(200, "text/plain", req.method() + " " + req.path() + " " + std::to_string(body.size()) + " " + body);
    };
}

} // namespace

TEST(Http, KeepAliveServesRequestsInTurn) {
    Conn c(echo_handler());
    c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: x\r\n\r\n");
    c.close_write();
    std::string out = c.read_all();
    EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 3u) << out;
    EXPECT_NE(out.find("GET /a 0 "), std::string::npos);
    EXPECT_NE(out.find("POST /b 3 abc"), std::string::npos);
    EXPECT_NE(out.find("Api-Version: 1.41"), std::string::npos);
    EXPECT_NE(out.find("Ostype: linux"), std::string::npos);
}

TEST(Http, ChunkedRequestBody) {
    Conn c(echo_handler());
    c.send("PUT /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
    c.close_write();
    EXPECT_NE(c.read_all().find("PUT /x 7 abcdefg"), std::string::npos);
}

TEST(Http, UnreadBodyIsSkippedToKeepTheConnection) {
    Conn c([](Request& req, Response& res) { res.send(200, "text/plain", req.path()); });
    c.send("POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /second HTTP/1.1\r\nHost: x\r\n\r\n");
    c.close_write();
    std::string out = c.read_all();
    EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 2u) << out;
    EXPECT_NE(out.find("/second"), std::string::npos);
}

TEST(Http, BodiesOverTheLimitAre413) {
    Conn c(echo_handler());
    c.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    std::string out = c.read_all(2000);
    EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out;
    EXPECT_NE(out.find("request body too large"), std::string::npos);
}

TEST(Http, ChunkedBodiesOverTheLimitAre413) {
    Conn c(echo_handler());
    std::string req = "POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 40; i++) req += "40\r\n" + std::string(64, 'y') + "\r\n";
    c.send(req);
    std::string out = c.read_all(2000);
    EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out;
}

TEST(Http, ExpectContinue) {
    Conn c(echo_handler());
    c.send("POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    // the interim answer comes before the client sends the body
    char buf[256];
    pollfd p{c.fd(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 5000), 0);
    ssize_t n = ::read(c.fd(), buf, sizeof buf);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u);
    c.send("ok");
    c.close_write();
    EXPECT_NE(c.read_all().find("POST /c 2 ok"), std::string::npos);
}

TEST(Http, HeadHasNoBody) {
    Conn c([](Request&, Response& res) { res.send(200, "text/plain", "OK"); });
    c.send("HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
    c.close_write();
    std::string out = c.read_all();
    EXPECT_NE(out.find("Content-Length: 2"), std::string::npos);
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(Http, StreamedResponsesAreChunked) {
    Conn c(echo_handler());
    c.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string out = c.read_all();
    EXPECT_NE(out.find("Transfer-Encoding: chunked"), std::string::npos);
    EXPECT_NE(out.find("8\r\n{\"a\":1}\n\r\n8\r\n{\"b\":2}\n\r\n0\r\n\r\n"), std::string::npos) << out;
}

TEST(Http, AResponseAfterWhichTheConnectionClosesSaysSo) {
    // Go's client reuses a connection that did not say "Connection: close":
    // its next request then meets a reset (issue 16: docker run after a pull)
    Conn streamed(echo_handler());
    streamed.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string out = streamed.read_all();
    EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
    Conn too_big(echo_handler());
    too_big.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    out = too_big.read_all(2000);
    EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out;
    EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
    Conn kept(echo_handler());
    kept.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    kept.close_write();
    EXPECT_EQ(kept.read_all().find("Connection: close"), std::string::npos) << "kept alive: no close";
}

// issue 16: a client that sent nothing, or a byte now and then, or went
// quiet after a request, held its connection (and ctld's thread) forever.
ServerLimits short_timeouts() {
    ServerLimits l;
    l.header_timeout_ms = 400;
    l.idle_timeout_ms = 400;
    return l;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(Http, AClientThatSendsNothingIsClosedAfterTheHeaderTimeout) {
    auto t0 = std::chrono::steady_clock::now();
    Conn c(echo_handler(), short_timeouts());
    std::string out = c.read_all(5000);
    EXPECT_FALSE(c.timed_out) << "still open after 5 s";
    EXPECT_EQ(out, "") << "closed without an answer, as Go's server";
    EXPECT_GE(seconds_since(t0), 0.35);
    EXPECT_LT(seconds_since(t0), 3.0);
}

TEST(Http, ATricklingClientIsClosedAfterTheHeaderTimeout) {
    Conn c(echo_handler(), short_timeouts());
    auto t0 = std::chrono::steady_clock::now();
    std::string req = "GET /a HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a') + "\r\n\r\n";
    // a byte every 50 ms: each read is quick, the headers never complete in time
    size_t sent = 0;
    for (; sent < req.size() && !c.done; sent++) {
        if (::send(c.fd(), &req[sent], 1, MSG_NOSIGNAL) != 1) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_LT(sent, req.size()) << "the whole request trickled in";
    EXPECT_TRUE(c.done);
    EXPECT_LT(seconds_since(t0), 3.0);
    EXPECT_EQ(c.read_all(1000).find("HTTP/1.1 200"), std::string::npos);
}

TEST(Http, AnIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout) {
    Conn c(echo_handler(), short_timeouts());
    // requests within the timeouts are served in turn
    for (int i = 0; i < 3; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        char buf[4096];
        pollfd p{c.fd(), POLLIN, 0};
        ASSERT_GT(::poll(&p, 1, 3000), 0);
        ssize_t n = ::read(c.fd(), buf, sizeof buf);
        ASSERT_GT(n, 0);
        EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 200 OK", 0), 0u);
    }
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(c.read_all(5000), "");
    EXPECT_FALSE(c.timed_out) << "still open after 5 s idle";
    EXPECT_GE(seconds_since(t0), 0.35);
    EXPECT_LT(seconds_since(t0), 3.0);
}

TEST(Http, TimeoutsDoNotCutStreamsOrHijackedConnections) {
    // a response streamed for longer than both timeouts (logs -f, events)
    Conn streamed([](Request&, Response& res) {
        res.begin_stream(200, "application/json");
        for (int i = 0; i < 6; i++) {
            res.chunk("{\"tick\":" + std::to_string(i) + "}\n");
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    }, short_timeouts());
    streamed.send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string out = streamed.read_all(3000);
    EXPECT_NE(out.find("{\"tick\":5}"), std::string::npos) << out;
    EXPECT_EQ(out.substr(out.size() - 5), "0\r\n\r\n") << out;
    // a hijacked connection quiet for longer than both (attach)
    Conn hijacked(echo_handler(), short_timeouts());
    hijacked.send("POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    hijacked.send("late");
    out = hijacked.read_all(3000);
    EXPECT_NE(out.find("echo:late"), std::string::npos) << out;
}

TEST(Http, HijackSwitchesToRawBytes) {
    Conn c(echo_handler());
    c.send("POST /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n");
    char buf[512];
    pollfd p{c.fd(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 5000), 0);
    ssize_t n = ::read(c.fd(), buf, sizeof buf);
    std::string head(buf, static_cast<size_t>(std::max<ssize_t>(n, 0)));
    EXPECT_EQ(head.rfind("HTTP/1.1 101 UPGRADED\r\n", 0), 0u) << head;
    EXPECT_NE(head.find("Content-Type: application/vnd.docker.raw-stream"), std::string::npos);
    EXPECT_NE(head.find("Upgrade: tcp"), std::string::npos);
    EXPECT_EQ(head.find("Api-Version"), std::string::npos); // attach's 101 carries no standard headers
    c.send("ping");
    EXPECT_EQ(c.read_all(), "echo:ping");
}

TEST(Http, MalformedRequestsGet400AndTheConnectionCloses) {
    for (std::string bad : {"GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "GET / HTTP/1.1\r\nNo-Colon\r\n\r\n",
                            "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                            "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
        Conn c(echo_handler());
        c.send(bad);
        c.close_write();
        std::string out = c.read_all(3000);
        EXPECT_FALSE(c.timed_out) << bad;
        EXPECT_EQ(out.rfind("HTTP/1.1 4", 0), 0u) << "request: " << bad << "\nanswer: " << out;
    }
}

TEST(Http, HugeHeadersAre431) {
    Conn c(echo_handler());
    c.send("GET / HTTP/1.1\r\nX-Big: " + std::string(100000, 'a') + "\r\n\r\n");
    std::string out = c.read_all(3000);
    EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out.substr(0, 200);
}

TEST(Http, FuzzedRequestsNeverCrashOrHang) {
    std::mt19937 rng(12345);
    const std::vector<std::string> seeds = {
        "GET /v1.41/containers/json?all=1&filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%7D HTTP/1.1\r\nHost: api\r\n\r\n",
        "POST /v1.41/containers/create?name=x HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 24\r\n\r\n{\"Image\":\"tiny\",\"Cmd\":[]}",
        "PUT /v1.41/containers/a/archive?path=%2Ftmp HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "POST /v1.41/containers/a/attach?stream=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
    };
    const std::string alphabet = "\r\n :/?&=%{}[]\"\\0aZ\x00\xff\t";
    int answered = 0;
    for (int i = 0; i < 300; i++) {
        std::string req = seeds[i % seeds.size()];
        int mutations = 1 + static_cast<int>(rng() % 8);
        for (int m = 0; m < mutations; m++) {
            size_t pos = req.empty() ? 0 : rng() % req.size();
            switch (rng() % 4) {
            case 0: req.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
            case 1: if (!req.empty()) req.erase(pos, 1 + rng() % 4); break;
            case 2: if (!req.empty()) req[pos] = static_cast<char>(rng() % 256); break;
            case 3: req.insert(pos, req.substr(pos, rng() % 16)); break;
            }
        }
        Conn c([](Request& r, Response& res) {
            if (r.query().has("filters")) (void)parse_filters_json(r.query().value("filters"));
            res.send(200, "text/plain", std::to_string(r.body(1 << 16).size()));
        });
        c.send(req);
        c.close_write();
        std::string out = c.read_all(5000);
        EXPECT_FALSE(c.timed_out) << "hung on: " << req;
        if (!out.empty()) {
            EXPECT_EQ(out.rfind("HTTP/1.1 ", 0), 0u) << "request: " << req << "\nanswer: " << out;
            answered++;
        }
    }
    EXPECT_GT(answered, 250);
}

// The daemon's JSON handlers with malformed and hostile bodies, over a
// store that holds nothing: answers are Docker's errors, never a crash.
TEST(Http, JsonHandlersAnswerMalformedBodiesWithDockerErrors) {
    TempDir dir("ctk-api-unit");
    store::Paths paths{dir.path() + "/root", dir.path() + "/run"};
    DaemonOptions o;
    Daemon d(paths, o);
    auto ask = [&](const std::string& method, const std::string& target, const std::string& body,
                   const std::string& ctype = "application/json") {
        int s[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
        UniqueFd client(s[0]);
        std::thread t([&d, fd = s[1]] { d.serve(plain_transport(UniqueFd(fd), "test")); });
        std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\n";
        if (!ctype.empty()) req += "Content-Type: " + ctype + "\r\n";
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        write_all(client.get(), req, "test");
        ::shutdown(client.get(), SHUT_WR);
        std::string out;
        char buf[65536];
        ssize_t n;
        while ((n = ::read(client.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
        t.join();
        return out;
    };
    std::string out = ask("POST", "/v1.41/containers/create", "{bad json");
    EXPECT_EQ(out.rfind("HTTP/1.1 500", 0), 0u) << out;
    EXPECT_NE(out.find("invalid character 'b' looking for beginning of object key string"), std::string::npos) << out;
    // issue 16: 100 000 nested arrays (200 KB) overflowed ctld's stack; Docker answers 400
    for (const auto& deep : {std::string(100000, '[') + std::string(100000, ']'),
                             R"({"Image":"tiny","Labels":)" + std::string(100000, '{') + "}"}) {
        out = ask("POST", "/v1.41/containers/create", deep);
        EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out.substr(0, 300);
        EXPECT_NE(out.find("request body: JSON nests deeper than 1000 levels"), std::string::npos) << out.substr(0, 300);
    }
    out = ask("POST", "/v1.41/containers/create", "{}", "text/plain");
    EXPECT_NE(out.find("Content-Type specified (text/plain) must be 'application/json'"), std::string::npos) << out;
    out = ask("POST", "/v1.41/containers/create?name=w", R"({"Image":"tiny"})");
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u);
    EXPECT_NE(out.find("Invalid container name (w)"), std::string::npos) << out;
    out = ask("POST", "/v1.41/containers/create", R"({"Image":"tiny","Cmd":["true"],"Unknown":{"Field":[1,2]}})");
    EXPECT_EQ(out.rfind("HTTP/1.1 404", 0), 0u) << out; // unknown fields are ignored; the image is missing
    EXPECT_NE(out.find("No such image: tiny:latest"), std::string::npos) << out;
    out = ask("GET", "/v1.99/version", "");
    EXPECT_NE(out.find("client version 1.99 is too new"), std::string::npos);
    EXPECT_EQ(out.find("Docker-Experimental"), std::string::npos);
    out = ask("GET", "/v1.41/no/such/route", "");
    EXPECT_EQ(out.rfind("HTTP/1.1 404", 0), 0u);
    EXPECT_EQ(out.find("Api-Version"), std::string::npos);
    out = ask("DELETE", "/v1.41/version", "");
    EXPECT_NE(out.find("page not found"), std::string::npos);
    // ctld unpacks a build context with img-pack extract: the built one (meson test's
    // CTK_BUILD_DIR; a unit_only build has none, and the answer says so). Only img-pack
    // is made findable, and only for this request: the requests below must not reach a
    // real net-bridge or ns-run.
    const char* build = std::getenv("CTK_BUILD_DIR");
    std::string img_pack_dir = std::string(build ? build : ".") + "/tools/img-pack";
    bool have_img_pack = ::access((img_pack_dir + "/img-pack").c_str(), X_OK) == 0;
    ::setenv("CTK_TOOLS_DIR", img_pack_dir.c_str(), 1);
    out = ask("POST", "/v1.41/build", "tar bytes");
    ::unsetenv("CTK_TOOLS_DIR");
    if (have_img_pack) {
        EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
        EXPECT_NE(out.find("build context: "), std::string::npos) << out;
    } else {
        EXPECT_NE(out.find("img-pack"), std::string::npos) << out;
    }

    std::mt19937 rng(99);
    const std::vector<std::pair<std::string, std::string>> targets = {
        {"POST", "/v1.41/containers/create"}, {"POST", "/v1.41/networks/create"}, {"POST", "/v1.41/volumes/create"},
        {"POST", "/v1.41/containers/x/exec"}, {"POST", "/v1.41/exec/x/start"}, {"POST", "/v1.41/networks/x/connect"}};
    const std::string seed = R"({"Image":"tiny","Cmd":["sh","-c","x"],"HostConfig":{"Binds":["a:/b"],"NetworkMode":"none"},"Name":"n","Labels":{"a":"b"}})";
    for (int i = 0; i < 200; i++) {
        std::string body = seed;
        for (int m = 0; m < 1 + static_cast<int>(rng() % 6); m++) {
            size_t pos = rng() % body.size();
            switch (rng() % 3) {
            case 0: body.insert(pos, 1, "{}[]\",:0tn\\"[rng() % 11]); break;
            case 1: body.erase(pos, 1 + rng() % 3); break;
            case 2: body[pos] = static_cast<char>(rng() % 256); break;
            }
            if (body.empty()) body = "{";
        }
        auto [method, target] = targets[i % targets.size()];
        out = ask(method, target, body);
        EXPECT_EQ(out.rfind("HTTP/1.1 ", 0), 0u) << target << " " << body;
        EXPECT_NE(out.find("{\"message\":"), std::string::npos) << target << " " << body << "\n" << out;
    }
}

TEST(Http, GoStyleJsonErrors) {
    auto msg = [](const std::string& text) {
        try {
            Json parsed = Json::parse(text);
            if (parsed.is_discarded()) return std::string("discarded");
        } catch (const std::exception& e) {
            return go_json_error(text, e);
        }
        return std::string("parsed");
    };
    EXPECT_EQ(msg("{bad json"), "invalid character 'b' looking for beginning of object key string");
    EXPECT_EQ(msg("{\"a\""), "unexpected end of JSON input");
    EXPECT_EQ(msg("x"), "invalid character 'x' looking for beginning of value");
    EXPECT_EQ(msg("{\"a\" 1}"), "invalid character '1' after object key");
}
