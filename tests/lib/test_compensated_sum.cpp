/// test_compensated_sum.cpp: the reference's compensated sums (an internal header of lib):
/// compensated_sum_of gives the bits of adding one value at a time, finite or not.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "compensated_sum.h"

namespace {

using xentcheck::detail::accumulator;
using xentcheck::detail::compensated_sum_of;

/// Bit equality of the significant bytes of a real value (10 for x87's long double).
template <class T>
bool same_bits(T a, T b) {
    constexpr std::size_t bytes = std::numeric_limits<T>::digits == 64 ? 10 : sizeof(T);
    return std::memcmp(&a, &b, bytes) == 0;
}

/// Sequences of values of mixed signs and magnitudes; now and then one near the largest value
/// (sums that overflow), an inf, a NaN or a -0.
template <class T>
std::vector<T> random_values(std::mt19937_64& rng, int k) {
    std::uniform_real_distribution<double> unit(-1, 1);
    std::vector<T> v(1 + static_cast<std::size_t>(k) % 40);
    for (T& x : v)
        x = T(unit(rng)) * std::pow(T(10), T(static_cast<int>(rng() % 40) - 20));
    const T big = std::numeric_limits<T>::max();
    if (k % 5 == 1) v[0] = big * T(0.75), v.back() = big * T(0.75);
    if (k % 7 == 2) v[v.size() / 2] = std::numeric_limits<T>::infinity();
    if (k % 11 == 3) v[0] = -std::numeric_limits<T>::infinity(), v.back() = -v[0];
    if (k % 13 == 4) v.back() = std::numeric_limits<T>::quiet_NaN();
    if (k % 3 == 0) v[0] = T(-0.0);
    return v;
}

template <class T>
void expect_one_at_a_time_bits() {
    std::mt19937_64 rng(3);
    for (int k = 0; k < 20000; ++k) {
        const std::vector<T> v = random_values<T>(rng, k);
        accumulator<T> one_by_one;
        for (const T x : v)
            one_by_one.add(x);
        const auto all = compensated_sum_of<T>(v.size(), [&](std::size_t j) { return v[j]; });
        ASSERT_TRUE(same_bits(all.value(), one_by_one.value()))
            << k << ": " << static_cast<double>(all.value()) << " against "
            << static_cast<double>(one_by_one.value());
    }
}

TEST(CompensatedSum, TheSumOfARangeIsTheSumOneValueAtATime) {
    expect_one_at_a_time_bits<double>();
    expect_one_at_a_time_bits<long double>();
}

template <class T>
void expect_non_finite_sums_of_the_additions() {
    // The accumulator of x87 long double notes infinite terms instead of adding them (x87
    // arithmetic on infinities is slow); its value must still be what adding the values one by
    // one gives whenever that is not finite: the same infinity, or a NaN.
    std::mt19937_64 rng(5);
    int infinite = 0, nan = 0;
    for (int k = 0; k < 20000; ++k) {
        const std::vector<T> v = random_values<T>(rng, k);
        accumulator<T> acc;
        T plain{0};
        for (const T x : v) {
            acc.add(x);
            plain += x;
        }
        if (std::isnan(plain)) {
            ++nan;
            ASSERT_TRUE(std::isnan(acc.value())) << k;
        } else if (std::isinf(plain)) {
            ++infinite;
            ASSERT_TRUE(same_bits(acc.value(), plain)) << k << ": " << acc.value();
        }
    }
    EXPECT_GT(infinite, 1000);
    EXPECT_GT(nan, 1000);
    // An overflowing sum meeting an infinity: the same sign stays, the other gives NaN.
    const T big = std::numeric_limits<T>::max() * T(0.75);
    const T inf = std::numeric_limits<T>::infinity();
    for (const T last : {inf, -inf}) {
        for (const T sign : {T(1), T(-1)}) {
            accumulator<T> acc;
            for (const T x : {sign * big, sign * big, last})
                acc.add(x);
            const T plain = (sign * big + sign * big) + last;
            if (std::isnan(plain)) {
                EXPECT_TRUE(std::isnan(acc.value())) << static_cast<double>(sign);
            } else {
                EXPECT_TRUE(same_bits(acc.value(), plain)) << static_cast<double>(sign);
            }
        }
    }
}

TEST(CompensatedSum, NonFiniteSumsAreThoseOfTheAdditions) {
    expect_non_finite_sums_of_the_additions<double>();
    expect_non_finite_sums_of_the_additions<long double>();
}

TEST(CompensatedSum, KeepsWhatAPlainSumLoses) {
    // 1 + 1e-30 + ... - 1: the compensation holds the tiny terms a plain sum drops.
    const std::vector<long double> v{1.0L, 1e-30L, 1e-30L, -1.0L};
    const auto all = compensated_sum_of<long double>(v.size(), [&](std::size_t j) { return v[j]; });
    EXPECT_EQ(all.value(), 2 * 1e-30L);
    // And an overflowing step is inf, as one value at a time gives it.
    const double big = std::numeric_limits<double>::max();
    const std::vector<double> w{big, big, -big};
    const auto over = compensated_sum_of<double>(w.size(), [&](std::size_t j) { return w[j]; });
    EXPECT_EQ(over.value(), std::numeric_limits<double>::infinity());
}

}  // namespace
