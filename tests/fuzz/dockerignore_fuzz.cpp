// .dockerignore (from the client's build context): the pattern parser and the
// matcher. Input: the file's text, a NUL byte, then paths of the context one a
// line to match against it.
#include "build/dockerignore.hpp"
#include "fuzz.hpp"

using namespace ctk;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto parts = fuzz::split(fuzz::text(data, size), '\0');
    std::string_view file = parts.first, paths = parts.second;
    fuzz::expect_ok_or_rejected([&] {
        build::IgnoreMatcher m = build::IgnoreMatcher::parse(file);
        build::IgnoreMatcher copy(m.patterns());
        (void)m.has_exclusions();
        std::string_view rest = paths;
        for (int i = 0; i < 16 && !rest.empty(); i++) {
            std::string_view p = fuzz::split(rest, '\n').first;
            if (m.excluded(p) != copy.excluded(p)) std::abort(); // built again from its patterns: the same matcher
            rest = fuzz::split(rest, '\n').second;
        }
        for (const char* p : {"a", "a/b", "a/b/c.txt", ".git/config", "Dockerfile", "x/y/z/.env"}) (void)m.excluded(p);
    });
    return 0;
}
