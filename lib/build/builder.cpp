#include "build/builder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <filesystem>
#include <set>

#include "build/copy.hpp"
#include "build/dockerfile.hpp"
#include "build/dockerignore.hpp"
#include "build/shell_words.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "engine/commit.hpp"
#include "engine/plan.hpp"
#include "engine/tools.hpp"
#include "engine/timefmt.hpp"
#include "image/image_writer.hpp"
#include "image/layer_writer.hpp"
#include "oci/media_types.hpp"

namespace ctk::build {

std::string build_cache_dir(const store::Paths& paths) { return paths.root + "/build-cache"; }

namespace {

// A failed RUN: the build stops with the command's status.
struct RunFailed {
    int code;
    std::string message;
};

std::string short12(const std::string& id) {
    std::string h = id.rfind("sha256:", 0) == 0 ? id.substr(7) : id;
    return h.substr(0, 12);
}

struct ImageState {
    bool scratch = true;
    oci::Platform platform;
    oci::Descriptor manifest;
    oci::Manifest m;
    oci::ImageConfig cfg;
    std::string id;     // config digest
    // The manifest digest the tools take ("sha256:…"), or, under --explain,
    // the script's variable that will hold it ("${IMG3}"): its image is made
    // by an earlier step of the script, not yet here.
    std::string digest;
    size_t layers = 0;  // layers of the image (known under --explain too)
    bool known() const { return digest.rfind("sha256:", 0) == 0; }
};

ImageState load_state(const oci::Layout& layout, const oci::Descriptor& d) {
    auto s = image::read_stored_image(layout, d);
    ImageState st;
    st.scratch = false;
    st.manifest = d;
    st.m = s.manifest;
    st.cfg = s.config;
    st.platform = s.config.platform();
    st.id = s.manifest.config.digest.str();
    st.digest = d.digest.str();
    st.layers = s.manifest.layers.size();
    return st;
}

// ---- files

// "/" + the cleaned path, one leading slash.
std::string abs_clean(const std::string& p) {
    std::string c = clean_path(p);
    while (!c.empty() && c[0] == '/') c.erase(0, 1);
    return c.empty() || c == "." ? "/" : "/" + c;
}


// The content hash of a source for the cache (names, types, modes, sizes,
// contents, link targets; not times).
void hash_entry(Hasher& h, int sdir, const std::string& name, const std::string& rel, const IgnoreMatcher* ignore) {
    struct stat st;
    if (::fstatat(sdir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) throw_errno("stat", rel);
    h.update(rel + "\n" + std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid) +
             "\n");
    if (S_ISREG(st.st_mode)) {
        UniqueFd in(::openat(sdir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!in) throw_errno("open", rel);
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(in.get(), buf, sizeof buf);
            if (n < 0) throw_errno("read", rel);
            if (n == 0) break;
            h.update(buf, static_cast<size_t>(n));
        }
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = ::readlinkat(sdir, name.c_str(), target, sizeof target);
        if (n > 0) h.update(target, static_cast<size_t>(n));
    } else if (S_ISDIR(st.st_mode)) {
        UniqueFd s(::openat(sdir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) throw_errno("open", rel);
        std::vector<std::string> names = entry_names(s.get(), rel);
        std::sort(names.begin(), names.end());
        for (const auto& n : names) {
            std::string r = rel.empty() || rel == "." ? n : rel + "/" + n;
            if (ignored_entry(ignore, s.get(), n, r)) continue;
            hash_entry(h, s.get(), n, r, ignore);
        }
    }
}

// ---- the builder

class Builder {
public:
    Builder(engine::Engine& e, const BuildOptions& o, const BuildSink& s)
        : e_(e), o_(o), sink_(s), layout_(e.images().layout()) {}

    BuildResult run();
    // After a failure: the work directory (the failed step's own undo ran already).
    void clean_up() const {
        if (!work_.empty() && !e_.explaining()) {
            try {
                remove_tree(work_);
            } catch (const std::exception&) {
            }
        }
    }

private:
    struct Stage {
        ImageState state;
        VarMap args; // ARGs in scope (values)
        std::set<std::string> arg_names;
        bool cmd_set = false;
    };

    void say(const std::string& s) const {
        if (sink_.stream) sink_.stream(s);
    }
    VarMap vars(const Stage& st) const {
        VarMap v = st.args;
        for (const auto& [k, val] : var_map(st.state.cfg.config.env)) v[k] = val;
        return v;
    }
    std::string expand(const Stage& st, const std::string& w) const { return ShellWords(escape_).word(w, vars(st)); }

    ImageState from(const Dockerfile& df, size_t index);
    void step(Stage& st, const Instruction& in);
    void run_step(Stage& st, const Instruction& in);
    void copy_step(Stage& st, const Instruction& in);
    void workdir_step(Stage& st, const Instruction& in);
    void config_step(Stage& st, const Instruction& in);

    // Cache: the image of a step, if an earlier build made it.
    std::string cache_key(const ImageState& parent, const std::string& created_by, const std::string& extra) const;
    std::optional<ImageState> cached(const std::string& key) const;

    // ---- each step is a plan of tool runs (img-unpack, ns-run, img-pack):
    // ctl runs it, --explain prints it (lib/engine/plan.hpp).
    engine::Plan plan() const { return e_.new_plan("ctl build"); }
    // A bundle of `st` for a step: an overlay of its layers by img-unpack
    // (`command` written into its config.json), or an empty rootfs for an
    // image without layers; armed for removal when a later step fails.
    struct Bundle {
        std::string dir, rootfs;
        bool unpacked = false; // by img-unpack (released by it), else a plain directory
    };
    Bundle bundle_steps(engine::Plan& p, const ImageState& st, const std::vector<std::string>& command,
                        const std::vector<std::string>& env, const std::vector<engine::Step>& also_undo = {});
    std::vector<engine::Step> release_steps(const Bundle& b) const;
    // img-pack commit of the step's image on top of `parent` (blobs only),
    // its manifest digest captured as ${IMGn}, and the cache entry `key`.
    struct Commit {
        const Bundle* layer = nullptr;      // the bundle whose changes are the layer (none: config only)
        std::optional<oci::ContainerConfig> config; // the new Config (none: the parent's)
        std::string created_by, author, key;
    };
    ImageState commit_steps(engine::Plan& p, const ImageState& parent, const Commit& c);
    // The end of a step with a bundle: its image committed from the bundle's
    // changes (and `config`, when given), the bundle released, the plan run;
    // the stage's state becomes the step's image.
    void finish_bundle_step(engine::Plan& p, Stage& st, const Bundle& b, const std::optional<oci::ContainerConfig>& config,
                            const std::string& created_by, const std::string& key);
    // Runs the plan, or appends it to the script under --explain; a failure
    // runs the plan's undo steps (the script's EXIT trap) before it goes on.
    void perform(const engine::Plan& p);
    // The undo steps armed in `p` (arm_rollback), each allowed to fail.
    void undo(const engine::Plan& p);
    // The state commit_steps predicted, read back from img-pack's output once it ran.
    ImageState made(const ImageState& predicted) const;

    engine::Engine& e_;
    const BuildOptions& o_;
    const BuildSink& sink_;
    oci::Layout layout_;
    char escape_ = '\\';
    std::string context_;
    IgnoreMatcher ignore_;
    std::vector<std::optional<ImageState>> stage_results_;
    std::vector<std::string> stage_names_;
    VarMap global_args_;
    int step_no_ = 0, steps_total_ = 0, images_made_ = 0;
    std::string work_; // $CTK_ROOT/tmp/build-…: this build's bundles and img-pack outputs
};

std::string Builder::cache_key(const ImageState& parent, const std::string& created_by, const std::string& extra) const {
    std::string k = parent.scratch ? "scratch " + parent.platform.os + "/" + parent.platform.architecture
                                   : parent.digest;
    return Digest::sha256_of(k + "\n" + created_by + "\n" + extra).encoded();
}

// A cache entry is img-pack commit's answer for the step: {"manifest": descriptor, …}.
std::optional<ImageState> Builder::cached(const std::string& key) const {
    if (o_.no_cache) return std::nullopt;
    auto text = read_file_if_exists(build_cache_dir(e_.paths()) + "/" + key + ".json");
    if (!text) return std::nullopt;
    try {
        oci::Descriptor d = parse_json(*text, "build cache").at("manifest").get<oci::Descriptor>();
        if (!image::image_complete(layout_, d)) return std::nullopt;
        return load_state(layout_, d);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

Builder::Bundle Builder::bundle_steps(engine::Plan& p, const ImageState& st, const std::vector<std::string>& command,
                                      const std::vector<std::string>& env, const std::vector<engine::Step>& also_undo) {
    Bundle b;
    b.dir = work_ + "/step" + std::to_string(step_no_) + (p.steps.empty() ? "" : "-" + std::to_string(p.steps.size()));
    b.rootfs = b.dir + "/rootfs";
    b.unpacked = !(st.scratch || st.layers == 0);
    std::vector<engine::Step> undo = also_undo;
    for (auto& s : release_steps(b)) undo.push_back(s);
    undo.push_back(engine::remove_tree_step(work_)); // the build stops: its work directory goes
    p.add(engine::arm_rollback_step(undo, "a failure from here releases the step's bundle"));
    if (b.unpacked) p.add(engine::run_step(engine::tools::unpack_build_step(layout_.path(), st.digest, b.dir, env, command),
                                           "the image so far as an overlay bundle"));
    else p.add(engine::make_dir_step(b.rootfs));
    return b;
}

std::vector<engine::Step> Builder::release_steps(const Bundle& b) const {
    std::vector<engine::Step> out;
    if (b.unpacked) {
        engine::Step r = engine::run_step(engine::tools::unpack_release(b.dir));
        r.may_fail = true;
        out.push_back(r);
    }
    out.push_back(engine::remove_tree_step(b.dir));
    return out;
}

ImageState Builder::commit_steps(engine::Plan& p, const ImageState& parent, const Commit& c) {
    std::string var = "IMG" + std::to_string(++images_made_);
    std::string out = work_ + "/" + var + ".json";
    engine::tools::PackCommit pc;
    pc.base = parent.scratch ? "scratch" : "@" + parent.digest;
    if (parent.scratch) pc.platform = parent.platform.str();
    if (c.layer) {
        if (c.layer->unpacked) pc.bundle = c.layer->dir;
        else pc.upper = c.layer->rootfs;
    }
    if (c.config) {
        pc.set_config = work_ + "/" + var + "-config.json";
        p.add(engine::write_file_step(pc.set_config, dump_compact(Json(*c.config)) + "\n", 0644, "the image's new Config"));
    }
    pc.created_by = c.created_by;
    pc.author = c.author;
    pc.index = false;
    engine::Step s = engine::run_step(engine::tools::pack_commit(pc), "the step's image (blobs; no name yet)");
    s.stdout_file = out;
    p.add(s);
    p.add(engine::capture_step(var, out, ".manifest.digest"));
    if (!c.key.empty() && !o_.no_cache) {
        p.add(engine::make_dir_step(build_cache_dir(e_.paths())));
        p.add(engine::copy_file_step(out, build_cache_dir(e_.paths()) + "/" + c.key + ".json",
                                     "the build cache's entry for this step: img-pack's answer, naming the manifest"));
    }
    ImageState next = parent;
    next.scratch = false;
    next.digest = "${" + var + "}";
    next.id = "";
    if (c.config) next.cfg.config = *c.config;
    if (c.layer) ++next.layers; // at most one; an empty change adds none, which only makes this an upper bound
    return next;
}

void Builder::perform(const engine::Plan& p) {
    if (e_.explaining()) {
        e_.execute(p);
        return;
    }
    try {
        e_.execute(p);
    } catch (...) {
        undo(p);
        throw;
    }
}

void Builder::undo(const engine::Plan& p) {
    for (const auto& s : p.steps)
        if (s.kind == engine::Step::Kind::arm_rollback) {
            engine::Plan steps = plan();
            for (auto u : s.steps) {
                u.may_fail = true;
                steps.add(u);
            }
            try {
                engine::execute(steps);
            } catch (const std::exception&) {
            }
        }
}

ImageState Builder::made(const ImageState& predicted) const {
    if (e_.explaining()) return predicted;
    std::string var = predicted.digest.substr(2, predicted.digest.size() - 3); // ${IMGn}
    Json j = parse_json(read_file(work_ + "/" + var + ".json"), "img-pack output");
    return load_state(layout_, j.at("manifest").get<oci::Descriptor>());
}

void Builder::finish_bundle_step(engine::Plan& p, Stage& st, const Bundle& b, const std::optional<oci::ContainerConfig>& config,
                                 const std::string& created_by, const std::string& key) {
    Commit cm;
    cm.layer = &b;
    cm.config = config;
    cm.created_by = created_by;
    cm.key = key;
    ImageState next = commit_steps(p, st.state, cm);
    for (const auto& s : release_steps(b)) p.add(s);
    p.add(engine::disarm_rollback_step());
    perform(p);
    st.state = made(next);
}

ImageState Builder::from(const Dockerfile& df, size_t index) {
    const auto& s = df.stages[index];
    VarMap meta;
    for (const auto& a : df.meta_args) {
        auto it = o_.build_args.find(a.name);
        if (it != o_.build_args.end()) meta[a.name] = it->second;
        else if (a.default_value) meta[a.name] = ShellWords(escape_).word(*a.default_value, meta);
    }
    std::string base = ShellWords(escape_).word(s.base, meta);
    if (base.empty()) throw_invalid("base name (" + s.base + ") should not be blank");
    ImageState st;
    if (to_lower(base) == "scratch") {
        st.scratch = true;
        st.platform = oci::Platform::host();
        return st;
    }
    for (size_t i = 0; i < index; ++i)
        if (!stage_names_[i].empty() && stage_names_[i] == to_lower(base) && stage_results_[i]) return *stage_results_[i];
    auto img = e_.ensure_image(base, "missing");
    if (!img && e_.explaining())
        throw Error("--explain build: the base image " + base + " is not in the store (its config decides the steps): pull it first",
                    ErrorKind::not_found);
    if (!img) throw_not_found("No such image: " + base);
    return load_state(layout_, img->resolved.manifest_descriptor);
}

void Builder::step(Stage& st, const Instruction& in) {
    switch (in.kind) {
    case Kind::run: return run_step(st, in);
    case Kind::copy:
    case Kind::add: return copy_step(st, in);
    case Kind::workdir: return workdir_step(st, in);
    case Kind::arg: {
        for (const auto& a : in.args) {
            std::string value;
            auto it = o_.build_args.find(a.name);
            if (it != o_.build_args.end()) value = it->second;
            else if (a.default_value) value = expand(st, *a.default_value);
            else if (global_args_.count(a.name)) value = global_args_.at(a.name);
            else {
                st.arg_names.insert(a.name);
                continue;
            }
            st.args[a.name] = value;
            st.arg_names.insert(a.name);
        }
        say(" ---> " + (st.state.scratch ? std::string("") : short12(st.state.id)) + "\n");
        return;
    }
    default: return config_step(st, in);
    }
}

std::vector<std::string> shell_of(const oci::ImageConfig& cfg) {
    if (cfg.config.shell && !cfg.config.shell->empty()) return *cfg.config.shell;
    return {"/bin/sh", "-c"};
}

void Builder::config_step(Stage& st, const Instruction& in) {
    oci::ContainerConfig c = st.state.cfg.config;
    ShellWords sw(escape_);
    VarMap v = vars(st);
    std::string author;
    std::string nop = in.text();
    auto command = [&](const Instruction& i) {
        std::vector<std::string> words = i.cmdline;
        if (i.prepend_shell) {
            auto sh = shell_of(st.state.cfg);
            sh.insert(sh.end(), i.cmdline.begin(), i.cmdline.end());
            words = sh;
        }
        return words;
    };
    switch (in.kind) {
    case Kind::env: {
        std::vector<std::string> shown;
        for (const auto& kv : in.pairs) {
            std::string k = sw.word(kv.key, v), val = sw.word(kv.value, v);
            std::vector<std::string> env;
            for (const auto& e : c.env)
                if (e.rfind(k + "=", 0) != 0) env.push_back(e);
            env.push_back(k + "=" + val);
            c.env = env;
            v[k] = val;
            shown.push_back(k + "=" + val);
        }
        nop = "ENV " + join(shown, " ");
        break;
    }
    case Kind::label:
        for (const auto& kv : in.pairs) c.labels[sw.word(kv.key, v)] = sw.word(kv.value, v);
        break;
    case Kind::cmd:
        c.cmd = command(in);
        st.cmd_set = true;
        break;
    case Kind::entrypoint:
        c.entrypoint = command(in);
        if (!st.cmd_set) c.cmd.reset();
        break;
    case Kind::user: c.user = sw.word(in.value, v); break;
    case Kind::expose:
        for (const auto& w : in.words)
            for (auto p : sw.words(w, v)) {
                if (p.find('/') == std::string::npos) p += "/tcp";
                c.exposed_ports[p] = Json::object();
            }
        break;
    case Kind::volume:
        for (const auto& w : in.words)
            for (const auto& p : sw.words(w, v)) c.volumes[p] = Json::object();
        break;
    case Kind::shell: c.shell = in.cmdline; break;
    case Kind::stopsignal: c.stop_signal = sw.word(in.value, v); break;
    case Kind::maintainer: author = sw.word(in.value, v); break;
    case Kind::onbuild:
        if (!c.on_build) c.on_build = std::vector<std::string>{};
        c.on_build->push_back(in.onbuild);
        break;
    case Kind::healthcheck:
        if (in.health) {
            oci::HealthConfig h;
            h.test = in.health->test;
            h.interval = in.health->interval_ns;
            h.timeout = in.health->timeout_ns;
            h.start_period = in.health->start_period_ns;
            h.retries = in.health->retries;
            c.healthcheck = h;
        }
        break;
    default: break;
    }
    std::string created_by = "/bin/sh -c #(nop)  " + nop;
    Json cj = c;
    std::string key = st.state.known() || st.state.scratch ? cache_key(st.state, created_by, dump_compact(cj) + "\n" + author) : "";
    if (auto hit = key.empty() ? std::nullopt : cached(key)) {
        say(" ---> Using cache\n");
        st.state = *hit;
    } else {
        engine::Plan p = plan();
        Commit cm;
        cm.config = c;
        cm.created_by = created_by;
        cm.author = author;
        cm.key = key;
        ImageState next = commit_steps(p, st.state, cm);
        perform(p);
        st.state = made(next);
    }
    say(" ---> " + short12(st.state.id) + "\n");
}

void Builder::run_step(Stage& st, const Instruction& in) {
    std::vector<std::string> cmd = in.cmdline;
    if (in.prepend_shell) {
        auto sh = shell_of(st.state.cfg);
        sh.insert(sh.end(), in.cmdline.begin(), in.cmdline.end());
        cmd = sh;
    }
    // Build args in scope go to the environment (ENV wins) and, as Docker
    // records them, before the command: "|2 A=1 B=2 /bin/sh -c …".
    VarMap env = var_map(st.state.cfg.config.env);
    std::vector<std::string> arg_env;
    for (const auto& [k, val] : st.args)
        if (!env.count(k)) arg_env.push_back(k + "=" + val);
    std::string created_by = join(cmd, " ");
    if (!arg_env.empty()) created_by = "|" + std::to_string(arg_env.size()) + " " + join(arg_env, " ") + " " + created_by;
    std::string key = st.state.known() ? cache_key(st.state, created_by, "") : "";
    if (auto hit = key.empty() ? std::nullopt : cached(key)) {
        say(" ---> Using cache\n");
        st.state = *hit;
        say(" ---> " + short12(st.state.id) + "\n");
        return;
    }
    if (st.state.scratch || st.state.layers == 0)
        throw RunFailed{1, "The command '" + join(cmd, " ") + "' cannot run: the image has no files (FROM scratch)"};
    std::string id = random_hex(32);
    std::string cid = "build-" + id.substr(0, 24);
    say(" ---> Running in " + id.substr(0, 12) + "\n");
    // the container's process is the command; ns-run makes its working directory
    engine::Step gone = engine::run_step(engine::tools::runtime(e_.paths(), {"delete", "--force", cid}));
    gone.may_fail = true;
    engine::Plan before = plan();
    Bundle b = bundle_steps(before, st.state, cmd, arg_env, {gone});
    perform(before);

    engine::Step run = engine::run_step(engine::tools::runtime(e_.paths(), {"run", "--bundle", b.dir, cid}),
                                        "the step's command, in a container of the bundle");
    run.show_output = true;
    run.show_stderr = true;
    if (e_.explaining()) {
        engine::Plan p = plan();
        p.add(run);
        e_.execute(p);
    } else {
        RunOptions ro;
        ro.capture_stdout = !sink_.run_output_inherited;
        ro.capture_stderr = true; // filtered below, then shown
        ro.extra_env = {"CTK_ROOT=" + e_.paths().root, "CTK_RUN=" + e_.paths().run};
        ProcessResult r;
        try {
            r = run_process(run.argv, ro);
        } catch (...) {
            undo(before);
            throw;
        }
        if (!sink_.run_output_inherited && !r.out.empty()) say(r.out);
        // the runtime's own warnings (seccomp names this kernel lacks) are not the step's output
        std::string err;
        for (const auto& line : split(r.err, '\n'))
            if (!line.empty() && line.rfind("ns-run: warning:", 0) != 0) err += line + "\n";
        if (!err.empty()) say(err);
        if (r.status != 0) {
            undo(before); // what the script's trap does: the container, the bundle
            throw RunFailed{r.status, "The command '" + join(cmd, " ") + "' returned a non-zero code: " + std::to_string(r.status)};
        }
    }
    engine::Plan after = plan();
    after.add(gone);
    finish_bundle_step(after, st, b, std::nullopt, created_by, key);
    say("Removing intermediate container " + id.substr(0, 12) + "\n");
    say(" ---> " + short12(st.state.id) + "\n");
}

void Builder::workdir_step(Stage& st, const Instruction& in) {
    std::string wd = expand(st, in.value);
    std::string cur = st.state.cfg.config.working_dir;
    if (wd.empty() || wd[0] != '/') wd = (cur.empty() ? std::string("/") : cur + "/") + wd;
    wd = abs_clean(wd);
    oci::ContainerConfig c = st.state.cfg.config;
    c.working_dir = wd;
    std::string created_by = "/bin/sh -c #(nop) WORKDIR " + wd;
    std::string key = st.state.known() || st.state.scratch ? cache_key(st.state, created_by, "") : "";
    if (auto hit = key.empty() ? std::nullopt : cached(key)) {
        say(" ---> Using cache\n");
        st.state = *hit;
    } else {
        engine::Plan p = plan();
        Bundle b = bundle_steps(p, st.state, {}, {});
        p.add(engine::run_step(engine::tools::pack_mkdir(b.rootfs, wd), "the working directory, made inside the root"));
        finish_bundle_step(p, st, b, c, created_by, key);
    }
    say(" ---> " + short12(st.state.id) + "\n");
}

void Builder::copy_step(Stage& st, const Instruction& in) {
    bool add = in.kind == Kind::add;
    const char* name = add ? "ADD" : "COPY";
    ShellWords sw(escape_);
    VarMap v = vars(st);
    std::string dest = sw.word(in.dest, v);
    std::string cur = st.state.cfg.config.working_dir;
    bool dest_dir = !dest.empty() && (dest.back() == '/' || dest == "." || dest.ends_with("/."));
    if (dest.empty() || dest[0] != '/') dest = (cur.empty() ? std::string("/") : cur + "/") + dest;
    std::string dest_clean = abs_clean(dest);
    std::vector<std::string> patterns;
    for (const auto& raw : in.sources) patterns.push_back(sw.word(raw, v));

    // The source root: the context, or the rootfs of a stage or an image
    // (unpacked by the step's plan: its sources are matched by img-pack copy).
    std::optional<ImageState> src;
    if (!in.from.empty()) {
        std::string f = sw.word(in.from, v);
        for (size_t i = 0; i < stage_results_.size(); ++i)
            if (stage_results_[i] && (stage_names_[i] == to_lower(f) || std::to_string(i) == f)) src = stage_results_[i];
        if (!src) {
            auto img = e_.ensure_image(f, "missing");
            if (!img && e_.explaining())
                throw Error("--explain build: COPY --from=" + f + ": the image is not in the store: pull it first", ErrorKind::not_found);
            if (!img) throw_not_found("No such image: " + f);
            src = load_state(layout_, img->resolved.manifest_descriptor);
        }
    }

    // The cache key and the history: the context sources' contents (matched
    // here), or the source image's digest and the patterns.
    std::string content, kind;
    if (!src) {
        auto sources = match_sources(context_, patterns, &ignore_, add);
        bool many = sources.size() > 1;
        if (many && !dest_dir)
            throw_invalid(std::string("When using ") + name + " with more than one source file, the destination must be a directory and end with a /");
        UniqueFd srcfd = open_dir(context_);
        Hasher h;
        for (const auto& so : sources) {
            std::string n = so.rel.empty() ? "." : so.rel;
            h.update(n + (so.archive ? " archive\n" : "\n"));
            if (so.rel.empty()) {
                hash_entry(h, srcfd.get(), ".", "", &ignore_);
            } else {
                auto parent = so.rel.find('/') == std::string::npos ? std::string("/") : so.rel.substr(0, so.rel.rfind('/'));
                UniqueFd pd = open_in_root(srcfd.get(), parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                std::string base = so.rel.substr(so.rel.rfind('/') == std::string::npos ? 0 : so.rel.rfind('/') + 1);
                hash_entry(h, pd.get(), base, so.rel, &ignore_);
            }
        }
        content = h.digest().encoded();
        kind = many ? "multi" : (sources[0].dir ? "dir" : "file");
    }
    std::string from_id = src ? (src->scratch ? std::string("scratch") : src->digest) : "";
    std::string created_by = src ? "/bin/sh -c #(nop) " + std::string(name) + " --from=" + from_id + " " + join(patterns, " ") +
                                       " in " + dest + " "
                                 : "/bin/sh -c #(nop) " + std::string(name) + " " + kind + ":" + content + " in " + dest + " ";
    bool keyed = st.state.known() || st.state.scratch;
    if (src && !src->known() && !src->scratch) keyed = false;
    std::string key = keyed ? cache_key(st.state, created_by, in.chown + "\n" + in.chmod + "\n" + from_id) : "";
    if (auto hit = key.empty() ? std::nullopt : cached(key)) {
        say(" ---> Using cache\n");
        st.state = *hit;
        say(" ---> " + short12(st.state.id) + "\n");
        return;
    }

    engine::Plan p = plan();
    Bundle b = bundle_steps(p, st.state, {}, {});
    std::optional<Bundle> from_bundle;
    engine::tools::PackCopy pc;
    if (src) {
        if (src->scratch || src->layers == 0)
            throw_not_found(std::string(name) + " failed: file not found: the --from image has no files");
        from_bundle = bundle_steps(p, *src, {}, {}, release_steps(b)); // the trap now undoes both
        pc.from = from_bundle->rootfs;
    } else {
        pc.from = context_;
        if (::access((context_ + "/.dockerignore").c_str(), F_OK) == 0) pc.dockerignore = context_ + "/.dockerignore";
    }
    pc.rootfs = b.rootfs;
    pc.dest = dest_clean;
    pc.dest_dir = dest_dir;
    pc.sources = patterns;
    pc.chown = sw.word(in.chown, v);
    pc.chmod = in.chmod;
    pc.add = add;
    p.add(engine::run_step(engine::tools::pack_copy(pc), std::string(name) + ": the sources into the bundle's root"));
    if (from_bundle)
        for (const auto& s : release_steps(*from_bundle)) p.add(s);
    finish_bundle_step(p, st, b, std::nullopt, created_by, key);
    say(" ---> " + short12(st.state.id) + "\n");
}

BuildResult Builder::run() {
    BuildResult res;
    // absolute: the steps name it, and an explained script runs from anywhere
    context_ = o_.context.empty() ? o_.context : std::filesystem::absolute(o_.context).lexically_normal().string();
    while (context_.size() > 1 && context_.back() == '/') context_.pop_back();
    std::string text = o_.dockerfile_text;
    if (text.empty()) {
        std::string path = o_.dockerfile.empty() ? context_ + "/Dockerfile" : o_.dockerfile;
        auto t = read_file_if_exists(path);
        if (!t) throw_not_found("Cannot locate specified Dockerfile: " + (o_.dockerfile.empty() ? std::string("Dockerfile") : o_.dockerfile));
        text = *t;
    }
    Dockerfile df = read_dockerfile(text);
    escape_ = df.escape;
    for (const auto& w : df.warnings) say(w + "\n");
    if (auto ig = read_file_if_exists(context_ + "/.dockerignore")) ignore_ = IgnoreMatcher::parse(*ig);

    size_t last = df.stages.size() - 1;
    if (!o_.target.empty()) {
        auto t = df.find_stage(o_.target);
        if (!t) throw_invalid("failed to reach build target " + o_.target + " in Dockerfile");
        last = *t;
    }
    steps_total_ = static_cast<int>(df.meta_arg_instructions.size());
    for (size_t i = 0; i <= last; ++i) steps_total_ += 1 + static_cast<int>(df.stages[i].commands.size());
    auto step_line = [&](const std::string& t) {
        ++step_no_;
        say("Step " + std::to_string(step_no_) + "/" + std::to_string(steps_total_) + " : " + t + "\n");
    };
    for (const auto& a : df.meta_arg_instructions) step_line(a.text());
    for (const auto& a : df.meta_args) {
        auto it = o_.build_args.find(a.name);
        if (it != o_.build_args.end()) global_args_[a.name] = it->second;
        else if (a.default_value) global_args_[a.name] = ShellWords(escape_).word(*a.default_value, global_args_);
    }
    work_ = e_.paths().root + "/tmp/build-" + random_hex(6);
    {
        engine::Plan p = plan();
        p.add(engine::make_dir_step(work_));
        perform(p);
    }
    stage_results_.assign(df.stages.size(), std::nullopt);
    for (const auto& s : df.stages) stage_names_.push_back(s.name);
    ImageState final_state;
    for (size_t i = 0; i <= last; ++i) {
        const auto& s = df.stages[i];
        step_line(s.source);
        Stage st;
        st.state = from(df, i);
        if (!st.state.scratch) say(" ---> " + short12(st.state.id) + "\n");
        for (const auto& in : s.commands) {
            if (sink_.before_step) sink_.before_step();
            step_line(in.text());
            step(st, in);
        }
        if (i == last && !o_.labels.empty()) {
            Instruction li;
            li.kind = Kind::label;
            for (const auto& [k, val] : o_.labels) li.pairs.push_back({"'" + k + "'", "'" + val + "'"});
            li.node.original = "LABEL";
            config_step(st, li);
        }
        if (st.state.scratch) {
            // an image must exist: FROM scratch alone gives an empty one
            engine::Plan p = plan();
            Commit cm;
            ImageState next = commit_steps(p, st.state, cm);
            perform(p);
            st.state = made(next);
        }
        stage_results_[i] = st.state;
        final_state = st.state;
    }
    // The image gets its names (or, without -t, an untagged entry) in the
    // store's index; the build's work directory goes.
    std::vector<std::string> refs;
    for (const auto& t : o_.tags) refs.push_back(engine::normalize_reference(t));
    engine::Plan fin = plan();
    fin.add(engine::run_step(engine::tools::pack_tag("@" + final_state.digest, refs),
                             refs.empty() ? "the image, listed in the store's index" : "the image's names"));
    fin.add(engine::remove_tree_step(work_));
    perform(fin);
    if (sink_.aux && !e_.explaining()) sink_.aux(Json{{"ID", final_state.id}});
    say("Successfully built " + short12(final_state.id) + "\n");
    for (const auto& t : o_.tags) say("Successfully tagged " + engine::familiar_reference(engine::normalize_reference(t)) + "\n");
    res.ok = true;
    res.id = final_state.id;
    res.code = 0;
    return res;
}

} // namespace

BuildResult build_image(engine::Engine& engine, const BuildOptions& options, const BuildSink& sink) {
    Builder b(engine, options, sink);
    try {
        return b.run();
    } catch (const RunFailed& f) {
        b.clean_up();
        BuildResult r;
        r.code = f.code;
        r.message = f.message;
        return r;
    } catch (...) {
        b.clean_up();
        throw;
    }
}

} // namespace ctk::build
