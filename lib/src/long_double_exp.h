/// Internal: exp(d) for d <= 0 in long double, for the reference's shifted exponentials.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace xentcheck::detail {

/// 2^(j/64) as two doubles: `high` correctly rounded, `low` the rest correctly rounded (so
/// high + low is within 2^-106 of 2^(j/64); generated with MPFR, and checked against it in
/// tests/oracle). Doubles rather than long doubles: an 8-byte load is one micro-op, a 10-byte
/// x87 load several, and the exp below is bound by those.
struct exp2_64th {
    double high;
    double low;
};
inline constexpr exp2_64th exp2_64ths[64] = {
    {0x1p+0, 0x0p+0},
    {0x1.02c9a3e778061p+0, -0x1.19083535b085dp-56},
    {0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55},
    {0x1.0874518759bc8p+0, 0x1.186be4bb284ffp-57},
    {0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54},
    {0x1.0e3ec32d3d1a2p+0, 0x1.03a1727c57b53p-59},
    {0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54},
    {0x1.1429aaea92dep+0, -0x1.32fbf9af1369ep-54},
    {0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55},
    {0x1.1a35beb6fcb75p+0, 0x1.e5b4c7b4968e4p-55},
    {0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54},
    {0x1.2063b88628cd6p+0, 0x1.dc775814a8495p-55},
    {0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54},
    {0x1.26b4565e27cddp+0, 0x1.2bd339940e9d9p-55},
    {0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55},
    {0x1.2d285a6e4030bp+0, 0x1.0024754db41d5p-54},
    {0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55},
    {0x1.33c08b26416ffp+0, 0x1.32721843659a6p-54},
    {0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54},
    {0x1.3a7db34e59ff7p+0, -0x1.5e436d661f5e3p-56},
    {0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55},
    {0x1.4160a21f72e2ap+0, -0x1.ef3691c309278p-58},
    {0x1.44e086061892dp+0, 0x1.89b7a04ef80dp-59},
    {0x1.486a2b5c13cdp+0, 0x1.3c1a3b69062fp-56},
    {0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56},
    {0x1.4f9b2769d2ca7p+0, -0x1.4b309d25957e3p-54},
    {0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55},
    {0x1.56f4736b527dap+0, 0x1.9bb2c011d93adp-54},
    {0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54},
    {0x1.5e76f15ad2148p+0, 0x1.ba6f93080e65ep-54},
    {0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54},
    {0x1.6623882552225p+0, -0x1.bb60987591c34p-54},
    {0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54},
    {0x1.6dfb23c651a2fp+0, -0x1.bbe3a683c88abp-57},
    {0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55},
    {0x1.75feb564267c9p+0, -0x1.0245957316dd3p-54},
    {0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55},
    {0x1.7e2f336cf4e62p+0, 0x1.05d02ba15797ep-56},
    {0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54},
    {0x1.868d99b4492edp+0, -0x1.fc6f89bd4f6bap-54},
    {0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54},
    {0x1.8f1ae99157736p+0, 0x1.5cc13a2e3976cp-55},
    {0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57},
    {0x1.97d829fde4e5p+0, -0x1.d185b7c1b85d1p-54},
    {0x1.9c49182a3f09p+0, 0x1.c7c46b071f2bep-56},
    {0x1.a0c667b5de565p+0, -0x1.359495d1cd533p-54},
    {0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54},
    {0x1.a9e6b5579fdbfp+0, 0x1.0fac90ef7fd31p-54},
    {0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54},
    {0x1.b33a2b84f15fbp+0, -0x1.2805e3084d708p-57},
    {0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56},
    {0x1.bcc1e904bc1d2p+0, 0x1.23dd07a2d9e84p-55},
    {0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55},
    {0x1.c67f12e57d14bp+0, 0x1.2884dff483cadp-54},
    {0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56},
    {0x1.d072d4a07897cp+0, -0x1.cbc3743797a9cp-54},
    {0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55},
    {0x1.da9e603db3285p+0, 0x1.c2300696db532p-54},
    {0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54},
    {0x1.e502ee78b3ff6p+0, 0x1.39e8980a9cc8fp-55},
    {0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54},
    {0x1.efa1bee615a27p+0, 0x1.dc7f486a4b6bp-54},
    {0x1.f50765b6e454p+0, 0x1.9d3e12dd8a18bp-54},
    {0x1.fa7c1819e90d8p+0, 0x1.74853f3a5931ep-55},
};

/// Shifts below this give exactly 0 in the long double reference, in extended_exp_block and in
/// shifted_exp alike (each tests the exact shift: its rounded value and its TwoSum error).
/// e^-11000 > 2^-15870. Below 2^-16382 an exponential is a subnormal long double, and within
/// 64 binades above it the TwoSum errors of its sums are; the x87 unit takes a microcode
/// assist for every operation on a subnormal (an 8x16 truth took 530 us with its shifts
/// between -11354 and -11401, 87 us between -11350 and -11356, against 6 us elsewhere). The
/// 512 binades left above 2^-16382 keep the products with the reference's scale factors
/// (1 / N, weights, smoothing) out of that range too. No output rounded to double can hold such
/// a value or its effect on a sum; a long double output differs from the correctly rounded one
/// by less than 2^-15870 there.
inline constexpr double long_double_exp_floor = -11000.0;

/// exp(d) for d <= 0 as x87 long double, within 0.52 ulp of the exact value (4 x 10^6
/// arguments in [-11355, 0], [-40, 0], [-0.02, 0] and [-1e-3, 0] against MPFR: 0.515 ulp at
/// worst; glibc's expl 1.114) and about 4x faster than expl here (12 to 24 ns per value against
/// 74 to 86). d = n ln2/64 + r with |r| <= ln2/128 (and a little), ln2/64 in two doubles of 40
/// and 53 bits (n l1 is exact, what is left out is below 2^-87); exp(r) - 1 by its Taylor series
/// to r^8/8! (the first term left out is below 2^-80 relative); times 2^(j/64) from the table
/// with its tail, and 2^k. Constants and table are doubles wherever that costs no accuracy: the
/// x87 unit loads 10-byte values in several micro-ops, and those loads, not the arithmetic,
/// bounded the previous version (22 to 35 ns per value, measured interleaved; 0.520 ulp at worst
/// on the same arguments, of which 2591 round differently now, 1104 of them farther from the
/// exact value). Below -11355 (where results turn subnormal), for NaN and for d > 0: std::exp,
/// slow there (0.2 to 0.5 us a value on this x87 unit); the reference never asks below
/// long_double_exp_floor. Other types: std::exp.
template <class T>
[[gnu::always_inline]] inline T exp_nonpositive(T d) {
    if constexpr (!std::is_same_v<T, long double> ||
                  std::numeric_limits<long double>::digits != 64) {
        return std::exp(d);
    } else {
        using ld = long double;
        if (!(d >= -11355.0L && d <= 0)) return std::exp(d);
        // n = round(d 64/ln2), give or take one (any nearby n keeps |r| small enough), in
        // double: d 64/ln2 + 1.5 2^52 lies where the ulp is 1, so the sum is an integer and its
        // significand's low bits are n.
        constexpr double inv_ln2_64 = 0x1.71547652b82fep+6;  // 64 / ln 2
        constexpr double round_shift = 0x1.8p52;
        const double shifted = static_cast<double>(d) * inv_ln2_64 + round_shift;
        const auto n = static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(shifted) -
                                                 std::bit_cast<std::uint64_t>(round_shift));
        const ld nd = shifted - round_shift;  // exactly n
        // ln2/64 = l1 + l2 + (below 2^-107): l1 has 40 bits, so n l1 is exact (|n| < 2^21).
        constexpr double l1 = 0x1.62e42fefa2p-7;
        constexpr double l2 = 0x1.9ef35793c7673p-47;
        const ld r = (d - nd * l1) - nd * l2;
        // exp(r) - 1 = r + r^2/2 + r^3 q(r), q(r) = 1/6 + r/24 + ... + r^5/8!, with q in double
        // arithmetic: its error (2^-52 relative, with the coefficients' rounding) weighs at most
        // |r|^3/6 2^-52 < 2^-77 against the result's 1, and its chain of products runs in the
        // vector unit beside the x87 one instead of lengthening the latter's.
        const double rd = static_cast<double>(r);
        const double q =
            1.0 / 6 +
            rd * (1.0 / 24 +
                  rd * (1.0 / 120 + rd * (1.0 / 720 + rd * (1.0 / 5040 + rd * (1.0 / 40320)))));
        const ld p = r + r * r * (0.5 + r * q);
        const auto j = static_cast<int>(n & 63);
        const std::int64_t k = (n - j) / 64;
        // 2^(j/64) e^r = high + (low + (high + low) p): high + low rounded to 64 bits before the
        // product, since low p (up to 2^-61 of the result) counts.
        const ld high = exp2_64ths[j].high;
        const ld low = exp2_64ths[j].low;
        const ld m = high + (low + (high + low) * p);
        if (k >= -1022) {
            // 2^k as a double (exact, so the product is the same): its 8 bytes load in one go,
            // where the 10 bytes of a long double built in memory would wait for two stores.
            const std::uint64_t bits = static_cast<std::uint64_t>(k + 1023) << 52;
            double scale;
            std::memcpy(&scale, &bits, 8);
            return m * static_cast<ld>(scale);
        }
        if (k < -16382) return std::ldexp(m, static_cast<int>(k));
        // 2^k from its bits: significand 1 << 63 (the explicit integer bit), exponent k + 16383.
        unsigned char bits[sizeof(ld)] = {};
        const std::uint64_t significand = std::uint64_t{1} << 63;
        const auto exponent = static_cast<std::uint16_t>(k + 16383);
        std::memcpy(bits, &significand, 8);
        std::memcpy(bits + 8, &exponent, 2);
        ld scale;
        std::memcpy(&scale, bits, sizeof(ld));
        return m * scale;
    }
}

}  // namespace xentcheck::detail
