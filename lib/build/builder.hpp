// ctl build: a Dockerfile's steps run through the same tools as `ctl run`,
// the way Docker's legacy builder does them (one image per step):
//
//   FROM      the base image (pulled when missing), a previous stage, or scratch
//   RUN       img-unpack of the current image as an overlay bundle, ns-run run,
//             then the bundle's upper directory becomes the step's layer
//   COPY/ADD  the sources copied from the context (or --from a stage or an
//             image) into an overlay of the current image, that upper dir
//             the layer; ADD extracts local tar archives
//   WORKDIR   config, and the directory made in a layer when missing
//   others    config only (an "empty_layer" history entry)
//
// Each step's image is written to the store's layout (blobs only; the final
// image alone gets an index entry, tagged with -t). The build cache maps
// (parent manifest, the step as it will be recorded, the content of COPY/ADD
// sources) to the step's image: $CTK_ROOT/build-cache/<sha256>.json.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/json.hpp"
#include "engine/engine.hpp"

namespace ctk::build {

struct BuildOptions {
    std::string context;    // directory
    std::string dockerfile; // path; "" = CONTEXT/Dockerfile
    std::string dockerfile_text; // used when not empty (ctld's tar context, -f -)
    std::vector<std::string> tags;
    std::map<std::string, std::string> build_args;
    std::string target;
    bool no_cache = false;
    std::map<std::string, std::string> labels;
};

// Where the build's output goes.
struct BuildSink {
    std::function<void(const std::string&)> stream; // "Step 1/3 : FROM …\n" and RUN output
    std::function<void(const Json&)> aux;           // {"ID": "sha256:…"}
    bool run_output_inherited = false;              // RUN writes straight to our stdout/stderr
    // Called before each step; throws to stop the build (ctl after SIGINT).
    std::function<void()> before_step;
};

struct BuildResult {
    bool ok = false;
    std::string id;       // the image ID
    int code = 1;         // when failed: a RUN's exit status, else 1
    std::string message;  // when failed
};

BuildResult build_image(engine::Engine& engine, const BuildOptions& options, const BuildSink& sink);

// The build cache directory of a store.
std::string build_cache_dir(const store::Paths& paths);

} // namespace ctk::build
