#pragma once
// A small HDR-like latency histogram for `hako perf`: exact below 64, then 64 linear
// sub-buckets per power of two (relative error under 1.6%). Not thread-safe: each worker
// thread owns one and the results are merged after the threads have joined.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace hako::cli::perf {

class histogram {
public:
    histogram() : counts_((64 - sub_bits + 1) * sub_count, 0) {}

    void record(std::uint64_t v) {
        ++counts_[index(v)];
        ++total_;
        max_ = std::max(max_, v);
    }

    void merge(const histogram& o) {
        for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
        total_ += o.total_;
        max_ = std::max(max_, o.max_);
    }

    std::uint64_t count() const { return total_; }
    std::uint64_t max() const { return max_; }

    // The smallest recorded-bucket upper bound at or below which a fraction q of the values
    // lie (never above the exact maximum). 0 when empty.
    std::uint64_t percentile(double q) const {
        if (total_ == 0) return 0;
        auto want = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
        want = std::clamp<std::uint64_t>(want, 1, total_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= want) return std::min(upper(i), max_);
        }
        return max_;
    }

    static constexpr int sub_bits = 6;
    static constexpr std::uint64_t sub_count = std::uint64_t{1} << sub_bits;

    static std::size_t index(std::uint64_t v) {
        if (v < sub_count) return static_cast<std::size_t>(v);
        int e = 63 - std::countl_zero(v);  // >= sub_bits
        int shift = e - sub_bits;
        return static_cast<std::size_t>((shift + 1) * sub_count + ((v >> shift) - sub_count));
    }

    // Largest value that falls into bucket i.
    static std::uint64_t upper(std::size_t i) {
        if (i < sub_count) return i;
        std::size_t shift = i / sub_count - 1;
        std::uint64_t sub = i % sub_count + sub_count;
        return ((sub + 1) << shift) - 1;
    }

private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t total_ = 0;
    std::uint64_t max_ = 0;
};

}  // namespace hako::cli::perf
