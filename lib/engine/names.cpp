#include "engine/names.hpp"

#include <sys/random.h>

#include <array>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace ctk::engine {

namespace {

// Words for generated names: how people feel on a good day, and people whose
// work made computing, mathematics and the sciences what they are.
constexpr std::array adjectives = {
    "admiring",   "adoring",     "affectionate", "agitated",  "amazing",   "angry",
    "awesome",    "beautiful",   "blissful",     "bold",      "brave",     "busy",
    "charming",   "clever",      "compassionate", "competent", "condescending", "confident",
    "cool",       "cranky",      "crazy",        "dazzling",  "determined", "distracted",
    "dreamy",     "eager",       "ecstatic",     "elastic",   "elated",    "elegant",
    "eloquent",   "epic",        "exciting",     "fervent",   "festive",   "flamboyant",
    "focused",    "friendly",    "frosty",       "funny",     "gallant",   "gifted",
    "goofy",      "gracious",    "great",        "happy",     "hardcore",  "heuristic",
    "hopeful",    "hungry",      "infallible",   "inspiring", "intelligent", "interesting",
    "jolly",      "jovial",      "keen",         "kind",      "laughing",  "loving",
    "lucid",      "magical",     "modest",       "musing",    "mystifying", "naughty",
    "nervous",    "nice",        "nifty",        "nostalgic", "objective", "optimistic",
    "peaceful",   "pedantic",    "pensive",      "practical", "priceless", "quirky",
    "quizzical",  "recursing",   "relaxed",      "reverent",  "romantic",  "sad",
    "serene",     "sharp",       "silly",        "sleepy",    "stoic",     "strange",
    "stupefied",  "suspicious",  "sweet",        "tender",    "thirsty",   "trusting",
    "unruffled",  "upbeat",      "vibrant",      "vigilant",  "vigorous",  "wizardly",
    "wonderful",  "xenodochial", "youthful",     "zealous",   "zen",
};

constexpr std::array surnames = {
    "agnesi",     "albattani",   "allen",        "archimedes", "ardinghelli", "aryabhata",
    "babbage",    "banach",      "bardeen",      "bartik",    "bassi",     "bell",
    "benz",       "bhabha",      "blackwell",    "bohr",      "booth",     "borg",
    "bose",       "boyd",        "brahmagupta",  "brattain",  "brown",     "cannon",
    "carson",     "cartwright",  "cerf",         "chandrasekhar", "chebyshev", "clarke",
    "cohen",      "colden",      "cori",         "cray",      "curie",     "darwin",
    "davinci",    "dijkstra",    "dirac",        "easley",    "einstein",  "elgamal",
    "elion",      "engelbart",   "euclid",       "euler",     "faraday",   "fermat",
    "fermi",      "feynman",     "franklin",     "galileo",   "gauss",     "germain",
    "goldberg",   "goldstine",   "goodall",      "hamilton",  "hawking",   "heisenberg",
    "hellman",    "hermann",     "hertz",        "hodgkin",   "hofstadter", "hopper",
    "hypatia",    "jackson",     "jang",         "jemison",   "jennings",  "johnson",
    "joliot",     "kalam",       "kepler",       "khorana",   "kilby",     "knuth",
    "kowalevski", "lalande",     "lamarr",       "lamport",   "leakey",    "leavitt",
    "lederberg",  "lehmann",     "liskov",       "lovelace",  "lumiere",   "mahavira",
    "margulis",   "maxwell",     "mayer",        "mccarthy",  "mcclintock", "mclean",
    "meitner",    "mendel",      "merkle",       "mirzakhani", "montalcini", "moore",
    "morse",      "napier",      "nash",         "neumann",   "newton",    "nightingale",
    "nobel",      "noether",     "northcutt",    "noyce",     "panini",    "pascal",
    "pasteur",    "payne",       "perlman",      "pike",      "poincare",  "ptolemy",
    "raman",      "ramanujan",   "ride",         "ritchie",   "rosalind",  "saha",
    "sammet",     "shamir",      "shannon",      "shaw",      "shockley",  "sinoussi",
    "snyder",     "spence",      "stonebraker",  "sutherland", "swanson",  "tesla",
    "thompson",   "torvalds",    "turing",       "varahamihira", "villani", "volhard",
    "wescoff",    "wilbur",      "wiles",        "williams",  "wilson",    "wing",
    "wozniak",    "wright",      "wu",           "yalow",     "yonath",
};

size_t random_below(size_t n) {
    uint64_t v = 0;
    if (::getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) throw_errno("getrandom");
    return static_cast<size_t>(v % n);
}

bool hex_char(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

} // namespace

std::string new_container_id() {
    for (;;) {
        std::string id = random_hex(32);
        for (char c : id)
            if (c >= 'a') return id;
    }
}

bool is_full_id(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!hex_char(c)) return false;
    return true;
}

bool is_id_prefix(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (!hex_char(c)) return false;
    return true;
}

bool valid_container_name(std::string_view name) {
    if (!name.empty() && name.front() == '/') name.remove_prefix(1);
    if (name.size() < 2) return false;
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (!alnum(name[0])) return false;
    for (char c : name.substr(1))
        if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

std::string validate_container_name(std::string_view name) {
    if (!valid_container_name(name))
        throw_invalid("Invalid container name (" + std::string(name) +
                      "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    if (name.front() == '/') name.remove_prefix(1);
    return std::string(name);
}

std::string generate_name(int retry, const std::function<size_t(size_t)>& random) {
    std::string name = std::string(adjectives[random(adjectives.size())]) + "_" +
                       surnames[random(surnames.size())];
    if (retry > 0) name += std::to_string(random(10));
    return name;
}

std::string generate_name(int retry) { return generate_name(retry, random_below); }

} // namespace ctk::engine
