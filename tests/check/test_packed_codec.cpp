/// test_packed_codec.cpp: the packed form between xentcheck and serve-lib: bit-exact round
/// trips, decoding faults, and serve-lib answering packed requests in kind.
#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "check_test_support.h"
#include "xentcheck/check/packed_protocol.h"
#include "xentcheck/check/process_client.h"

namespace {

using namespace std::chrono_literals;
using namespace xentcheck::check;
using namespace xentcheck::check::testing;
using xentcheck::reduction;
using xentcheck::target_view;

constexpr double inf = std::numeric_limits<double>::infinity();

std::string without_newline(std::string line) {
    EXPECT_EQ(line.back(), '\n');
    line.pop_back();
    return line;
}

/// Bitwise equality (NaN payloads and -0 included).
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 8) == 0);
}

TEST(PackedCodec, RequestsRoundTripBitForBit) {
    request r = make_request(2, 3);
    r.logits = {-0.0, 1e-310, -inf, 709.78, 0.1, std::numeric_limits<double>::max()};
    r.weight = {0.5, 1.0 / 3, 2};
    r.ignore_index = -7;
    r.label_smoothing = 0.1;
    r.reduction = reduction::none;
    std::string line;
    encode_packed_request(r, 42, line);
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_TRUE(is_packed_request(without_newline(line)));
    const decoded_request d = decode_packed_request(without_newline(line));
    ASSERT_TRUE(d.error.empty()) << d.error;
    EXPECT_EQ(*d.id, 42);
    EXPECT_EQ(d.value.rows, 2u);
    EXPECT_EQ(d.value.classes, 3u);
    EXPECT_TRUE(same_bits(d.value.logits, r.logits));
    EXPECT_EQ(d.value.target_indices, r.target_indices);
    EXPECT_TRUE(same_bits(d.value.weight, r.weight));
    EXPECT_EQ(d.value.ignore_index, r.ignore_index);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(*d.value.label_smoothing),
              std::bit_cast<std::uint64_t>(0.1));
    EXPECT_EQ(d.value.reduction, reduction::none);

    request probs = make_request(1, 4);  // probability targets, float32, no options
    probs.dtype = dtype::float32;
    probs.target_form = target_view::kind::probability;
    probs.target_indices.clear();
    probs.target_probs = {0.25, 0.5, 0.25, 0};
    line.clear();
    encode_packed_request(probs, 1, line);
    const decoded_request p = decode_packed_request(without_newline(line));
    ASSERT_TRUE(p.error.empty()) << p.error;
    EXPECT_EQ(p.value.dtype, dtype::float32);
    EXPECT_EQ(p.value.target_form, target_view::kind::probability);
    EXPECT_TRUE(same_bits(p.value.target_probs, probs.target_probs));
    EXPECT_FALSE(p.value.label_smoothing.has_value());
    EXPECT_TRUE(p.value.weight.empty());
}

TEST(PackedCodec, APlainRequestIsNotPacked) {
    std::string line;
    encode_request(make_request(1, 2), 3, line);
    EXPECT_FALSE(is_packed_request(without_newline(line)));
    EXPECT_FALSE(is_packed_request(R"({"id":1})"));
    EXPECT_FALSE(is_packed_request(""));
}

TEST(PackedCodec, ResponsesRoundTripBitForBit) {
    const response_shape shape{2, 2, reduction::none};
    response_values v;
    v.probs = {std::nan("0x5"), 1, -0.0, 0.5};
    v.loss = {inf, 3};
    v.grad = {1e-320, -1, 0.25, -inf};
    std::string line;
    encode_packed_response(9, v, shape, line);
    const outcome o = decode_packed_response(without_newline(line), 9, shape);
    ASSERT_TRUE(o.ok()) << o.fault.to_string();
    EXPECT_TRUE(same_bits(o.values.probs, v.probs));
    EXPECT_TRUE(same_bits(o.values.loss, v.loss));
    EXPECT_TRUE(same_bits(o.values.grad, v.grad));
    EXPECT_THROW(encode_packed_response(9, v, response_shape{2, 2, reduction::mean}, line),
                 std::invalid_argument);
}

TEST(PackedCodec, DecodingFaultsNameWhatIsWrong) {
    const response_shape shape{1, 2, reduction::mean};
    response_values v{{0.5, 0.5}, {0.69}, {-0.5, 0.5}};
    std::string good;
    encode_packed_response(4, v, shape, good);
    good = without_newline(good);
    EXPECT_EQ(decode_packed_response(good, 5, shape).fault.kind, fault_kind::wrong_id);
    EXPECT_EQ(decode_packed_response(good, 4, response_shape{1, 3, reduction::mean}).fault.kind,
              fault_kind::wrong_shape);
    EXPECT_EQ(decode_packed_response(R"({"id":4,"error":"no"})", 4, shape).fault.kind,
              fault_kind::error_response);
    EXPECT_EQ(decode_packed_response(R"({"id":4,"error":"no"})", 4, shape).fault.message, "no");
    EXPECT_EQ(decode_packed_response(R"({"id":4,"probs":"AAAAAAAA4D8="})", 4, shape).fault.kind,
              fault_kind::missing_field);
    EXPECT_EQ(decode_packed_response(R"({"id":4,"probs":"AAA!","loss":"","grad":""})", 4, shape)
                  .fault.kind,
              fault_kind::bad_value);
    EXPECT_EQ(decode_packed_response(R"({"id":4,"probs":"AAAA","loss":"","grad":""})", 4, shape)
                  .fault.kind,
              fault_kind::bad_value);  // three bytes: not whole doubles
    EXPECT_EQ(decode_packed_response(R"({"id":4,"probs":[0.5,0.5],"loss":"","grad":""})", 4, shape)
                  .fault.kind,
              fault_kind::bad_value);
    EXPECT_EQ(decode_packed_response("{\"id\":4,", 4, shape).fault.kind, fault_kind::garbage);
    const decoded_request r =
        decode_packed_request(R"({"id":1,"packed":1,"dtype":"float64",)"
                              R"("rows":1,"classes":2,"logits":"AAAAAAAA4D8=",)"
                              R"("target_indices":"AAAAAAAAAAA=","reduction":"mean"})");
    EXPECT_NE(r.error.find("logits: 1 values, expected 2"), std::string::npos) << r.error;
}

TEST(PackedCodec, ServeLibAnswersPackedRequestsInKindWithTheSameValues) {
    client_options packed_options;
    packed_options.packed = true;
    process_client packed(serve_command(XENTCHECK_EXAMPLE_ABI), packed_options);
    process_client plain(serve_command(XENTCHECK_EXAMPLE_ABI));
    for (const dtype t : {dtype::float64, dtype::float32}) {
        for (const reduction red : {reduction::mean, reduction::none}) {
            const request r = make_request(3, 5, red, t);
            const outcome a = packed.evaluate(r), b = plain.evaluate(r);
            ASSERT_TRUE(a.ok()) << a.fault.to_string();
            ASSERT_TRUE(b.ok()) << b.fault.to_string();
            EXPECT_TRUE(same_bits(a.values.probs, b.values.probs));
            EXPECT_TRUE(same_bits(a.values.loss, b.values.loss));
            EXPECT_TRUE(same_bits(a.values.grad, b.values.grad));
        }
    }
    request bad = make_request(2, 3);
    bad.target_indices[1] = 3;  // out of range: the library's error, as an error response
    const outcome refused = packed.evaluate(bad);
    EXPECT_EQ(refused.fault.kind, fault_kind::error_response);
    EXPECT_NE(refused.fault.message.find("out of range"), std::string::npos)
        << refused.fault.message;
    EXPECT_EQ(packed.starts(), 1u);
}

TEST(PackedCodec, ACrashIsStillACrash) {
    client_options options;
    options.request_timeout = 5s;
    options.packed = true;
    process_client client(serve_command(XENTCHECK_EXAMPLE_ABI_CRASHING), options);
    EXPECT_TRUE(client.evaluate(make_request(2, 7)).ok());
    const outcome crash = client.evaluate(make_request(2, 8));  // C > 7 crashes
    EXPECT_EQ(crash.fault.kind, fault_kind::crashed) << crash.fault.to_string();
    EXPECT_TRUE(client.evaluate(make_request(1, 3)).ok());
}

}  // namespace
