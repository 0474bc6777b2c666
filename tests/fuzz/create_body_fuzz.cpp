// The JSON body of ctld's POST /containers/create (docker run, compose): the
// checked JSON parse with ctld's body limit, then everything the handler and
// the Engine make of it (ctld_create.hpp). A rejection is an HttpError, a
// ctk::Error, or nlohmann's parse error for a syntax error (ctld answers each
// with a status); anything else is a finding.
#include "ctld_create.hpp"
#include "fuzz.hpp"

using namespace ctk;

// CTK_FUZZ_CREATE_TYPE_ERRORS=allow: nlohmann's type errors from a field of
// the wrong type (ctld answers 500 where Docker answers 400) are not
// findings, so the fuzzer can look past them (see /tmp/fuzz-findings.md).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool allow_type_errors = [] {
        const char* v = std::getenv("CTK_FUZZ_CREATE_TYPE_ERRORS");
        return v && std::string(v) == "allow";
    }();
    try {
        Json body = parse_json_text(fuzz::text(data, size), "request body", 8u << 20);
        fuzz::create_container("", std::move(body));
    } catch (const api::HttpError&) {
    } catch (const Error&) {
    } catch (const nlohmann::json::parse_error&) {
    } catch (const nlohmann::json::exception&) {
        if (!allow_type_errors) throw;
    }
    return 0;
}
