/// Internal: what the AVX2 + FMA kernel sources share: the build test and the target attribute.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/// Defined where the kernels are compiled (x86-64, GCC or Clang); elsewhere each kernel source
/// compiles a stub that is never called (vector_kernels_enabled() is false).
#define XENTCHECK_X86_KERNELS 1
#include <immintrin.h>
/// Compiles one function for AVX2 + FMA, whatever the build's baseline: callers check
/// vector_kernels_enabled() first.
#define XENTCHECK_AVX2 __attribute__((target("avx2,fma")))
#endif
