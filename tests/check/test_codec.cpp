/// test_codec.cpp: the protocol codec: round trips, float32 exactness, tokens, malformed lines.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "check_test_support.h"
#include "xentcheck/check/json_numbers.h"
#include "xentcheck/check/protocol.h"

namespace {

using namespace xentcheck::check;
using xentcheck::reduction;
using xentcheck::check::testing::make_request;

constexpr double inf = std::numeric_limits<double>::infinity();

/// Bitwise equality (distinguishes -0 from 0; any NaN equals any NaN).
bool same(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

request full_request() {
    request r = make_request(2, 3, reduction::none);
    r.logits[1] = -inf;
    r.logits[4] = 1e300;
    r.weight = {0.5, 2.0, 1.25};
    r.ignore_index = 1;
    r.target_indices = {2, 1};
    r.label_smoothing = 0.1;
    return r;
}

TEST(Codec, RequestRoundTripsWithEveryOption) {
    const request r = full_request();
    std::string line;
    encode_request(r, 17, line);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one request per line";
    const decoded_request d = decode_request(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_EQ(d.error, "");
    EXPECT_EQ(d.id, 17);
    EXPECT_EQ(d.value.rows, 2u);
    EXPECT_EQ(d.value.classes, 3u);
    EXPECT_EQ(d.value.target_form, xentcheck::target_view::kind::index);
    EXPECT_EQ(d.value.target_indices, r.target_indices);
    EXPECT_EQ(d.value.weight, r.weight);
    EXPECT_EQ(d.value.ignore_index, 1);
    EXPECT_EQ(d.value.label_smoothing, 0.1);
    EXPECT_EQ(d.value.reduction, reduction::none);
    ASSERT_EQ(d.value.logits.size(), r.logits.size());
    for (std::size_t k = 0; k < r.logits.size(); ++k)
        EXPECT_TRUE(same(d.value.logits[k], r.logits[k])) << k;
    EXPECT_NE(line.find("\"-inf\""), std::string::npos);
}

TEST(Codec, RequestsWrittenInPlaceAreTheAppendedLines) {
    // The process client's buffer: lines written one after the other over old bytes, its size
    // only growing. The text must be each line's alone (each encoded into a fresh string, so
    // that an offset taken wrongly cannot hide on both sides: encode_request appends with
    // encode_request_at itself).
    request small = make_request(1, 2);
    const request large = full_request();
    std::string large_line, small_line;
    encode_request(large, 1, large_line);
    encode_request(small, 2, small_line);
    const std::string expected = large_line + small_line;
    std::string appended;  // the appending form gives the same text
    encode_request(large, 1, appended);
    encode_request(small, 2, appended);
    EXPECT_EQ(appended, expected);
    std::string buffer(7, '#');  // shorter than a line: it must grow
    std::size_t used = 0;
    detail::encode_request_at(large, 1, buffer, used);
    detail::encode_request_at(small, 2, buffer, used);
    ASSERT_EQ(used, expected.size());
    EXPECT_EQ(buffer.substr(0, used), expected);
    const std::size_t room = buffer.size();
    // Again from the start, over the first batch's bytes: the room is reused, not grown.
    used = 0;
    detail::encode_request_at(small, 2, buffer, used);
    EXPECT_EQ(buffer.substr(0, used), small_line);
    EXPECT_EQ(buffer.size(), room);
    // Validation comes first, as for encode_request, and leaves `used` alone.
    small.logits.pop_back();
    EXPECT_THROW(detail::encode_request_at(small, 3, buffer, used), std::invalid_argument);
    EXPECT_EQ(used, small_line.size());
}

TEST(Codec, OptionsAreSentOnlyWhenSet) {
    std::string line;
    encode_request(make_request(1, 2), 1, line);
    EXPECT_EQ(line,
              "{\"id\":1,\"dtype\":\"float64\",\"logits\":[[-3,1.625]],\"target\":[0],"
              "\"reduction\":\"mean\"}\n");
}

TEST(Codec, ProbabilityTargetsRoundTrip) {
    request r = make_request(2, 2, reduction::sum, dtype::float32);
    r.target_form = xentcheck::target_view::kind::probability;
    r.target_probs = {0.25, 0.75, 1.0, 0.0};
    std::string line;
    encode_request(r, 3, line);
    line.pop_back();
    const decoded_request d = decode_request(line);
    ASSERT_EQ(d.error, "");
    EXPECT_EQ(d.value.dtype, dtype::float32);
    EXPECT_EQ(d.value.target_form, xentcheck::target_view::kind::probability);
    EXPECT_EQ(d.value.target_probs, r.target_probs);
}

TEST(Codec, Float32ValuesAreWrittenExactly) {
    request r = make_request(1, 2, reduction::mean, dtype::float32);
    r.logits = {static_cast<double>(0.1f), static_cast<double>(-1e-40f)};  // normal, subnormal
    std::string line;
    encode_request(r, 1, line);
    // The text denotes the float32 value itself, not the shortest float32 decimal ("0.1"), so a
    // reader parsing doubles and narrowing gets exactly the same float.
    EXPECT_NE(line.find("0.10000000149011612"), std::string::npos) << line;
    line.pop_back();
    const decoded_request d = decode_request(line);
    ASSERT_EQ(d.error, "");
    EXPECT_TRUE(same(d.value.logits[0], static_cast<double>(0.1f)));
    EXPECT_TRUE(same(d.value.logits[1], static_cast<double>(-1e-40f)));
}

TEST(Codec, Float32RequestsRefuseInexactInputs) {
    request r = make_request(1, 2, reduction::mean, dtype::float32);
    r.logits[0] = 0.1;  // not a float32 value
    std::string line;
    // The message names the array and the entry.
    const auto message = [&] {
        try {
            encode_request(r, 1, line);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message().find("logits[0] is not exactly representable in float32"),
              std::string::npos)
        << message();
    r.logits[0] = 0.5;
    r.weight = {1.0, 1.0 / 3.0};
    EXPECT_NE(message().find("weight[1] is not exactly representable in float32"),
              std::string::npos)
        << message();
    r.weight = {1.0, 0.25};
    EXPECT_EQ(message(), "no error");
}

TEST(Codec, InconsistentRequestsAreRefused) {
    request r = make_request(2, 3);
    r.target_indices.pop_back();
    std::string line;
    EXPECT_THROW(encode_request(r, 1, line), std::invalid_argument);
    r = make_request(2, 3);
    r.weight = {1.0};
    EXPECT_THROW(encode_request(r, 1, line), std::invalid_argument);
}

/// A response line for shape 1 x n holding `values` as probs and grad, loss `values[0]`.
outcome round_trip(const std::vector<double>& values) {
    const response_shape shape{1, values.size(), reduction::sum};
    response_values v{values, {values[0]}, values};
    std::string line;
    encode_response(5, v, shape, line);
    line.pop_back();
    return decode_response(line, 5, shape);
}

TEST(Codec, NumbersRoundTripBitForBit) {
    std::vector<double> values = {0.0,
                                  -0.0,
                                  1.0,
                                  0.1,
                                  1.0 / 3.0,
                                  std::numeric_limits<double>::max(),
                                  std::numeric_limits<double>::min(),
                                  std::numeric_limits<double>::denorm_min(),
                                  -std::numeric_limits<double>::denorm_min(),
                                  std::numeric_limits<double>::epsilon(),
                                  static_cast<double>(std::numeric_limits<float>::max()),
                                  inf,
                                  -inf,
                                  std::nan("")};
    std::mt19937_64 rng(12345);
    for (int k = 0; k < 2000; ++k) {
        const double v = std::bit_cast<double>(rng());
        values.push_back(v);
        values.push_back(static_cast<double>(static_cast<float>(v)));
    }
    const outcome o = round_trip(values);
    ASSERT_TRUE(o.ok()) << o.fault.to_string();
    ASSERT_EQ(o.values.probs.size(), values.size());
    for (std::size_t k = 0; k < values.size(); ++k)
        ASSERT_TRUE(same(o.values.probs[k], values[k])) << k << ": " << values[k];
}

TEST(Codec, NonFiniteTokens) {
    std::string s;
    append_json_number(s, inf);
    append_json_number(s, -inf);
    append_json_number(s, std::nan(""));
    EXPECT_EQ(s, "\"inf\"\"-inf\"\"nan\"");
    const response_shape shape{1, 4, reduction::mean};
    const outcome o =
        decode_response(R"({"id":1,"probs":[["inf","-inf","nan","Infinity"]],"loss":NaN,)"
                        R"("grad":[[Infinity,-Infinity,NaN,"-INF"]]})",
                        1, shape);
    ASSERT_TRUE(o.ok()) << o.fault.to_string();
    EXPECT_EQ(o.values.probs[0], inf);
    EXPECT_EQ(o.values.probs[1], -inf);
    EXPECT_TRUE(std::isnan(o.values.probs[2]));
    EXPECT_EQ(o.values.probs[3], inf);
    EXPECT_TRUE(std::isnan(o.values.loss[0]));
    EXPECT_EQ(o.values.grad[0], inf);
    EXPECT_EQ(o.values.grad[1], -inf);
    EXPECT_TRUE(std::isnan(o.values.grad[2]));
    EXPECT_EQ(o.values.grad[3], -inf);
}

TEST(Codec, OutOfRangeNumbersSaturate) {
    const outcome o =
        decode_response(R"({"id":1,"probs":[[1e999,-1e999]],"loss":1e-999,"grad":[[0,0]]})", 1,
                        {1, 2, reduction::mean});
    ASSERT_TRUE(o.ok()) << o.fault.to_string();
    EXPECT_EQ(o.values.probs[0], inf);
    EXPECT_EQ(o.values.probs[1], -inf);
    EXPECT_EQ(o.values.loss[0], 0.0);
}

TEST(Codec, UnknownMembersAndWhitespaceAreAccepted) {
    const outcome o = decode_response(
        " { \"grad\" : [ [ 1 , 2 ] ] , \"extra\": {\"a\": [true, null, \"x\\\"y\"]},"
        " \"loss\": [0.5], \"probs\": [[0.25, 0.75]], \"id\": 9 }\r",
        9, {1, 2, reduction::none});
    ASSERT_TRUE(o.ok()) << o.fault.to_string();
    EXPECT_EQ(o.values.probs, (std::vector<double>{0.25, 0.75}));
    EXPECT_EQ(o.values.loss, (std::vector<double>{0.5}));
}

TEST(Codec, ErrorResponsesCarryTheirMessage) {
    std::string line;
    encode_error_response(4, "bad \"target\"\n\xff", line);
    line.pop_back();
    const outcome o = decode_response(line, 4, {1, 2, reduction::mean});
    EXPECT_EQ(o.fault.kind, fault_kind::error_response);
    EXPECT_EQ(o.fault.message, "bad \"target\"\n\xEF\xBF\xBD");  // invalid UTF-8 replaced
    EXPECT_FALSE(requires_restart(o.fault.kind));
}

struct malformed_case {
    const char* line;
    fault_kind kind;
    const char* message_part;
};

class MalformedResponse : public ::testing::TestWithParam<malformed_case> {};

TEST_P(MalformedResponse, IsClassified) {
    const malformed_case& c = GetParam();
    // Shape: N = 2, C = 2; reduction none unless the line's loss says otherwise.
    const bool scalar_loss = std::string(c.line).find("\"loss\":0.5") != std::string::npos;
    const response_shape shape{2, 2, scalar_loss ? reduction::mean : reduction::none};
    const outcome o = decode_response(c.line, 1, shape);
    EXPECT_EQ(to_string(o.fault.kind), to_string(c.kind))
        << c.line << " -> " << o.fault.to_string();
    EXPECT_NE(o.fault.message.find(c.message_part), std::string::npos) << o.fault.message;
    EXPECT_TRUE(o.values.probs.empty());
    EXPECT_EQ(o.fault.raw.substr(0, 10), std::string(c.line).substr(0, 10));
}

#define OK_PROBS "\"probs\":[[0.5,0.5],[0.5,0.5]]"
#define OK_GRAD "\"grad\":[[0.5,-0.5],[0.5,-0.5]]"
#define OK_LOSS "\"loss\":[0.5,0.5]"

INSTANTIATE_TEST_SUITE_P(
    Codec, MalformedResponse,
    ::testing::Values(
        malformed_case{"hello", fault_kind::garbage, "not JSON"},
        malformed_case{"", fault_kind::garbage, "end of line"},
        malformed_case{"[1, 2]", fault_kind::garbage, "'{'"},
        malformed_case{"{\"id\":1," OK_PROBS "," OK_LOSS "," OK_GRAD "} x", fault_kind::garbage,
                       "end of the line"},
        malformed_case{"{\"id\":1," OK_PROBS ",", fault_kind::garbage, "end of line"},
        malformed_case{"{\"id\":1," OK_PROBS "," OK_LOSS ",\"grad\":[[01,2],[3,4]]}",
                       fault_kind::garbage, "byte"},
        malformed_case{"{\"id\":1,\"probs\":[[1.,2],[3,4]]," OK_LOSS "," OK_GRAD "}",
                       fault_kind::garbage, "JSON number"},
        malformed_case{"{" OK_PROBS "," OK_LOSS "," OK_GRAD "}", fault_kind::missing_field, "id"},
        malformed_case{"{\"id\":2," OK_PROBS "," OK_LOSS "," OK_GRAD "}", fault_kind::wrong_id,
                       "expected id 1, found 2"},
        malformed_case{"{\"id\":\"1\"," OK_PROBS "," OK_LOSS "," OK_GRAD "}", fault_kind::bad_value,
                       "integer"},
        malformed_case{"{\"id\":1,\"error\":\"no float32 here\"}", fault_kind::error_response,
                       "no float32 here"},
        malformed_case{"{\"id\":1," OK_PROBS "," OK_LOSS "}", fault_kind::missing_field, "grad"},
        malformed_case{"{\"id\":1}", fault_kind::missing_field, "probs, loss, grad"},
        malformed_case{"{\"id\":1,\"probs\":[[0.5,0.5],[0.5]]," OK_LOSS "," OK_GRAD "}",
                       fault_kind::wrong_shape, "ragged"},
        malformed_case{"{\"id\":1,\"probs\":[[0.5,0.5]]," OK_LOSS "," OK_GRAD "}",
                       fault_kind::wrong_shape, "expected 2 x 2, found 1 x 2"},
        malformed_case{"{\"id\":1," OK_PROBS "," OK_LOSS ",\"grad\":[[1,2,3],[4,5,6]]}",
                       fault_kind::wrong_shape, "expected 2 x 2, found 2 x 3"},
        malformed_case{"{\"id\":1,\"probs\":[0.5,0.5,0.5,0.5]," OK_LOSS "," OK_GRAD "}",
                       fault_kind::wrong_shape, "flat array"},
        malformed_case{"{\"id\":1," OK_PROBS ",\"loss\":0.25," OK_GRAD "}", fault_kind::wrong_shape,
                       "reduction none needs an array of 2"},
        malformed_case{"{\"id\":1," OK_PROBS ",\"loss\":[0.25]," OK_GRAD "}",
                       fault_kind::wrong_shape, "found an array of 1"},
        malformed_case{"{\"id\":1," OK_PROBS ",\"loss\":0.5,\"loss2\":[1]," OK_GRAD
                       ",\"x\":0,\"loss\":[0.5]}",
                       fault_kind::wrong_shape, "needs a single number"},
        malformed_case{"{\"id\":1,\"probs\":[[[0.5],0.5],[0.5,0.5]]," OK_LOSS "," OK_GRAD "}",
                       fault_kind::wrong_shape, "deeper"},
        malformed_case{"{\"id\":1,\"probs\":[0.5,[0.5]]," OK_LOSS "," OK_GRAD "}",
                       fault_kind::wrong_shape, "mixing"},
        malformed_case{"{\"id\":1,\"probs\":[[\"oops\",0.5],[0.5,0.5]]," OK_LOSS "," OK_GRAD "}",
                       fault_kind::bad_value, "\"oops\" is not a number"},
        malformed_case{"{\"id\":1," OK_PROBS "," OK_LOSS ",\"grad\":[[null,1],[1,1]]}",
                       fault_kind::bad_value, "found null"},
        malformed_case{"{\"id\":1," OK_PROBS ",\"loss\":[true,1]," OK_GRAD "}",
                       fault_kind::bad_value, "found true"}));

TEST(Codec, RequestDecodingReportsBadRequests) {
    EXPECT_NE(decode_request("nope").error.find("not JSON"), std::string::npos);
    const decoded_request missing =
        decode_request(R"({"id":3,"dtype":"float64","target":[0],"reduction":"mean"})");
    EXPECT_EQ(missing.id, 3);
    EXPECT_NE(missing.error.find("logits: missing"), std::string::npos) << missing.error;
    const decoded_request ragged = decode_request(
        R"({"id":3,"dtype":"float64","logits":[[1,2],[3]],"target":[0,0],"reduction":"mean"})");
    EXPECT_NE(ragged.error.find("ragged"), std::string::npos) << ragged.error;
    const decoded_request wrong_n = decode_request(
        R"({"id":3,"dtype":"float64","logits":[[1,2],[3,4]],"target":[0],"reduction":"sum"})");
    EXPECT_NE(wrong_n.error.find("1 index for 2 rows"), std::string::npos) << wrong_n.error;
    const decoded_request dtype16 = decode_request(
        R"({"id":3,"dtype":"float16","logits":[[1,2]],"target":[0],"reduction":"sum"})");
    EXPECT_NE(dtype16.error.find("float16"), std::string::npos) << dtype16.error;
}

}  // namespace
