/// AVX2 + FMA shifted exponentials for long double rows of doubles, in double-double lanes.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "long_double_exp.h"
#include "vector_kernels.h"
#include "x86_kernels.h"

namespace xentcheck::detail {

#if defined(XENTCHECK_X86_KERNELS)
namespace {

// exp(x) = 2^k 2^(j/64) exp(r), x = n ln2/64 + r, n = 64 k + j, |r| <= ln2/128 (and a little).
constexpr double inv_ln2_64 = 0x1.71547652b82fep+6;  // 64 / ln 2
constexpr double round_shift = 0x1.8p52;             // x + 1.5 2^52 rounds x to an integer
// ln2/64 = l1 + l2 + l3 + (below 2^-152), l1 of 37 bits. x - n l1 is exact as one fused
// multiply-add, for every |x| <= 11000 (|n| <= 1015658 < 2^20) though n l1 alone may not be: it
// is a multiple of 2^-43, x too where |x| >= 2^9 (below, |n| < 2^16 and n l1 is exact), and the
// difference, below 2^-6, then fits in 37 bits (and is x itself where n = 0).
constexpr double l1 = 0x1.62e42fefa0000p-7;
constexpr double l2 = 0x1.cf79abc9e3b3ap-46;
constexpr double l3 = -0x1.ff0342542fc33p-100;

/// Four double-double values hi + lo.
struct dd4 {
    __m256d hi;
    __m256d lo;
};

/// a + b = s + e exactly (TwoSum, any magnitudes).
XENTCHECK_AVX2 inline dd4 two_sum(__m256d a, __m256d b) {
    const __m256d s = _mm256_add_pd(a, b);
    const __m256d bp = _mm256_sub_pd(s, a);
    const __m256d e = _mm256_add_pd(_mm256_sub_pd(a, _mm256_sub_pd(s, bp)), _mm256_sub_pd(b, bp));
    return {s, e};
}

/// a + b = s + e exactly when |a| >= |b| (Fast2Sum).
XENTCHECK_AVX2 inline dd4 fast_two_sum(__m256d a, __m256d b) {
    const __m256d s = _mm256_add_pd(a, b);
    return {s, _mm256_sub_pd(b, _mm256_sub_pd(s, a))};
}

/// exp(xh + xl) as (hi + lo) 2^k for x in [long_double_exp_floor, 0], |xl| <= ulp(xh) / 2: hi + lo
/// within about 2^-74 relative of the exact value (hi in [0.99, 2)); `k` is k, as a double.
XENTCHECK_AVX2 inline dd4 exp_dd4(__m256d xh, __m256d xl, __m256d& k) {
    const __m256d t = _mm256_fmadd_pd(xh, _mm256_set1_pd(inv_ln2_64), _mm256_set1_pd(round_shift));
    const __m256i ti = _mm256_castpd_si256(t);
    const __m256d nf = _mm256_sub_pd(t, _mm256_set1_pd(round_shift));
    // r = x - n ln2/64 as a double-double: x - n l1 exact, n l2 as an exact product pair.
    const __m256d a = _mm256_fnmadd_pd(nf, _mm256_set1_pd(l1), xh);
    const __m256d p = _mm256_mul_pd(nf, _mm256_set1_pd(l2));
    const __m256d pe = _mm256_fmsub_pd(nf, _mm256_set1_pd(l2), p);
    const dd4 b = two_sum(a, _mm256_sub_pd(_mm256_setzero_pd(), p));
    const __m256d small =
        _mm256_add_pd(_mm256_fnmadd_pd(nf, _mm256_set1_pd(l3), _mm256_sub_pd(b.lo, pe)), xl);
    const dd4 r = two_sum(b.hi, small);  // |r.lo| <= ulp(r.hi) / 2
    // exp(r) - 1 = s1 + pl: r + r^2/2 with r^2/2 = (sq + sqe)/2 + rh rl (rl^2 is below 2^-120),
    // the rest r^3 (1/6 + ... + r^5/8!) in double (its rounding and truncation weigh below
    // 2^-77 against the result's 1).
    const __m256d rh = r.hi;
    const __m256d sq = _mm256_mul_pd(rh, rh);
    const __m256d sqe = _mm256_fmsub_pd(rh, rh, sq);
    const __m256d half = _mm256_set1_pd(0.5);
    __m256d c = _mm256_fmadd_pd(rh, _mm256_set1_pd(1.0 / 40320), _mm256_set1_pd(1.0 / 5040));
    c = _mm256_fmadd_pd(rh, c, _mm256_set1_pd(1.0 / 720));
    c = _mm256_fmadd_pd(rh, c, _mm256_set1_pd(1.0 / 120));
    c = _mm256_fmadd_pd(rh, c, _mm256_set1_pd(1.0 / 24));
    c = _mm256_fmadd_pd(rh, c, _mm256_set1_pd(1.0 / 6));
    const __m256d cubic = _mm256_mul_pd(_mm256_mul_pd(sq, rh), c);
    const dd4 s = fast_two_sum(rh, _mm256_mul_pd(half, sq));
    const __m256d pl =
        _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(s.lo, r.lo), _mm256_fmadd_pd(half, sqe, cubic)),
                      _mm256_mul_pd(rh, r.lo));
    // 2^(j/64) (1 + s1 + pl) with 2^(j/64) = th + tl from the table.
    const __m256i j2 = _mm256_slli_epi64(_mm256_and_si256(ti, _mm256_set1_epi64x(63)), 1);
    const auto* table = reinterpret_cast<const double*>(exp2_64ths);
    const __m256d th = _mm256_i64gather_pd(table, j2, 8);
    const __m256d tl = _mm256_i64gather_pd(table + 1, j2, 8);
    const __m256d u = _mm256_mul_pd(th, s.hi);
    const __m256d ue = _mm256_fmsub_pd(th, s.hi, u);
    const dd4 m = fast_two_sum(th, u);
    const __m256d ml = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(m.lo, ue), _mm256_mul_pd(th, pl)),
                                     _mm256_fmadd_pd(tl, _mm256_add_pd(s.hi, pl), tl));
    // k = floor(n / 64), exactly (n / 64 is exact, and so is its floor).
    k = _mm256_floor_pd(_mm256_mul_pd(nf, _mm256_set1_pd(1.0 / 64)));
    return fast_two_sum(m.hi, ml);
}

/// Four lanes' double-double sums folded with TwoSum, their errors joining the low parts.
XENTCHECK_AVX2 inline void fold_lanes(__m256d high, __m256d low, double& total, double& rest) {
    alignas(32) double sh[4], sl[4];
    _mm256_store_pd(sh, high);
    _mm256_store_pd(sl, low);
    total = sh[0];
    rest = sl[0];
    for (int k = 1; k < 4; ++k) {
        const double s = total + sh[k];
        const double bp = s - total;
        rest += ((total - (s - bp)) + (sh[k] - bp)) + sl[k];
        total = s;
    }
}

}  // namespace

XENTCHECK_AVX2 extended_block extended_exp_block(const double* z, double m, double* high,
                                                 double* low, double* steps, std::size_t n,
                                                 std::size_t excluded) noexcept {
    const __m256d neg_m = _mm256_set1_pd(-m);
    const __m256d fast_min = _mm256_set1_pd(extended_fast_min);
    const __m256d deep_min = _mm256_set1_pd(long_double_exp_floor);
    const __m256d zero = _mm256_setzero_pd();
    dd4 sum{zero, zero};
    std::uint64_t declined = 0, deep_lanes = 0;
    for (std::size_t j = 0; j < n; j += 4) {
        const __m256d zv = _mm256_loadu_pd(z + j);
        const dd4 x = two_sum(zv, neg_m);
        const __m256i index = _mm256_add_epi64(_mm256_set1_epi64x(static_cast<long long>(j)),
                                               _mm256_setr_epi64x(0, 1, 2, 3));
        const __m256d excluded_lane = _mm256_castsi256_pd(
            _mm256_cmpeq_epi64(index, _mm256_set1_epi64x(static_cast<long long>(excluded))));
        const __m256d padding = _mm256_castsi256_pd(
            _mm256_cmpgt_epi64(index, _mm256_set1_epi64x(static_cast<long long>(n) - 1)));
        // Lanes whose exact shift x.hi + x.lo is below deep_min (-inf among them: z - m = -inf)
        // but the excluded one are exactly 0; lanes in [deep_min, fast_min) but the excluded one
        // come back scaled by 2^(1000 s) (s = steps_j); the other lanes outside [fast_min, 0]
        // go back to the caller.
        const __m256d below_deep_min =
            _mm256_or_pd(_mm256_cmp_pd(x.hi, deep_min, _CMP_LT_OQ),
                         _mm256_and_pd(_mm256_cmp_pd(x.hi, deep_min, _CMP_EQ_OQ),
                                       _mm256_cmp_pd(x.lo, zero, _CMP_LT_OQ)));
        const __m256d vanishing = _mm256_andnot_pd(excluded_lane, below_deep_min);
        const __m256d deep =
            _mm256_andnot_pd(_mm256_or_pd(excluded_lane, below_deep_min),
                             _mm256_and_pd(_mm256_cmp_pd(x.hi, deep_min, _CMP_GE_OQ),
                                           _mm256_cmp_pd(x.hi, fast_min, _CMP_LT_OQ)));
        const __m256d out = _mm256_andnot_pd(
            _mm256_or_pd(deep, vanishing), _mm256_or_pd(_mm256_cmp_pd(x.hi, fast_min, _CMP_NGE_UQ),
                                                        _mm256_cmp_pd(x.hi, zero, _CMP_NLE_UQ)));
        const __m256d zeroed = _mm256_or_pd(out, vanishing);
        __m256d k;
        const dd4 e = exp_dd4(x.hi, x.lo, k);
        // 2^k' with k' = k + 1000 s: s = 0 in the fast range (k >= -938), and for deep lanes
        // (k in [-15870, -939]) s = round(-k / 1000), so k' lies in [-500, 500] and neither
        // part of the double-double comes near double's subnormal range. Steps of 2^1000, not
        // 2^1024: the caller's factor 2^(-1000 s) is a normal long double for every s up to 16,
        // where 2^(-1024 16) is subnormal, and an x87 product with a subnormal operand is a
        // microcode assist (an 8x16 truth with shifts near -11200 took 32.7 us, 6 elsewhere).
        // 2^k' from bits: k' + 1023 + 1.5 2^52 holds k' + 1023 (in [0, 2047)) in its low bits,
        // which shifted by 52 are the exponent field.
        const __m256d s =
            _mm256_and_pd(deep, _mm256_round_pd(_mm256_mul_pd(k, _mm256_set1_pd(-1.0 / 1000)),
                                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        const __m256d k_scaled = _mm256_fmadd_pd(s, _mm256_set1_pd(1000.0), k);
        const __m256d scale = _mm256_castsi256_pd(_mm256_slli_epi64(
            _mm256_castpd_si256(_mm256_add_pd(k_scaled, _mm256_set1_pd(0x1.8p52 + 1023))), 52));
        // Declined and vanishing lanes are written as 0 rather than whatever the formula gave
        // them (subnormal or NaN for x far below deep_min): the caller widens every lane to long
        // double, and an x87 load of a subnormal double costs a microcode assist (about 0.1 us
        // here).
        const __m256d hi = _mm256_andnot_pd(zeroed, _mm256_mul_pd(e.hi, scale));
        const __m256d lo = _mm256_andnot_pd(zeroed, _mm256_mul_pd(e.lo, scale));
        _mm256_storeu_pd(high + j, hi);
        _mm256_storeu_pd(low + j, lo);
        _mm256_storeu_pd(steps + j, s);
        declined |= static_cast<std::uint64_t>(_mm256_movemask_pd(out)) << j;
        deep_lanes |= static_cast<std::uint64_t>(_mm256_movemask_pd(deep)) << j;
        // Summed: the fast lanes computed here, but not the excluded entry nor the padding (deep
        // lanes are summed by the caller, in long double).
        const __m256d skip =
            _mm256_or_pd(_mm256_or_pd(zeroed, deep), _mm256_or_pd(excluded_lane, padding));
        const dd4 t = two_sum(sum.hi, _mm256_andnot_pd(skip, hi));
        sum.hi = t.hi;
        sum.lo = _mm256_add_pd(sum.lo, _mm256_add_pd(t.lo, _mm256_andnot_pd(skip, lo)));
    }
    double total = 0, rest = 0;
    fold_lanes(sum.hi, sum.lo, total, rest);
    const std::uint64_t lanes = n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    return {total, rest, declined & lanes, deep_lanes & lanes};
}

XENTCHECK_AVX2 smoothing_sums extended_smoothing_sum(const double* z, const double* w, double m,
                                                     std::size_t n) noexcept {
    const __m256d mv = _mm256_set1_pd(m);
    const __m256d zero = _mm256_setzero_pd();
    const __m256d largest = _mm256_set1_pd(std::numeric_limits<double>::max());
    const __m256d sign = _mm256_set1_pd(-0.0);
    dd4 terms{zero, zero}, weights{zero, zero};
    __m256d finite = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    const auto add = [&](__m256d zv, __m256d wv) XENTCHECK_AVX2 {
        const dd4 d = two_sum(mv, _mm256_sub_pd(zero, zv));  // m - z_j, exactly
        const __m256d ph = _mm256_mul_pd(d.hi, wv);
        const __m256d pl = _mm256_add_pd(_mm256_fmsub_pd(d.hi, wv, ph), _mm256_mul_pd(d.lo, wv));
        const dd4 t = two_sum(terms.hi, ph);
        terms = {t.hi, _mm256_add_pd(terms.lo, _mm256_add_pd(t.lo, pl))};
        const dd4 u = two_sum(weights.hi, wv);
        weights = {u.hi, _mm256_add_pd(weights.lo, u.lo)};
        // |term| <= max double rules out inf and NaN in z_j, w_j and the product.
        finite =
            _mm256_and_pd(finite, _mm256_cmp_pd(_mm256_andnot_pd(sign, ph), largest, _CMP_LE_OQ));
    };
    const __m256d one = _mm256_set1_pd(1.0);
    std::size_t j = 0;
    for (; j + 4 <= n; j += 4)
        add(_mm256_loadu_pd(z + j), w ? _mm256_loadu_pd(w + j) : one);
    if (j < n) {  // the last one to three entries, the other lanes z = m and w = 0: adding 0
        alignas(32) double zt[4] = {m, m, m, m}, wt[4] = {0, 0, 0, 0};
        for (std::size_t k = 0; j + k < n; ++k) {
            zt[k] = z[j + k];
            wt[k] = w ? w[j + k] : 1.0;
        }
        add(_mm256_load_pd(zt), _mm256_load_pd(wt));
    }
    smoothing_sums r{};
    fold_lanes(terms.hi, terms.lo, r.terms_high, r.terms_low);
    fold_lanes(weights.hi, weights.lo, r.weights_high, r.weights_low);
    r.finite = _mm256_movemask_pd(finite) == 0xF && std::isfinite(r.terms_high) &&
               std::isfinite(r.terms_low) && std::isfinite(r.weights_high);
    return r;
}

#else  // no x86-64 vector kernels: never enabled, never called

smoothing_sums extended_smoothing_sum(const double*, const double*, double, std::size_t) noexcept {
    return {0, 0, 0, 0, false};
}

extended_block extended_exp_block(const double*, double, double*, double*, double*, std::size_t,
                                  std::size_t) noexcept {
    return {0, 0, ~std::uint64_t{0}, 0};
}

#endif

}  // namespace xentcheck::detail
