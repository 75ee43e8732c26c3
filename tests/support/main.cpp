// tests/support/main.cpp — the entry point of every test binary.
//
// With GORO_TEST_SCENARIO=<name> in the environment the binary runs that
// registered scenario (tests/support/subprocess.hpp) and exits with its
// result; this is how fatal paths are tested in a child process. Otherwise it
// runs the doctest suite (hence DOCTEST_CONFIG_IMPLEMENT and our own main
// rather than DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

#include "support/subprocess.hpp"

int main(int argc, char** argv) {
    if (const char* scenario = std::getenv(goro_test::scenario_env_var)) return goro_test::run_scenario(scenario);
    doctest::Context context(argc, argv);
    return context.run();
}
