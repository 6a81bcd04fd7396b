#pragma once
// Bytes that are either their own (a string moved in) or a slice of a buffer shared with
// other slices (a request frame): a produced batch goes from the request frame through
// storage to an S3 object or the memory engine's log without being copied. A slice keeps
// its whole buffer alive; its bytes are writable (the broker patches offsets in place),
// and no two slices of one buffer overlap.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace hako::protocol {

class shared_bytes {
public:
    shared_bytes() = default;
    // Owns `s` (implicit: a batch built in a test or by a tool is a string).
    shared_bytes(std::string s) {  // NOLINT(google-explicit-constructor)
        auto own = std::make_shared<std::string>(std::move(s));
        size_ = own->size();
        data_ = std::shared_ptr<char>(own, own->data());
    }
    // A slice: `data` shares ownership of its buffer (shared_ptr's aliasing constructor).
    shared_bytes(std::shared_ptr<char> data, std::size_t size)
        : data_(std::move(data)), size_(size) {}

    char* data() { return data_.get(); }
    const char* data() const { return data_.get(); }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    char* begin() { return data_.get(); }
    char* end() { return data_.get() + size_; }
    const char* begin() const { return data_.get(); }
    const char* end() const { return data_.get() + size_; }
    std::string_view view() const { return {data_.get(), size_}; }
    operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)

    friend bool operator==(const shared_bytes& a, const shared_bytes& b) {
        return a.view() == b.view();
    }

private:
    std::shared_ptr<char> data_;
    std::size_t size_ = 0;
};

}  // namespace hako::protocol
