/// serve_lib_driver.cpp: `driver serve-lib PATH`, what the xentcheck binary's serve-lib runs.
#include <cstdio>
#include <cstring>

#include "xentcheck/check/serve_library.h"

int main(int argc, char** argv) {
    if (argc != 3 || std::strcmp(argv[1], "serve-lib") != 0) {
        std::fputs("usage: xentcheck_serve_lib_driver serve-lib LIBRARY\n", stderr);
        return 2;
    }
    return xentcheck::check::serve_library(argv[2]);
}
