// goro/panic.hpp — goro::panic_error, the exception for Go's recoverable
// panics (send on closed channel, negative WaitGroup counter, ...). Its what()
// is Go's message. An exception that escapes a fiber ends the program as a Go
// panic does: `panic: <what()>`, the fiber's id and spawn site, exit status 2.
#pragma once

#include <stdexcept>

namespace goro {

class panic_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

}  // namespace goro
