// Dockerfiles (ctl build, ctld POST /build: the build context comes from the
// client): the line parser with its directives and continuations, the checks
// of every instruction, and the variable expansion the builder then applies
// to the words of ENV, LABEL, COPY, WORKDIR, USER, EXPOSE, FROM ...
#include "build/dockerfile.hpp"
#include "build/shell_words.hpp"
#include "fuzz.hpp"

using namespace ctk;
using namespace ctk::build;

namespace {

void expand_all(const Dockerfile& df) {
    ShellWords sh(df.escape);
    VarMap vars{{"HOME", "/root"}, {"PATH", "/usr/bin:/bin"}, {"V", "a b*c"}, {"EMPTY", ""}};
    auto word = [&](const std::string& w) {
        fuzz::expect_ok_or_rejected([&] { (void)sh.word(w, vars); });
        fuzz::expect_ok_or_rejected([&] { (void)sh.words(w, vars); });
    };
    for (const auto& a : df.meta_args)
        if (a.default_value) word(*a.default_value);
    for (const auto& st : df.stages) {
        word(st.base);
        word(st.platform);
        for (const auto& ins : st.commands) {
            for (const auto& kv : ins.pairs) {
                word(kv.key);
                word(kv.value);
                vars[kv.key] = kv.value; // later words see it, as the builder's ENV does
            }
            for (const auto& w : ins.sources) word(w);
            for (const auto& w : ins.words) word(w);
            for (const auto& a : ins.args)
                if (a.default_value) word(*a.default_value);
            word(ins.dest);
            word(ins.value);
            word(ins.chown);
        }
        (void)df.find_stage(st.name);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s = fuzz::text(data, size);
    fuzz::expect_ok_or_rejected([&] { expand_all(read_dockerfile(s)); });
    // one line as `ctl commit --change` and ONBUILD take it
    std::string_view line = fuzz::split(s, '\n').first, rest = fuzz::split(s, '\n').second;
    fuzz::expect_ok_or_rejected([&] { (void)check_instruction(parse_line(line)); });
    (void)parse_go_duration(line);
    (void)shell_pattern_match(line, rest.substr(0, 256));
    return 0;
}
