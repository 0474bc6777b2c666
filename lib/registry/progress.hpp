// Progress of blob transfers on stderr. On a terminal: one line per blob,
// redrawn in place as docker pull does
//     a7671b9d7ab7: Downloading  412.0 KiB / 1008.0 KiB  (12.1 MiB/s)
// Elsewhere: one JSON object a line, so a program can follow along
//     {"id":"sha256:a767…","status":"downloading","current":421888,"total":1032183}
// or nothing at all (--quiet). Called from several threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ctk::registry {

class Progress {
public:
    virtual ~Progress() = default;
    // `status`: waiting, exists, resuming, downloading, verifying, complete,
    // retrying, uploading, mounted, pushed. `detail` carries a reason (retrying).
    virtual void event(const std::string& id, const std::string& status, uint64_t current = 0,
                       uint64_t total = 0, const std::string& detail = "") = 0;
    // A line for the whole operation ("Digest: sha256:…").
    virtual void note(const std::string& text) = 0;
    // Done: no more redrawing.
    virtual void finish() {}
};

enum class ProgressMode { automatic, terminal, json, quiet };

// automatic: terminal when `out` is a terminal, else JSON lines.
std::unique_ptr<Progress> make_progress(ProgressMode mode, FILE* out = stderr);

class QuietProgress final : public Progress {
public:
    void event(const std::string&, const std::string&, uint64_t, uint64_t, const std::string&) override {}
    void note(const std::string&) override {}
};

} // namespace ctk::registry
