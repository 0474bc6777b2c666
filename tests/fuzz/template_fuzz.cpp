// --format templates (ctl ps/images/inspect/..., Go text/template subset):
// the parser, then the template run on a container-like object, and the
// listing renderer ("table ...", "json", plain). Input: the format text, then
// optionally a NUL and a JSON object to use as "." instead.
#include "engine/format.hpp"
#include "fuzz.hpp"

using namespace ctk;
using namespace ctk::engine;

namespace {

const Json& sample() {
    static const Json j = Json::parse(R"({
      "ID": "0123456789ab", "Names": "web", "Image": "busybox:latest", "Status": "Up 2 seconds",
      "Labels": {"a": "1", "b.c": "x y"}, "Ports": [{"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
      "State": {"Status": "running", "Pid": 42, "Running": true, "ExitCode": 0},
      "Config": {"Env": ["A=1", "B=2"], "Cmd": ["sh", "-c", "echo hi"], "Tty": false},
      "Size": 1234.5, "Null": null, "Empty": [], "Nested": [[1, 2], {"k": "v"}]
    })");
    return j;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto parts = fuzz::split(fuzz::text(data, size), '\0');
    std::string_view format = parts.first, doc = parts.second;
    Json dot = sample();
    if (!doc.empty()) {
        dot = try_parse_json(doc);
        // the rows and inspect documents ctk hands to a template are objects
        if (!dot.is_object()) return 0;
    }
    std::string text = unescape_format(format);
    fuzz::expect_ok_or_rejected([&] { (void)Template::parse(text).execute(dot); });
    fuzz::expect_ok_or_rejected([&] {
        Listing l;
        l.default_table = "table {{.ID}}\t{{.Image}}\t{{.Names}}";
        l.headers = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Names", "NAMES"}};
        (void)render_listing(l, text, {dot, sample()});
    });
    (void)go_print(dot);
    return 0;
}
