/// serve_lib_driver.cpp: `driver serve-lib [--region-fd N] PATH`, what the xentcheck binary's
/// serve-lib runs.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "xentcheck/check/serve_library.h"

int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "serve-lib") == 0 &&
        std::strcmp(argv[2], "--region-fd") == 0) {
        return xentcheck::check::serve_library(argv[4], std::atoi(argv[3]));
    }
    if (argc != 3 || std::strcmp(argv[1], "serve-lib") != 0) {
        std::fputs("usage: xentcheck_serve_lib_driver serve-lib [--region-fd N] LIBRARY\n", stderr);
        return 2;
    }
    return xentcheck::check::serve_library(argv[2]);
}
