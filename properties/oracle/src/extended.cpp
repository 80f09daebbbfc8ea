/// Non-finite bookkeeping for the oracle's enclosures (see extended.h).
#include "extended.h"

#include <limits>

namespace xentcheck::oracle::detail {

double extended::special() const {
    switch (k) {
        case kind::pos_inf:
            return std::numeric_limits<double>::infinity();
        case kind::neg_inf:
            return -std::numeric_limits<double>::infinity();
        case kind::nan:
        case kind::undecided:
            return std::numeric_limits<double>::quiet_NaN();
        case kind::finite:
            break;
    }
    return 0;
}

void ext_mul(extended& out, const interval& coef, const extended& x) {
    using kind = extended::kind;
    switch (x.k) {
        case kind::nan:
        case kind::undecided:
            out.k = x.k;
            return;
        case kind::pos_inf:
        case kind::neg_inf:
            if (coef.is_zero()) {
                out.k = kind::nan;
            } else if (coef.positive()) {
                out.k = x.k;
            } else if (coef.negative()) {
                out.k = x.k == kind::pos_inf ? kind::neg_inf : kind::pos_inf;
            } else {
                out.k = kind::undecided;
            }
            return;
        case kind::finite:
            out.k = kind::finite;
            mul(out.v, coef, x.v);
            return;
    }
}

void ext_accumulate(extended& acc, const extended& x, interval& scratch) {
    using kind = extended::kind;
    if (acc.k == kind::nan || x.k == kind::nan) {
        acc.k = kind::nan;
    } else if (acc.k == kind::undecided || x.k == kind::undecided) {
        acc.k = kind::undecided;
    } else if (x.k == kind::finite) {
        if (acc.k == kind::finite) {
            add(scratch, acc.v, x.v);
            acc.v.swap(scratch);
        }
    } else if (acc.k == kind::finite || acc.k == x.k) {
        acc.k = x.k;
    } else {
        acc.k = kind::nan;  // inf + -inf
    }
}

}  // namespace xentcheck::oracle::detail
