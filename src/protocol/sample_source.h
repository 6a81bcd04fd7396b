#pragma once
// Deterministic pseudo-random values for the generated `randomize` methods, which fill a
// message with arbitrary field values valid for one version so tests can round-trip every
// message at every version. Not used on the serving path.

#include <cstdint>
#include <string>

#include "protocol/wire.h"

namespace hako::protocol {

class sample_source {
public:
    explicit sample_source(std::uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 1) {}

    std::uint64_t next() {  // splitmix64
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    bool chance(unsigned one_in) { return next() % one_in == 0; }
    // small array sizes keep nested messages bounded
    std::size_t count() { return static_cast<std::size_t>(next() % 3); }
    std::string next_string() {
        std::string s(next() % 12, '\0');
        for (auto& c : s) c = static_cast<char>('a' + next() % 26);
        return s;
    }
    uuid next_uuid() {
        uuid u;
        for (auto& b : u) b = static_cast<std::uint8_t>(next());
        return u;
    }

private:
    std::uint64_t state_;
};

}  // namespace hako::protocol
