// commit/import --change: Dockerfile instructions through ctl build's parser,
// applied to a Docker Config object.
#include <gtest/gtest.h>

#include "build/config_change.hpp"
#include "core/error.hpp"

using namespace ctk;
using build::apply_changes;

TEST(ConfigChange, EveryAllowedInstruction) {
    Json c = {{"Env", {"A=1"}}, {"Cmd", {"sh"}}};
    apply_changes(c, {"ENV B=$A-x C=\"two words\"", "ENV D 3 4", "EXPOSE 80 53/udp", "LABEL k=v \"a b\"=c",
                      "USER nobody", "WORKDIR /srv", "WORKDIR app", "VOLUME [\"/data\", \"/logs\"]", "VOLUME /v",
                      "STOPSIGNAL SIGINT", "ONBUILD RUN make", "CMD echo hi"});
    EXPECT_EQ(c["Env"], Json({"A=1", "B=1-x", "C=two words", "D=3 4"}));
    EXPECT_EQ(c["ExposedPorts"], Json({{"80/tcp", Json::object()}, {"53/udp", Json::object()}}));
    EXPECT_EQ(c["Labels"], Json({{"k", "v"}, {"a b", "c"}}));
    EXPECT_EQ(c["User"], "nobody");
    EXPECT_EQ(c["WorkingDir"], "/srv/app");
    EXPECT_EQ(c["Volumes"], Json({{"/data", Json::object()}, {"/logs", Json::object()}, {"/v", Json::object()}}));
    EXPECT_EQ(c["StopSignal"], "SIGINT");
    EXPECT_EQ(c["OnBuild"], Json({"RUN make"}));
    EXPECT_EQ(c["Cmd"], Json({"/bin/sh", "-c", "echo hi"}));
}

TEST(ConfigChange, EntrypointClearsACmdNotSetByTheChanges) {
    Json c = {{"Cmd", {"sh"}}, {"Shell", {"/bin/bash", "-c"}}};
    apply_changes(c, {"ENTRYPOINT run"});
    EXPECT_EQ(c["Entrypoint"], Json({"/bin/bash", "-c", "run"}));
    EXPECT_TRUE(c["Cmd"].is_null());
    apply_changes(c, {"CMD [\"a\"]", "ENTRYPOINT [\"b\"]"});
    EXPECT_EQ(c["Cmd"], Json({"a"}));
    EXPECT_EQ(c["Entrypoint"], Json({"b"}));
}

TEST(ConfigChange, RefusalsNameTheInstruction) {
    Json c = Json::object();
    for (const char* bad : {"RUN make", "COPY a b", "FROM x", "BOGUS y"}) {
        try {
            apply_changes(c, {bad});
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::invalid);
            std::string word(bad, std::string_view(bad).find(' '));
            EXPECT_EQ(std::string(e.what()), "\"" + word + "\" is not a valid change command");
        }
    }
    try {
        apply_changes(c, {"EXPOSE"});
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::invalid);
        EXPECT_NE(std::string(e.what()).find("EXPOSE"), std::string::npos) << e.what();
    }
    EXPECT_EQ(c, Json::object());
}
