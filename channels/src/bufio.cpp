// channels/src/bufio.cpp — bufio's error category (goro/bufio.hpp).

#include <goro/bufio.hpp>

#include <string>

namespace goro::io {

namespace {

class bufio_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "goro.bufio"; }
    std::string message(int value) const override {
        switch (static_cast<bufio_errc>(value)) {
        case bufio_errc::buffer_full: return "bufio: buffer full";
        case bufio_errc::token_too_long: return "bufio.Scanner: token too long";
        case bufio_errc::no_progress: return "bufio.Scanner: too many empty tokens without progressing";
        }
        return "bufio: unknown error";
    }
};

}  // namespace

const std::error_category& bufio_category() noexcept {
    static const bufio_category_impl category;
    return category;
}

}  // namespace goro::io
