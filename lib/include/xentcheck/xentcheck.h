/// xentcheck/xentcheck.h: the whole reference library in one include.
#pragma once

#include "xentcheck/batch.h"
#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/finite_difference.h"
#include "xentcheck/jacobian.h"
#include "xentcheck/kernels.h"
#include "xentcheck/softmax.h"
#include "xentcheck/tolerance.h"
