// The Dockerfile, read the way Docker reads it (the parser that the legacy
// builder and BuildKit share, moby/buildkit frontend/dockerfile/parser and
// instructions):
//
//  1. Lines. Parser directives ("# syntax=…", "# escape=`") count only at the
//     very top, before any instruction, comment or blank line. A line ending
//     in the escape character continues on the next; comment lines and blank
//     lines inside a continuation are dropped (blank ones with a warning).
//     A line whose first non-blank character is '#' is a comment.
//  2. Nodes. The first word names the instruction (any case); "--name=value"
//     words right after it are its flags; the rest is split per instruction:
//     a JSON array for the exec forms, whitespace-separated words, name=value
//     pairs (ENV, LABEL), or the whole rest of the line.
//  3. Instructions. Each node is checked against its instruction's rules
//     (argument counts, allowed flags) and grouped into stages, one per FROM;
//     ARGs before the first FROM are the meta ARGs that FROM lines may use.
//
// Variables are not expanded here: that happens when a step runs, with the
// environment of that step (shell_words.hpp).
//
// Errors are ErrorKind::invalid with Docker's wording and the line:
//     dockerfile parse error line 3: unknown instruction: FOO
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ctk::build {

// One instruction as the parser sees it, before it is checked.
struct Node {
    std::string command;            // lower case: "run", "copy", …
    std::string original;           // the whole instruction, continuations joined
    std::vector<std::string> flags; // "--from=builder", "--chown=1:1", "--link"
    std::vector<std::string> args;  // split by the instruction's rule
    bool json = false;              // exec form: args came from a JSON array
    int start_line = 0;             // 1-based, as Docker counts
    int end_line = 0;
    std::shared_ptr<Node> trigger;  // ONBUILD's instruction
};

struct ParsedFile {
    std::vector<Node> nodes;
    char escape = '\\';
    std::string syntax;                // the "# syntax=" directive, if any
    std::vector<std::string> warnings; // "[WARNING]: Empty continuation line found in: …"
};

// Splits a Dockerfile into nodes. Throws ErrorKind::invalid:
//     dockerfile parse error line 1: only one escape parser directive can be used
//     file with no instructions
ParsedFile parse_dockerfile(std::string_view text);

// Parses one instruction line (ctl commit --change, ONBUILD triggers) with the
// default escape character.
Node parse_line(std::string_view line, char escape = '\\');

// ---- checked instructions

enum class Kind {
    from, run, cmd, entrypoint, copy, add, env, arg, workdir, user, expose, label, volume, shell,
    stopsignal, healthcheck, maintainer, onbuild,
};
const char* kind_name(Kind k); // "RUN"

struct KeyValue {
    std::string key;
    std::string value;
};

struct ArgDecl {
    std::string name;
    std::optional<std::string> default_value; // unexpanded
};

struct Healthcheck {
    std::vector<std::string> test; // ["NONE"] | ["CMD", …] | ["CMD-SHELL", "…"]
    int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0, start_interval_ns = 0;
    int retries = 0;
};

// A checked instruction. Fields not used by its kind stay empty.
struct Instruction {
    Kind kind = Kind::run;
    Node node;

    // RUN / CMD / ENTRYPOINT / SHELL: the command words (shell form: one word,
    // the text as written) and whether the shell is prepended.
    std::vector<std::string> cmdline;
    bool prepend_shell = false;

    // COPY / ADD (unexpanded words)
    std::vector<std::string> sources;
    std::string dest;
    std::string chown, chmod, from;
    bool link = false;

    std::vector<KeyValue> pairs;    // ENV, LABEL (unexpanded)
    std::vector<ArgDecl> args;      // ARG
    std::string value;              // WORKDIR, USER, STOPSIGNAL, MAINTAINER (unexpanded)
    std::vector<std::string> words; // EXPOSE, VOLUME (unexpanded)
    std::optional<Healthcheck> health;
    std::string onbuild;            // ONBUILD: the trigger instruction's text

    std::string network;            // RUN --network=none|host|default
    std::vector<std::string> run_mounts; // RUN --mount (refused when used)

    // What `docker build` prints after "Step N/M : ".
    const std::string& text() const { return node.original; }
    int line() const { return node.start_line; }
};

struct Stage {
    std::string base;     // FROM's image (unexpanded), or "scratch"
    std::string name;     // the AS name, lower case, "" when unnamed
    std::string platform; // FROM --platform (unexpanded)
    std::string source;   // the FROM line as written
    int line = 0;
    std::vector<Instruction> commands;
};

struct Dockerfile {
    std::vector<ArgDecl> meta_args;      // ARGs before the first FROM
    std::vector<Instruction> meta_arg_instructions;
    std::vector<Stage> stages;
    char escape = '\\';
    std::vector<std::string> warnings;

    // The index of the stage named `name` (case-insensitive), or of the stage
    // number given in decimal; nullopt when there is none.
    std::optional<size_t> find_stage(std::string_view name) const;
};

// Checks a parsed file and groups it into stages. Throws ErrorKind::invalid:
//     dockerfile parse error line 2: unknown instruction: RUNN
//     dockerfile parse error line 1: no build stage in current context
Dockerfile check_dockerfile(const ParsedFile& parsed);

// parse_dockerfile + check_dockerfile.
Dockerfile read_dockerfile(std::string_view text);

// Checks one node on its own (ctl commit --change). Throws the message
// without the "dockerfile parse error line" prefix.
Instruction check_instruction(const Node& node);

// Docker's Go-style duration ("30s", "1m30s", "500ms") in nanoseconds.
std::optional<int64_t> parse_go_duration(std::string_view s);

} // namespace ctk::build
