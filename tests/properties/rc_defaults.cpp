/// Gives RapidCheck the suite's default parameters unless RC_PARAMS is set in the environment.
#include <cstdlib>

#ifndef XENTCHECK_RC_PARAMS
#define XENTCHECK_RC_PARAMS ""
#endif

namespace {

// Runs during static initialisation, before RapidCheck reads RC_PARAMS (lazily, on the first
// property). An RC_PARAMS already in the environment wins, so `RC_PARAMS=... ctest` works.
const bool defaults_installed = [] {
    return ::setenv("RC_PARAMS", XENTCHECK_RC_PARAMS, /*overwrite=*/0) == 0;
}();

}  // namespace
