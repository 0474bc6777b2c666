#include <gtest/gtest.h>

#include <sys/stat.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "engine/plan.hpp"

using namespace ctk;
using namespace ctk::engine;

TEST(JsonEdits, SetRemoveAppendNamespaces) {
    Json doc = Json::parse(R"({"linux":{"namespaces":[{"type":"pid"},{"type":"network"}]},"process":{"env":["A=1"]}})");
    apply_edits(doc, {
                         {JsonEdit::Op::set, {"linux", "resources", "memory", "limit"}, "", 67108864},
                         {JsonEdit::Op::append, {"process", "env"}, "", "B=2"},
                         {JsonEdit::Op::set_namespace, {}, "network", "/run/ctk/netns/x"},
                         {JsonEdit::Op::remove, {"process", "env", "#0"}, "", nullptr},
                     });
    EXPECT_EQ(doc["linux"]["resources"]["memory"]["limit"], 67108864);
    EXPECT_EQ(doc["process"]["env"], Json::array({"B=2"}));
    EXPECT_EQ(doc["linux"]["namespaces"][1], (Json{{"type", "network"}, {"path", "/run/ctk/netns/x"}}));
    apply_edits(doc, {{JsonEdit::Op::remove_namespace, {}, "network", nullptr},
                      {JsonEdit::Op::set_namespace, {}, "ipc", "/proc/1/ns/ipc"}});
    EXPECT_EQ(doc["linux"]["namespaces"], Json::parse(R"([{"type":"pid"},{"type":"ipc","path":"/proc/1/ns/ipc"}])"));
}

TEST(ShellWord, Quoting) {
    EXPECT_EQ(shell_word("abc/def-1.2:x=y"), "abc/def-1.2:x=y");
    EXPECT_EQ(shell_word(""), "''");
    EXPECT_EQ(shell_word("a b"), "'a b'");
    EXPECT_EQ(shell_word("it's"), "'it'\\''s'");
    EXPECT_EQ(shell_word("$HOME"), "'$HOME'");
}

namespace {
// The script the plan renders, run with /bin/sh, must do what execute() does.
Plan sample(const std::string& dir) {
    Plan p;
    p.title = "sample";
    p.env = {"CTK_ROOT=" + dir + "/root"};
    p.vars = {{"C", dir + "/root/c1"}};
    p.add(make_dir_step(dir + "/root/c1"));
    p.add(write_file_step(dir + "/root/c1/in.json", R"({"ips":[{"address":"10.210.0.7/16"}],"x":"it's $x"})" "\n"));
    p.add(capture_step("IP", dir + "/root/c1/in.json", ".ips[0].address", true));
    p.add(write_file_step(dir + "/root/c1/hosts", "127.0.0.1\tlocalhost\n${IP}\tc1\n"));
    p.add(edit_json_step(dir + "/root/c1/in.json", {{JsonEdit::Op::set, {"y", "z"}, "", "v w"},
                                                     {JsonEdit::Op::set_namespace, {}, "network", dir + "/ns"}}));
    Step echo = run_step({"sh", "-c", "printf '%s|' \"$@\" > \"$0\"", dir + "/root/c1/args", "a b", "it's", "$HOME"});
    p.add(echo);
    Step fail = run_step({"false"});
    fail.may_fail = true;
    p.add(fail);
    p.add(remove_tree_step(dir + "/root/c1/gone"));
    return p;
}
} // namespace

TEST(Plan, ExecutedAndExplainedGiveTheSameFiles) {
    TempDir a("plan-a"), b("plan-b");
    ExecResult r = execute(sample(a.path()));
    EXPECT_EQ(r.vars["IP"], "10.210.0.7");

    Plan pb = sample(b.path());
    std::string script = render_script(pb);
    EXPECT_NE(script.find("C=\"${CTK_ROOT}/c1\""), std::string::npos) << script;
    EXPECT_NE(script.find("IP=$(jq -r '.ips[0].address | split(\"/\")[0]' \"${C}/in.json\")"), std::string::npos)
        << script;
    write_file_atomic(b.path() + "/script.sh", script);
    ProcessResult sh = run_process({"sh", b.path() + "/script.sh"});
    ASSERT_EQ(sh.status, 0) << script << sh.err;

    for (const char* f : {"/root/c1/hosts", "/root/c1/args"})
        EXPECT_EQ(read_file(a.path() + f), read_file(b.path() + f)) << f;
    EXPECT_EQ(read_file(a.path() + "/root/c1/hosts"), "127.0.0.1\tlocalhost\n10.210.0.7\tc1\n");
    EXPECT_EQ(read_file(a.path() + "/root/c1/args"), "a b|it's|$HOME|");
    Json ja = read_json_file(a.path() + "/root/c1/in.json"), jb = read_json_file(b.path() + "/root/c1/in.json");
    EXPECT_EQ(ja["y"], jb["y"]);
    EXPECT_EQ(ja["linux"]["namespaces"][0]["type"], "network");
    EXPECT_EQ(jb["linux"]["namespaces"][0]["path"], b.path() + "/ns");
    EXPECT_EQ(ja["linux"]["namespaces"][0]["path"], a.path() + "/ns");
}

TEST(Plan, AFailingStepStopsWithTheToolsMessage) {
    Plan p;
    p.add(run_step({"sh", "-c", "echo 'img-unpack: image x: not found' >&2; exit 4"}));
    p.add(run_step({"sh", "-c", "exit 9"}));
    try {
        execute(p);
        FAIL();
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "img-unpack: image x: not found");
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
}

TEST(Plan, ForegroundStatusIsThePlansStatus) {
    Plan p;
    Step s = run_step({"sh", "-c", "exit 3"});
    s.foreground = true;
    p.add(s);
    p.add(run_step({"true"}));
    ExecResult r = execute(p);
    EXPECT_TRUE(r.ran_foreground);
    EXPECT_EQ(r.status, 3);
    std::string script = render_script(p);
    EXPECT_NE(script.find("|| status=$?"), std::string::npos);
    EXPECT_NE(script.find("exit \"$status\""), std::string::npos);
}

TEST(Plan, BeforeStepCanAbort) {
    TempDir d("plan-abort");
    Plan p;
    p.add(make_dir_step(d.path() + "/one"));
    p.add(make_dir_step(d.path() + "/two"));
    int n = 0;
    ExecOptions o;
    o.before_step = [&](const Step&) {
        if (++n == 2) throw Error("interrupted");
    };
    EXPECT_THROW(execute(p, o), Error);
    struct stat st;
    EXPECT_EQ(::stat((d.path() + "/one").c_str(), &st), 0);
    EXPECT_NE(::stat((d.path() + "/two").c_str(), &st), 0);
}

// cp's step: two tools joined by a pipe, streamed; the script shows `A | B`.
TEST(Plan, APipeStepStreamsAndFailsWithTheFirstFailuresMessage) {
    Plan p;
    Step s = pipe_step({"sh", "-c", "seq 1 100000"}, {"wc", "-l"}, "count");
    s.keep_output = "out";
    p.add(s);
    EXPECT_NE(render_script(p).find("sh -c 'seq 1 100000' </dev/null | wc -l\n"), std::string::npos) << render_script(p);
    EXPECT_EQ(execute(p).vars["out"], "100000\n");
    // the writer fails: its message and status, though the reader saw a clean end
    Plan w;
    w.add(pipe_step({"sh", "-c", "echo 'img-pack: no such file' >&2; exit 4"}, {"cat"}));
    try {
        execute(w);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "img-pack: no such file");
        EXPECT_EQ(e.kind(), ErrorKind::not_found);
    }
    // the reader fails: the writer's SIGPIPE is not the cause
    Plan r;
    r.add(pipe_step({"yes"}, {"sh", "-c", "head -c 10 >/dev/null; echo 'img-pack: bad tar' >&2; exit 3"}));
    try {
        execute(r);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "img-pack: bad tar");
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
    }
}
