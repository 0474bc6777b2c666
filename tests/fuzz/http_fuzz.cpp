// ctld's HTTP layer on one connection (any client of the socket): request
// lines, headers, keep-alive with several requests in turn, Content-Length
// and chunked bodies, limits, the hijack; then the router (API versions,
// route patterns) and the request parts handlers read: the query string,
// filters, JSON bodies, a create body taken as ctld takes it.
// The input is the byte stream the client sends, handed to the server in
// pieces of a size the first byte picks; the server's answers are checked to
// be HTTP responses.
#include <algorithm>
#include <cstring>

#include "api/daemon.hpp"
#include "api/events.hpp"
#include "api/router.hpp"
#include "ctld_create.hpp"
#include "oci/reference.hpp"
#include "fuzz.hpp"

using namespace ctk;
using namespace ctk::api;

namespace {

class MemoryTransport : public Transport {
public:
    MemoryTransport(std::string_view in, size_t piece, std::string& out) : in_(in), piece_(piece), out_(out) {}
    int fd() const override { return -1; }
    size_t read_some(void* buf, size_t n) override {
        size_t k = std::min({n, piece_, in_.size()});
        std::memcpy(buf, in_.data(), k);
        in_.remove_prefix(k);
        return k;
    }
    void write_all(std::string_view data) override { out_.append(data); }
    void close_write() override {}
    std::string peer() const override { return "fuzz"; }

private:
    std::string_view in_;
    size_t piece_;
    std::string& out_;
};

Router make_router() {
    Router r;
    r.add("GET", "/_ping", [](Request&, Response& res) { res.send(200, "text/plain", "OK"); });
    r.add("GET", "/containers/json", [](Request& req, Response& res) {
        auto f = parse_filters_json(req.query().value("filters"));
        bool all = req.query().flag("all");
        auto limit = req.query().integer("limit");
        res.json(200, Json{{"filters", f.size()}, {"all", all}, {"limit", limit.value_or(-1)}});
    });
    r.add("GET", "/events", [](Request& req, Response& res) {
        EventFilter f = EventFilter::parse(req.query().value("filters"));
        Json e = {{"Type", "container"}, {"Action", "start"}, {"id", "abc"},
                  {"Actor", {{"ID", "abc"}, {"Attributes", {{"name", "web"}, {"image", "busybox"}}}}}};
        res.begin_stream(200, "application/json");
        if (f.match(e)) res.chunk(e.dump() + "\n");
        res.end_stream();
    });
    r.add("POST", "/containers/create", [](Request& req, Response& res) {
        std::string name = req.query().value("name");
        Json body = json_body(req, 1u << 20);
        fuzz::create_container(name, std::move(body));
        res.json(201, Json{{"Id", "x"}, {"Warnings", Json::array()}});
    });
    r.add("POST", "/exec/{id}/start", [](Request& req, Response& res) {
        Json body = json_body(req, 1u << 20, true);
        res.json(200, body);
    });
    r.add("POST", "/build", [](Request& req, Response& res) {
        std::string args = req.query().value("buildargs");
        if (!args.empty()) (void)parse_json_text(args, "buildargs");
        uint64_t n = 0;
        req.body_stream([&](std::string_view d) { n += d.size(); }, 1u << 20);
        res.begin_stream(200, "application/json");
        res.chunk(Json{{"stream", std::to_string(n)}}.dump() + "\n");
    });
    r.add("GET", "/images/{name*}/json", [](Request& req, Response& res) {
        res.json(200, Json{{"name", oci::Reference::parse_normalized(req.params.at("name")).str()}});
    });
    r.add("DELETE", "/containers/{id}", [](Request& req, Response& res) {
        (void)req.query().flag("force");
        (void)req.query().all("v");
        res.no_content();
    });
    r.add("POST", "/containers/{id}/attach", [](Request& req, Response& res) {
        (void)req.query().flag("stream");
        Transport& t = res.hijack(StdHeaders::none);
        char buf[64];
        size_t n = t.read_some(buf, sizeof buf);
        t.write_all(std::string_view(buf, n));
    });
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    static const Router router = make_router();
    size_t piece = data[0] == 0 ? size : data[0];
    std::string out;
    ServerLimits limits;
    limits.header_bytes = 8 * 1024;
    limits.idle_body_drain = 64 * 1024;
    serve_connection(std::make_unique<MemoryTransport>(fuzz::text(data + 1, size - 1), piece, out),
                     [](Request& req, Response& res) { router.dispatch(req, res); }, limits, nullptr);
    // whatever was written is HTTP responses (or, after the hijack, raw bytes)
    if (!out.empty() && out.rfind("HTTP/1.1 ", 0) != 0) std::abort();
    return 0;
}
