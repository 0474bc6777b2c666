#include "engine/image_verbs.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"
#include "engine/image_store.hpp"
#include "engine/plan.hpp"
#include "engine/tools.hpp"

namespace ctk::engine {

Json pack_answer(const ExecResult& r, const std::string& what) {
    auto it = r.vars.find("out");
    if (it == r.vars.end() || trim(it->second).empty()) return nullptr;
    return parse_json_text(it->second, what);
}

void tag_image(Engine& e, const std::string& source, const std::string& target) {
    e.images().get(source); // not_found as Docker says it, before any step
    std::string full = normalize_reference(target);
    Plan p = e.new_plan("ctl tag " + source + " " + target);
    p.add(run_step(tools::pack_tag(source, {full}),
                   "name the image " + familiar_reference(full) + " in the store's index (a name names one image)"));
    e.execute(p);
}

Json remove_image(Engine& e, const std::string& ref, bool force) {
    // Docker's rules (a container's image stays, a name with others only goes) decided here
    ImageStore::Removal rm = e.images().removal(ref, force, [&](const std::string& id) { return e.image_user(id); });
    Plan p = e.new_plan("ctl rmi " + ref);
    Step s = run_step(tools::pack_rm({ref}, force),
                      rm.entries.empty() ? "the name leaves the store's index"
                                         : "its last name goes, and the image and the blobs no other image uses with it");
    s.keep_output = "out";
    p.add(s);
    Json answer = pack_answer(e.run_plan(p), "img-pack rm output");
    return answer.is_array() ? answer : Json::array();
}

std::string import_image(Engine& e, const ImportRequest& r) {
    Plan p = e.new_plan("ctl import " + r.source);
    Step s = run_step(tools::pack_import(r.source, r.changes, r.message,
                                         r.reference.empty() ? "" : normalize_reference(r.reference), r.platform),
                      "the root filesystem as a one-layer image");
    s.keep_output = "out";
    s.stdin_inherit = r.source == "-";
    p.add(s);
    Json answer = pack_answer(e.run_plan(p), "img-pack import output");
    return answer.is_object() ? answer.value("id", "") : "";
}

void save_image_archive(Engine& e, const std::vector<std::string>& refs, const std::string& output) {
    for (const auto& r : refs) e.images().get(r); // "No such image" before anything is written
    Plan p = e.new_plan("ctl save " + join(refs, " "));
    Step s = run_step(tools::pack_save(refs, output), "the images as a docker-archive tar");
    s.show_output = output.empty(); // the tar goes to our stdout
    p.add(s);
    e.execute(p);
}

Json load_image_archive(Engine& e, const std::string& input) {
    Plan p = e.new_plan("ctl load");
    Step s = run_step(tools::pack_load(input), "the images of a docker-archive tar into the store");
    s.keep_output = "out";
    s.stdin_inherit = input.empty();
    p.add(s);
    Json answer = pack_answer(e.run_plan(p), "img-pack load output");
    return answer.is_object() ? answer.value("loaded", Json::array()) : Json::array();
}

} // namespace ctk::engine
