/// test_shared_region.cpp: the shared region of the packed form: growth, the child's view,
/// arrays and answers placed in it bit for bit, references outside it refused, and serve-lib
/// answering through it exactly as through the pipe.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check_test_support.h"
#include "xentcheck/check/packed_protocol.h"
#include "xentcheck/check/process_client.h"
#include "xentcheck/check/shared_region.h"

namespace {

using namespace std::chrono_literals;
using namespace xentcheck::check;
using namespace xentcheck::check::testing;
using xentcheck::reduction;

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() &&
           (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 8) == 0);
}

std::string without_newline(std::string line) {
    line.pop_back();
    return line;
}

/// The child's view of a creator's region (a second descriptor of the same memory file).
shared_region child_view(const shared_region& creator) {
    return shared_region::attach(dup(creator.fd()));
}

TEST(SharedRegion, GrowsKeepingItsBytesAndTheChildSeesThem) {
    shared_region creator = shared_region::create();
    ASSERT_TRUE(creator.valid());
    EXPECT_GE(creator.fd(), 10);
    ASSERT_TRUE(creator.reserve(100));
    std::memcpy(creator.data(), "xentcheck", 9);
    ASSERT_TRUE(creator.reserve(1 << 20));  // remapped, same memory file
    EXPECT_EQ(std::memcmp(creator.data(), "xentcheck", 9), 0);
    shared_region child = child_view(creator);
    ASSERT_TRUE(child.valid());
    EXPECT_EQ(child.size(), 0u);
    ASSERT_TRUE(child.map_at_least(9));
    EXPECT_EQ(std::memcmp(child.data(), "xentcheck", 9), 0);
    std::memcpy(child.data() + 4096, "answer", 6);
    EXPECT_EQ(std::memcmp(creator.data() + 4096, "answer", 6), 0);
    EXPECT_FALSE(child.map_at_least(creator.size() + 1));
    EXPECT_FALSE(shared_region::attach(-1).valid());
}

TEST(SharedRegion, RequestsAndAnswersTravelThroughItBitForBit) {
    shared_region creator = shared_region::create();
    ASSERT_TRUE(creator.valid());
    shared_region child = child_view(creator);
    request r = make_request(3, 4, reduction::none);
    r.logits[0] = -0.0;
    r.logits[5] = -std::numeric_limits<double>::infinity();
    r.weight = {0.5, 1, 2, 1.0 / 3};
    std::string lines;
    region_cursor cursor{&creator, 0};
    encode_packed_request(r, 7, lines, &cursor);
    request second = make_request(2, 4);
    encode_packed_request(second, 8, lines, &cursor);
    const std::string first_line = lines.substr(0, lines.find('\n'));
    EXPECT_NE(first_line.find("\"logits\":[0,12]"), std::string::npos) << first_line;

    std::optional<std::size_t> answer_at;
    const decoded_request d = decode_packed_request(first_line, &child, &answer_at);
    ASSERT_TRUE(d.error.empty()) << d.error;
    EXPECT_TRUE(same_bits(d.value.logits, r.logits));
    EXPECT_EQ(d.value.target_indices, r.target_indices);
    EXPECT_TRUE(same_bits(d.value.weight, r.weight));
    ASSERT_TRUE(answer_at.has_value());

    response_values v;
    v.probs = {0.25, -0.0, 1e-310, 0.5, 0.1, 0.2, 0.3, 0.4, 1, 0, 0, 0};
    v.loss = {1.5, std::numeric_limits<double>::quiet_NaN(), 3};
    v.grad = v.probs;
    v.grad[3] = -1;
    // The child writes the answer where the request set room aside, then names it.
    const packed_answer_layout layout = packed_answer_layout::of(response_shape::of(r), *answer_at);
    ASSERT_TRUE(child.map_at_least(layout.end));
    std::memcpy(child.data() + layout.probs, v.probs.data(), v.probs.size() * 8);
    std::memcpy(child.data() + layout.loss, v.loss.data(), v.loss.size() * 8);
    std::memcpy(child.data() + layout.grad, v.grad.data(), v.grad.size() * 8);
    std::string response;
    encode_packed_response_in_place(7, response_shape::of(r), layout, response);
    EXPECT_LT(response.size(), 100u) << response;  // references, not values
    const outcome o =
        decode_packed_response(without_newline(response), 7, response_shape::of(r), &creator);
    ASSERT_TRUE(o.ok()) << o.fault.to_string();
    EXPECT_TRUE(same_bits(o.values.probs, v.probs));
    EXPECT_TRUE(same_bits(o.values.loss, v.loss));
    EXPECT_TRUE(same_bits(o.values.grad, v.grad));

    // The second request's arrays did not overlap the first's answer.
    const decoded_request d2 =
        decode_packed_request(without_newline(lines.substr(first_line.size() + 1)), &child);
    ASSERT_TRUE(d2.error.empty()) << d2.error;
    EXPECT_TRUE(same_bits(d2.value.logits, second.logits));
}

TEST(SharedRegion, PackedRegionBytesIsWhatARequestReservesThere) {
    // What check sizes the region by before the run must be what encoding a request takes.
    request weighted = make_request(3, 5, reduction::none);
    weighted.weight = {1, 2, 3, 4, 5};
    request probability_rows = make_request(2, 7);
    probability_rows.target_form = xentcheck::target_view::kind::probability;
    probability_rows.target_indices.clear();
    probability_rows.target_probs.assign(14, 1.0 / 7);
    for (const request& r : {make_request(1, 1), make_request(4, 9), weighted, probability_rows}) {
        shared_region creator = shared_region::create();
        ASSERT_TRUE(creator.valid());
        region_cursor cursor{&creator, 0};
        std::string line;
        encode_packed_request(r, 1, line, &cursor);
        EXPECT_NE(line.find("\"out\":"), std::string::npos) << line;
        EXPECT_EQ(cursor.used, packed_region_bytes(r)) << r.rows << "x" << r.classes;
    }
}

TEST(SharedRegion, ReferencesOutsideTheRegionAreRefused) {
    shared_region creator = shared_region::create();
    ASSERT_TRUE(creator.reserve(4096));
    const response_shape shape{1, 2, reduction::mean};
    const auto kind = [&](const std::string& line, const shared_region* region) {
        return decode_packed_response(line, 4, shape, region).fault.kind;
    };
    const std::string good = R"({"id":4,"probs":[0,2],"loss":[16,1],"grad":[24,2]})";
    EXPECT_EQ(kind(good, &creator), fault_kind::none);
    EXPECT_EQ(kind(good, nullptr), fault_kind::bad_value);  // no region to refer to
    EXPECT_EQ(kind(R"({"id":4,"probs":[4090,2],"loss":[16,1],"grad":[24,2]})", &creator),
              fault_kind::bad_value);  // not aligned
    EXPECT_EQ(kind(R"({"id":4,"probs":[4088,2],"loss":[16,1],"grad":[24,2]})", &creator),
              fault_kind::bad_value);  // past the end
    EXPECT_EQ(kind(R"({"id":4,"probs":[-8,2],"loss":[16,1],"grad":[24,2]})", &creator),
              fault_kind::bad_value);
    EXPECT_EQ(kind(R"({"id":4,"probs":[0,3],"loss":[16,1],"grad":[24,2]})", &creator),
              fault_kind::wrong_shape);
    const decoded_request d = decode_packed_request(
        R"({"id":1,"packed":1,"dtype":"float64","rows":1,"classes":2,"logits":[0,2],)"
        R"("target_indices":[16,1],"reduction":"mean"})",
        nullptr);
    EXPECT_NE(d.error.find("logits: outside the shared region"), std::string::npos) << d.error;
}

TEST(SharedRegion, ServeLibAnswersThroughItAsThroughThePipe) {
    client_options shared_options;
    shared_options.packed = shared_options.shared_region = true;
    client_options packed_options;
    packed_options.packed = true;
    process_client shared(serve_command(XENTCHECK_EXAMPLE_ABI, true), shared_options);
    process_client piped(serve_command(XENTCHECK_EXAMPLE_ABI), packed_options);
    ASSERT_TRUE(shared.uses_shared_region());
    EXPECT_FALSE(piped.uses_shared_region());
    // A batch of requests of several sizes (a large one included), both dtypes and reductions.
    std::vector<request> batch;
    for (const dtype t : {dtype::float64, dtype::float32})
        for (const reduction red : {reduction::mean, reduction::none})
            batch.push_back(make_request(3, 5, red, t));
    batch.push_back(make_request(4, 60000));
    batch.push_back(make_request(1, 1));
    // Class weights and probability targets are read in place too.
    request weighted = make_request(3, 5);
    weighted.weight = {0.5, 1, 2, 1.0 / 3, 4};
    batch.push_back(weighted);
    request probability_rows = make_request(2, 4);
    probability_rows.target_form = xentcheck::target_view::kind::probability;
    probability_rows.target_indices.clear();
    probability_rows.target_probs = {0.25, 0.25, 0.5, 0, 1, 0, 0, 0};
    batch.push_back(probability_rows);
    const std::vector<outcome> a = shared.evaluate_batch(batch), b = piped.evaluate_batch(batch);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
        ASSERT_TRUE(a[k].ok()) << k << ": " << a[k].fault.to_string();
        ASSERT_TRUE(b[k].ok()) << k << ": " << b[k].fault.to_string();
        EXPECT_TRUE(same_bits(a[k].values.probs, b[k].values.probs)) << k;
        EXPECT_TRUE(same_bits(a[k].values.loss, b[k].values.loss)) << k;
        EXPECT_TRUE(same_bits(a[k].values.grad, b[k].values.grad)) << k;
    }
    request bad = make_request(2, 3);
    bad.target_indices[1] = 3;  // the library's error still arrives as an error response
    EXPECT_EQ(shared.evaluate(bad).fault.kind, fault_kind::error_response);
    EXPECT_EQ(shared.starts(), 1u);
}

TEST(SharedRegion, ACrashIsStillACrashAndTheRestartedChildGetsTheRegion) {
    client_options options;
    options.request_timeout = 5s;
    options.packed = options.shared_region = true;
    process_client client(serve_command(XENTCHECK_EXAMPLE_ABI_CRASHING, true), options);
    EXPECT_TRUE(client.evaluate(make_request(2, 7)).ok());
    const outcome crash = client.evaluate(make_request(2, 8));  // C > 7 crashes
    EXPECT_EQ(crash.fault.kind, fault_kind::crashed) << crash.fault.to_string();
    const outcome after = client.evaluate(make_request(1, 3));
    EXPECT_TRUE(after.ok()) << after.fault.to_string();
    EXPECT_EQ(client.starts(), 2u);
}

}  // namespace
