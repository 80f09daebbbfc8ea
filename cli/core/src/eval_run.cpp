/// Reading, evaluating and reporting the cases of files: sequentially, or with batches of cases
/// evaluated on worker threads and reported in input order.
#include "xentcheck/cli/eval_run.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "xentcheck/cli/case_reader.h"
#include "xentcheck/cli/evaluation.h"

namespace xentcheck::cli {

namespace {

/// A case the reference itself rejected (the reader should have caught it first).
input_problem rejected_case(const std::string& file, const eval_case& c,
                            const xentcheck::input_error& e) {
    input_problem p;
    p.file = file;
    p.case_index = c.index;
    p.case_name = c.name;
    p.line = c.line;
    p.field = e.field();
    p.message = e.what();
    return p;
}

/// One case (or problem) on its way from the reader to the report, with its own evaluator so
/// that its result need not be copied.
struct slot {
    const std::string* file = nullptr;
    bool is_case = false;
    eval_case c;
    evaluator ev;
    const evaluation* result = nullptr;
    bool rejected = false;         // the reference rejected the case: `problem` says why
    input_problem problem;         // a reader problem (!is_case), or the rejection
    std::exception_ptr exception;  // anything else thrown while evaluating

    void evaluate() {
        rejected = false;
        exception = nullptr;
        try {
            result = &ev.evaluate(c);
        } catch (const xentcheck::input_error& e) {
            rejected = true;
            problem = rejected_case(*file, c, e);
        } catch (...) {
            exception = std::current_exception();
        }
    }

    /// Passes the outcome to the report, counting it.
    void emit(report& out, run_summary& summary) {
        if (exception) std::rethrow_exception(exception);
        if (!is_case || rejected) {
            ++summary.errors;
            out.add_problem(problem);
            return;
        }
        ++(result->failed() ? summary.failed : summary.passed);
        out.add_case(*file, c, *result);
    }
};

run_summary evaluate_sequentially(const std::vector<std::string>& files, report& out) {
    run_summary summary;
    evaluator engine;
    for (const std::string& file : files) {
        case_reader reader(file);
        for (;;) {
            const case_reader::status status = reader.next();
            if (status == case_reader::status::done) break;
            if (status == case_reader::status::error) {
                ++summary.errors;
                out.add_problem(reader.problem());
                continue;
            }
            const eval_case& c = reader.current();
            try {
                const evaluation& result = engine.evaluate(c);
                ++(result.failed() ? summary.failed : summary.passed);
                out.add_case(file, c, result);
            } catch (const xentcheck::input_error& e) {
                ++summary.errors;
                out.add_problem(rejected_case(file, c, e));
            }
        }
    }
    return summary;
}

/// Consecutive slots evaluated by one thread.
struct batch {
    std::vector<std::unique_ptr<slot>> slots;
    std::size_t used = 0;
    bool evaluated = false;  // guarded by the pipeline's mutex

    void evaluate() {
        for (std::size_t k = 0; k < used; ++k)
            if (slots[k]->is_case) slots[k]->evaluate();
    }
};

/// The reader (calling thread) fills batches, worker threads evaluate them, and the calling
/// thread reports them in order, evaluating queued batches itself while it waits.
class pipeline {
  public:
    pipeline(report& out, const eval_run_options& options)
        // The calling thread reads ahead this far: when a worker is descheduled holding the
        // oldest batch (a busy machine), the others are evaluated meanwhile.
        : out_(out), options_(options), max_in_flight_(4 * std::size_t{options.jobs} + 4) {}

    ~pipeline() {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        work_ready_.notify_all();
        for (std::thread& t : workers_)
            t.join();
    }

    pipeline(const pipeline&) = delete;
    pipeline& operator=(const pipeline&) = delete;

    void add_problem(const std::string& file, const input_problem& p) {
        slot& s = next_slot();
        s.file = &file;
        s.is_case = false;
        s.rejected = false;
        s.exception = nullptr;
        s.problem = p;
        close_if_full(0);
    }

    void add_case(const std::string& file, case_reader& reader) {
        const std::size_t values = reader.current().logits.size();
        if (values > options_.batch_values) {
            // A large case alone, after everything before it: only one is held at a time.
            if (filling_ && filling_->used) submit(false);
            while (!in_flight_.empty())
                report_oldest();
            slot large;
            large.file = &file;
            large.is_case = true;
            reader.take_current(large.c);
            large.evaluate();
            large.emit(out_, summary_);
            return;
        }
        slot& s = next_slot();
        s.file = &file;
        s.is_case = true;
        reader.take_current(s.c);
        close_if_full(values);
    }

    run_summary finish() {
        if (filling_ && filling_->used) submit(false);
        while (!in_flight_.empty())
            report_oldest();
        return summary_;
    }

  private:
    slot& next_slot() {
        if (!filling_) {
            if (free_.empty()) {
                filling_ = std::make_unique<batch>();
            } else {
                filling_ = std::move(free_.back());
                free_.pop_back();
            }
            filling_values_ = 0;
        }
        batch& b = *filling_;
        if (b.used == b.slots.size()) b.slots.push_back(std::make_unique<slot>());
        return *b.slots[b.used++];
    }

    void close_if_full(std::size_t values) {
        filling_values_ += values;
        if (filling_->used >= options_.batch_cases || filling_values_ >= options_.batch_values) {
            submit(true);
        }
    }

    void submit(bool full) {
        batch* b = filling_.get();
        in_flight_.push_back(std::move(filling_));
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            queue_.push_back(b);
        }
        // Workers start with the first full batch, so small runs never start a thread.
        if (full && workers_.empty()) {
            for (unsigned k = 1; k < options_.jobs; ++k)
                workers_.emplace_back([this] { work(); });
        }
        work_ready_.notify_one();
        while (in_flight_.size() >= max_in_flight_)
            report_oldest();
    }

    /// Takes queued batches until stopped.
    void work() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            work_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            run_one(lock);
        }
    }

    /// Evaluates the oldest queued batch (the lock is held on entry and exit, not while
    /// evaluating).
    void run_one(std::unique_lock<std::mutex>& lock) {
        batch* b = queue_.front();
        queue_.pop_front();
        lock.unlock();
        b->evaluate();
        lock.lock();
        b->evaluated = true;
        evaluated_.notify_all();
    }

    /// Waits for the oldest batch (evaluating queued ones meanwhile), reports it and recycles
    /// it. Slots that held cases larger than an even share of a batch give their memory back.
    void report_oldest() {
        batch& b = *in_flight_.front();
        {
            std::unique_lock<std::mutex> lock(mutex_);
            while (!b.evaluated) {
                if (!queue_.empty()) {
                    run_one(lock);
                } else {
                    evaluated_.wait(lock);
                }
            }
        }
        const std::size_t keep_values =
            options_.batch_values / std::max<std::size_t>(1, options_.batch_cases);
        for (std::size_t k = 0; k < b.used; ++k) {
            slot& s = *b.slots[k];
            s.emit(out_, summary_);
            if (s.c.logits.capacity() > keep_values) b.slots[k] = std::make_unique<slot>();
        }
        b.used = 0;
        b.evaluated = false;
        free_.push_back(std::move(in_flight_.front()));
        in_flight_.pop_front();
    }

    report& out_;
    const eval_run_options options_;
    const std::size_t max_in_flight_;
    run_summary summary_;
    std::unique_ptr<batch> filling_;
    std::size_t filling_values_ = 0;
    std::deque<std::unique_ptr<batch>> in_flight_;  // submitted, in input order
    std::vector<std::unique_ptr<batch>> free_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable work_ready_, evaluated_;
    std::deque<batch*> queue_;  // submitted and not yet taken by a thread
    bool stopping_ = false;
};

}  // namespace

unsigned default_eval_jobs() noexcept {
    const unsigned n = std::thread::hardware_concurrency();
    return std::clamp(n, 1u, 8u);
}

run_summary evaluate_files(const std::vector<std::string>& files, report& out,
                           const eval_run_options& options) {
    if (options.jobs <= 1) return evaluate_sequentially(files, out);
    pipeline p(out, options);
    for (const std::string& file : files) {
        case_reader reader(file);
        for (;;) {
            const case_reader::status status = reader.next();
            if (status == case_reader::status::done) break;
            if (status == case_reader::status::error) {
                p.add_problem(file, reader.problem());
            } else {
                p.add_case(file, reader);
            }
        }
    }
    return p.finish();
}

}  // namespace xentcheck::cli
