// The Dockerfile parser against Docker's documented behaviour (Dockerfile
// reference: "Format", "Parser directives", "escape", "Environment
// replacement", the instructions' forms) and the legacy builder's messages.
#include <gtest/gtest.h>

#include "build/dockerfile.hpp"
#include "core/error.hpp"

using namespace ctk;
using namespace ctk::build;

namespace {

std::string error_of(std::string_view text) {
    try {
        read_dockerfile(text);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        return e.what();
    }
    return "";
}

} // namespace

TEST(Dockerfile, InstructionsAreCaseInsensitiveAndKeepTheirLineNumbers) {
    auto f = parse_dockerfile("from tiny\n\nRun echo hi\n  cmd [\"sh\"]\n");
    ASSERT_EQ(f.nodes.size(), 3u);
    EXPECT_EQ(f.nodes[0].command, "from");
    EXPECT_EQ(f.nodes[1].command, "run");
    EXPECT_EQ(f.nodes[1].start_line, 3);
    EXPECT_EQ(f.nodes[2].start_line, 4);
    EXPECT_EQ(f.nodes[2].original, "cmd [\"sh\"]"); // leading blanks dropped
    EXPECT_TRUE(f.nodes[2].json);
}

TEST(Dockerfile, ContinuationsJoinLinesAndSkipCommentLines) {
    // Dockerfile reference, "Format": comment lines inside a continuation are removed.
    auto f = parse_dockerfile("FROM tiny\nRUN echo hello \\\n# comment\nworld\nRUN x \\  \n  y\n");
    ASSERT_EQ(f.nodes.size(), 3u);
    EXPECT_EQ(f.nodes[1].args, std::vector<std::string>{"echo hello world"});
    EXPECT_EQ(f.nodes[1].original, "RUN echo hello world");
    EXPECT_EQ(f.nodes[1].start_line, 2);
    EXPECT_EQ(f.nodes[1].end_line, 4);
    // whitespace after the backslash still continues; the next line keeps its indentation
    EXPECT_EQ(f.nodes[2].args, std::vector<std::string>{"x   y"});
    EXPECT_TRUE(f.warnings.empty());
}

TEST(Dockerfile, EmptyContinuationLinesWarn) {
    auto f = parse_dockerfile("FROM tiny\nRUN a \\\n\n  b\n");
    ASSERT_EQ(f.nodes.size(), 2u);
    EXPECT_EQ(f.nodes[1].args, std::vector<std::string>{"a   b"});
    ASSERT_EQ(f.warnings.size(), 2u);
    EXPECT_NE(f.warnings[0].find("Empty continuation line found in"), std::string::npos);
}

TEST(Dockerfile, CommentsOnlyAtTheStartOfALine) {
    auto f = parse_dockerfile("        # this is a comment-line\n    RUN echo hello # world\nRUN echo world\n");
    ASSERT_EQ(f.nodes.size(), 2u);
    EXPECT_EQ(f.nodes[0].args, std::vector<std::string>{"echo hello # world"});
    EXPECT_EQ(f.nodes[0].start_line, 2);
}

TEST(Dockerfile, CrLfAndByteOrderMark) {
    auto f = parse_dockerfile("\xEF\xBB\xBF" "FROM tiny\r\nRUN a \\\r\n b\r\n");
    ASSERT_EQ(f.nodes.size(), 2u);
    EXPECT_EQ(f.nodes[0].command, "from");
    EXPECT_EQ(f.nodes[1].args, std::vector<std::string>{"a  b"});
}

TEST(Dockerfile, EscapeDirectiveChangesTheContinuationCharacter) {
    auto f = parse_dockerfile("# escape=`\n\nFROM tiny\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n  /w\n");
    EXPECT_EQ(f.escape, '`');
    ASSERT_EQ(f.nodes.size(), 3u);
    EXPECT_EQ(f.nodes[1].args, (std::vector<std::string>{"testfile.txt", "c:\\"}));
    EXPECT_EQ(f.nodes[2].args, std::vector<std::string>{"dir c:\\   /w"});
}

TEST(Dockerfile, DirectivesAllowBlanksAndAnyCase) {
    for (const char* d : {"#escape=`", "# escape =`", "#\tescape= `", "# escape = `", "#\t  eScApE=`", "  # escape=`"}) {
        auto f = parse_dockerfile(std::string(d) + "\nFROM tiny\n");
        EXPECT_EQ(f.escape, '`') << d;
    }
}

TEST(Dockerfile, DirectivesCountOnlyBeforeAnythingElse) {
    // after a comment, an instruction, a blank line or an unknown directive they are comments
    for (const char* text : {"# about\n# escape=`\nFROM tiny\n", "FROM tiny\n# escape=`\n", "\n# escape=`\nFROM tiny\n",
                             "# unknowndirective=value\n# escape=`\nFROM tiny\n"}) {
        auto f = parse_dockerfile(text);
        EXPECT_EQ(f.escape, '\\') << text;
    }
    auto f = parse_dockerfile("# syntax=docker/dockerfile:1\n# escape=\\\nFROM tiny\n");
    EXPECT_EQ(f.syntax, "docker/dockerfile:1");
}

TEST(Dockerfile, DirectiveErrors) {
    EXPECT_EQ(error_of("# escape=`\n# escape=\\\nFROM tiny\n"),
              "dockerfile parse error line 2: only one escape parser directive can be used");
    EXPECT_EQ(error_of("# escape=x\nFROM tiny\n"),
              "dockerfile parse error line 1: invalid escape token 'x' does not match ` or \\");
}

TEST(Dockerfile, ExecAndShellForms) {
    auto f = read_dockerfile("FROM tiny\nRUN [\"echo\", \"a b\"]\nRUN echo \"a b\"\nCMD [echo]\nENTRYPOINT [\"sh\", \"-c\"]\n");
    const auto& c = f.stages[0].commands;
    ASSERT_EQ(c.size(), 4u);
    EXPECT_EQ(c[0].cmdline, (std::vector<std::string>{"echo", "a b"}));
    EXPECT_FALSE(c[0].prepend_shell);
    EXPECT_EQ(c[1].cmdline, std::vector<std::string>{"echo \"a b\""});
    EXPECT_TRUE(c[1].prepend_shell);
    // not valid JSON: the shell form, as Docker does
    EXPECT_EQ(c[2].cmdline, std::vector<std::string>{"[echo]"});
    EXPECT_TRUE(c[2].prepend_shell);
    EXPECT_EQ(c[3].kind, Kind::entrypoint);
    EXPECT_EQ(error_of("FROM tiny\nCMD [\"a\", 1]\n"),
              "dockerfile parse error line 2: when using JSON array syntax, arrays must be comprised of strings only");
}

TEST(Dockerfile, EnvAndLabelForms) {
    auto f = read_dockerfile("FROM tiny\nENV a=1 b=\"x y\" c=z\\ w\nENV old value with blanks\nLABEL \"k k\"=v\n");
    const auto& c = f.stages[0].commands;
    ASSERT_EQ(c[0].pairs.size(), 3u);
    EXPECT_EQ(c[0].pairs[1].key, "b");
    EXPECT_EQ(c[0].pairs[1].value, "\"x y\""); // quotes go at expansion time
    EXPECT_EQ(c[0].pairs[2].value, "z\\ w");
    ASSERT_EQ(c[1].pairs.size(), 1u);
    EXPECT_EQ(c[1].pairs[0].key, "old");
    EXPECT_EQ(c[1].pairs[0].value, "value with blanks");
    EXPECT_EQ(c[2].pairs[0].key, "\"k k\"");
    EXPECT_EQ(error_of("FROM tiny\nENV a=1 b\n"),
              "dockerfile parse error line 2: Syntax error - can't find = in \"b\". Must be of the form: name=value");
    EXPECT_EQ(error_of("FROM tiny\nENV single\n"), "dockerfile parse error line 2: ENV must have two arguments");
    EXPECT_EQ(error_of("FROM tiny\nLABEL\n"), "dockerfile parse error line 2: LABEL requires at least one argument");
    EXPECT_EQ(error_of("FROM tiny\nENV =x\n"), "dockerfile parse error line 2: ENV names can not be blank");
}

TEST(Dockerfile, FlagsOfCopyAndAdd) {
    auto f = read_dockerfile("FROM tiny AS b\nCOPY --from=b --chown=1:2 --chmod=640 a b /c/\nADD --chown=u x.tar /\n");
    const auto& c = f.stages[0].commands;
    EXPECT_EQ(c[0].from, "b");
    EXPECT_EQ(c[0].chown, "1:2");
    EXPECT_EQ(c[0].chmod, "640");
    EXPECT_EQ(c[0].sources, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c[0].dest, "/c/");
    EXPECT_EQ(c[1].kind, Kind::add);
    EXPECT_EQ(c[1].chown, "u");
    auto j = read_dockerfile("FROM tiny\nCOPY [\"a b\", \"/d e/\"]\n");
    EXPECT_EQ(j.stages[0].commands[0].sources, std::vector<std::string>{"a b"});
    EXPECT_EQ(j.stages[0].commands[0].dest, "/d e/");

    EXPECT_EQ(error_of("FROM tiny\nCOPY --foo=1 a b\n"), "dockerfile parse error line 2: Unknown flag: foo");
    EXPECT_EQ(error_of("FROM tiny\nADD --from=x a b\n"), "dockerfile parse error line 2: Unknown flag: from");
    EXPECT_EQ(error_of("FROM tiny\nCOPY --chown a b\n"), "dockerfile parse error line 2: Missing a value on flag: chown");
    EXPECT_EQ(error_of("FROM tiny\nCOPY --chown=1 --chown=2 a b\n"),
              "dockerfile parse error line 2: Duplicate flag specified: chown");
    EXPECT_EQ(error_of("FROM tiny\nCOPY --link=maybe a b\n"),
              "dockerfile parse error line 2: Expecting boolean value for flag link, not: maybe");
    EXPECT_EQ(error_of("FROM tiny\nCOPY onlyone\n"),
              "dockerfile parse error line 2: COPY requires at least two arguments, but only one was provided. "
              "Destination could not be determined");
}

TEST(Dockerfile, UnknownInstructionNamesTheLine) {
    EXPECT_EQ(error_of("FROM tiny\nRUN true\n\nRUNN echo\n"), "dockerfile parse error line 4: unknown instruction: RUNN");
    EXPECT_EQ(error_of("FROM tiny\nRUN a \\\n  b\nfoo bar\n"), "dockerfile parse error line 4: unknown instruction: FOO");
}

TEST(Dockerfile, StagesAndMetaArgs) {
    auto f = read_dockerfile("ARG BASE=tiny\nARG V\nFROM ${BASE} AS Build\nRUN a\nFROM scratch\nCOPY --from=build /x /\n");
    ASSERT_EQ(f.meta_args.size(), 2u);
    EXPECT_EQ(f.meta_args[0].name, "BASE");
    EXPECT_EQ(*f.meta_args[0].default_value, "tiny");
    EXPECT_FALSE(f.meta_args[1].default_value);
    ASSERT_EQ(f.stages.size(), 2u);
    EXPECT_EQ(f.stages[0].name, "build"); // stage names are lower-cased
    EXPECT_EQ(f.stages[0].base, "${BASE}");
    EXPECT_EQ(f.stages[0].source, "FROM ${BASE} AS Build");
    EXPECT_EQ(f.stages[1].base, "scratch");
    EXPECT_EQ(f.find_stage("BUILD"), 0u);
    EXPECT_EQ(f.find_stage("1"), 1u);
    EXPECT_FALSE(f.find_stage("nope"));
}

TEST(Dockerfile, FromErrors) {
    EXPECT_EQ(error_of("RUN echo\nFROM tiny\n"), "dockerfile parse error line 1: no build stage in current context");
    EXPECT_EQ(error_of("# only a comment\nARG x\n"), "No image was generated. Is your Dockerfile empty?");
    EXPECT_EQ(error_of("FROM a b\n"), "dockerfile parse error line 1: FROM requires either one or three arguments");
    EXPECT_EQ(error_of("FROM a AS 1x\n"),
              "dockerfile parse error line 1: invalid name for build stage: \"1x\", name can't start with a number or "
              "contain symbols");
    EXPECT_EQ(error_of("FROM a AS x\nFROM b AS X\n"), "dockerfile parse error line 2: x stage name already used");
    EXPECT_EQ(error_of("# nothing\n\n"), "file with no instructions");
    EXPECT_EQ(error_of("  \n"), "the Dockerfile cannot be empty");
}

TEST(Dockerfile, ArgErrorsAndForms) {
    EXPECT_EQ(error_of("FROM tiny\nARG\n"), "dockerfile parse error line 2: ARG requires at least one argument");
    EXPECT_EQ(error_of("FROM tiny\nARG =x\n"), "dockerfile parse error line 2: ARG names can not be blank");
    auto f = read_dockerfile("FROM tiny\nARG a b=\"2 3\" c=\n");
    const auto& a = f.stages[0].commands[0].args;
    ASSERT_EQ(a.size(), 3u);
    EXPECT_FALSE(a[0].default_value);
    EXPECT_EQ(*a[1].default_value, "\"2 3\"");
    EXPECT_EQ(*a[2].default_value, "");
}

TEST(Dockerfile, ArgumentCounts) {
    EXPECT_EQ(error_of("FROM tiny\nWORKDIR\n"), "dockerfile parse error line 2: WORKDIR requires exactly one argument");
    EXPECT_EQ(error_of("FROM tiny\nUSER\n"), "dockerfile parse error line 2: USER requires exactly one argument");
    EXPECT_EQ(error_of("FROM tiny\nEXPOSE\n"), "dockerfile parse error line 2: EXPOSE requires at least one argument");
    EXPECT_EQ(error_of("FROM tiny\nVOLUME\n"), "dockerfile parse error line 2: VOLUME requires at least one argument");
    EXPECT_EQ(error_of("FROM tiny\nSHELL /bin/bash -c\n"),
              "dockerfile parse error line 2: SHELL requires the arguments to be in JSON form");
    EXPECT_EQ(error_of("FROM tiny\nSTOPSIGNAL\n"), "dockerfile parse error line 2: STOPSIGNAL requires exactly one argument");
    // WORKDIR and USER take the rest of the line as one word
    auto f = read_dockerfile("FROM tiny\nWORKDIR /a b\nUSER 1000:1000\nEXPOSE 8080 80/udp\nVOLUME [\"/v\", \"/w\"]\n");
    const auto& c = f.stages[0].commands;
    EXPECT_EQ(c[0].value, "/a b");
    EXPECT_EQ(c[1].value, "1000:1000");
    EXPECT_EQ(c[2].words, (std::vector<std::string>{"80/udp", "8080"}));
    EXPECT_EQ(c[3].words, (std::vector<std::string>{"/v", "/w"}));
}

TEST(Dockerfile, HealthcheckAndOnbuild) {
    auto f = read_dockerfile("FROM tiny\nHEALTHCHECK --interval=30s --retries=3 CMD wget -q localhost\n"
                             "HEALTHCHECK NONE\nONBUILD RUN echo hi\n");
    const auto& c = f.stages[0].commands;
    ASSERT_TRUE(c[0].health);
    EXPECT_EQ(c[0].health->test, (std::vector<std::string>{"CMD-SHELL", "wget -q localhost"}));
    EXPECT_EQ(c[0].health->interval_ns, 30000000000);
    EXPECT_EQ(c[0].health->retries, 3);
    EXPECT_EQ(c[1].health->test, std::vector<std::string>{"NONE"});
    EXPECT_EQ(c[2].onbuild, "RUN echo hi");
    EXPECT_EQ(error_of("FROM tiny\nONBUILD FROM x\n"), "dockerfile parse error line 2: FROM isn't allowed as an ONBUILD trigger");
    EXPECT_EQ(error_of("FROM tiny\nHEALTHCHECK FOO x\n"),
              "dockerfile parse error line 2: Unknown type \"FOO\" in HEALTHCHECK (try CMD)");
}

TEST(Dockerfile, FlagWordsUnderstandQuotes) {
    auto n = parse_line("COPY --chown=\"a b\" -- --x /d");
    EXPECT_EQ(n.flags, std::vector<std::string>{"--chown=a b"});
    EXPECT_EQ(n.args, (std::vector<std::string>{"--x", "/d"}));
}

TEST(Dockerfile, GoDurations) {
    EXPECT_EQ(parse_go_duration("1m30s"), 90000000000);
    EXPECT_EQ(parse_go_duration("500ms"), 500000000);
    EXPECT_EQ(parse_go_duration("1.5h"), 5400000000000);
    EXPECT_FALSE(parse_go_duration("10"));
    EXPECT_FALSE(parse_go_duration("x"));
}
