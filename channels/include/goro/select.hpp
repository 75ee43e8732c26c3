// goro/select.hpp — Go's select statement, and its dynamic form (reflect.Select).
//
//   int v; bool ok;
//   switch (goro::select(goro::recv(in, v, ok),     // case v, ok := <-in
//                        goro::recv(quit),          // case <-quit
//                        goro::send(out, x),        // case out <- x
//                        goro::default_case())) {   // default:
//     case 0: ...; case 1: ...; case 2: ...; case 3: ...;
//   }
//
// Go's semantics: when several cases are ready one is chosen uniformly at
// random; with none ready, select blocks (or takes default_case); nil channels
// are never ready; goro::select() blocks forever; a send case on a closed
// channel throws goro::panic_error("send on closed channel"); one channel may
// appear in several cases. A receive that completes because the channel was
// closed sets out = T{} and ok = false.
//
// A send case sends a value fixed when the case is made, as Go evaluates the
// send expression before choosing. Made from an lvalue (or a value of another
// type), the case holds a T made from it then: goro::send(out, x) copies x.
// Made from an rvalue T, goro::send(out, std::move(v)), the case refers to v
// and moves from it only if the select chooses it: a case that is not chosen
// leaves v as it was. So an rvalue's case belongs to the full-expression that
// makes it (an argument of select, or made into a select_case), since the
// rvalue may be a temporary; Clang's -Wdangling reports one kept longer. A
// trivially copyable T is copied either way: moving it would copy it anyway.
//
// For a number of cases known only at run time, build goro::select_case
// values (from the same makers) in a vector and call goro::select(cases):
//
//   std::vector<goro::select_case> cases;
//   for (auto& in : inputs) cases.emplace_back(goro::recv(in, v, ok));
//   int i = goro::select(cases);
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <goro/chan.hpp>

// A parameter whose object the result refers to: Clang then warns when the
// result outlives a temporary passed there.
#if defined(__has_cpp_attribute)
#if __has_cpp_attribute(clang::lifetimebound)
#define GORO_LIFETIMEBOUND [[clang::lifetimebound]]
#endif
#endif
#ifndef GORO_LIFETIMEBOUND
#define GORO_LIFETIMEBOUND
#endif

namespace goro {

namespace detail {

enum class case_kind : std::uint8_t { recv, send, default_case };

// One case, type-erased, as the select algorithm sees it.
struct select_case_desc {
    hchan* channel = nullptr;  // null: a nil channel (never ready) or default
    void* value = nullptr;     // send: the T to move from; recv: the sink (null: discard)
    deliver_fn deliver = nullptr;  // recv: how to store a received value
    bool* ok = nullptr;        // recv: set to whether a value was received
    case_kind kind = case_kind::recv;
};

// Runs the select; returns the chosen case's index (default_index when no
// case was ready and default_index >= 0).
int select_cases(select_case_desc* cases, int count, int default_index);

// Holds the channel of a case: a borrowed pointer for an lvalue channel (the
// caller's variable keeps it alive), an owned reference for a temporary such
// as goro::after(1s), so the case may outlive the full expression. Any of
// chan, send_chan and recv_chan; the case makers check the direction.
class case_channel {
public:
    template <class T>
    explicit case_channel(const chan_base<T>& c) noexcept : raw_(c.native_handle()) {}
    template <class T>
    explicit case_channel(chan_base<T>&& c) noexcept : raw_(c.native_handle()), owned_(std::move(c.handle_)) {}
    hchan* get() const noexcept { return raw_; }

private:
    hchan* raw_ = nullptr;
    chan_handle owned_;  // empty for a borrowed channel
};

}  // namespace detail

// case <-ch / case v := <-ch / case v, ok := <-ch
//
// The received value is staged inside the case (an empty optional, so the
// channel's critical section constructs and destroys nothing of the user's)
// and moved into `out` only after the select has released every lock: the
// assignment destroys out's old value, whose destructor may take locks of
// its own (a context, a timer channel) and must not run under a channel's.
template <class T>
class recv_case {
public:
    recv_case(detail::case_channel c, T* out, bool* ok) noexcept : channel_(std::move(c)), out_(out), ok_(ok) {}
    recv_case(recv_case&& o) noexcept : channel_(std::move(o.channel_)), out_(o.out_), ok_(o.ok_) {}
    detail::select_case_desc describe() noexcept {
        return {channel_.get(), &staged_, &detail::deliver_into_optional<T>, ok_, detail::case_kind::recv};
    }
    // This case was chosen: store what it received, or Go's zero value if
    // its channel was closed. Called by select outside every channel lock.
    void finish() {
        if (out_) {
            if (staged_) {
                *out_ = std::move(*staged_);
            } else if constexpr (std::is_default_constructible_v<T>) {
                *out_ = T{};
            }
        }
        staged_.reset();
    }

private:
    detail::case_channel channel_;
    T* out_;
    bool* ok_;
    std::optional<T> staged_;
};

// case ch <- v
//
// The value sent is *source_: either the caller's rvalue, which outlives the
// case (see the top of this file), or owned_, the case's own. The channel
// moves from it only when this case's send commits.
template <class T>
class send_case {
public:
    // Refers to the caller's value.
    send_case(detail::case_channel c, T& borrowed) noexcept
        : channel_(std::move(c)), source_(std::addressof(borrowed)) {}
    // Holds a T made from value.
    template <class V>
    send_case(detail::case_channel c, std::in_place_t, V&& value)
        : channel_(std::move(c)), owned_(std::in_place, std::forward<V>(value)), source_(std::addressof(*owned_)) {}
    send_case(send_case&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
        : channel_(std::move(o.channel_)),
          owned_(std::move(o.owned_)),
          source_(owned_ ? std::addressof(*owned_) : o.source_) {}
    send_case& operator=(send_case&&) = delete;

    detail::select_case_desc describe() noexcept {
        return {channel_.get(), source_, nullptr, nullptr, detail::case_kind::send};
    }
    void finish() noexcept {}

    // Moves a referred-to value into the case, for a select_case, which may
    // outlive the full-expression that made this case.
    void own_value() {
        if (owned_) return;
        owned_.emplace(std::move(*source_));
        source_ = std::addressof(*owned_);
    }

private:
    detail::case_channel channel_;
    std::optional<T> owned_;  // empty while the case refers to the caller's value
    T* source_;
};

// default:
struct default_case_t {
    detail::select_case_desc describe() const noexcept { return {nullptr, nullptr, nullptr, nullptr, detail::case_kind::default_case}; }
    void finish() const noexcept {}
};

// The case makers take a chan<T>, a recv_chan<T> (receive cases) or a
// send_chan<T> (send cases), as an lvalue (borrowed) or a temporary (owned).
template <detail::any_channel C>
recv_case<detail::channel_value_t<C>> recv(C&& c) noexcept {
    static_assert(detail::can_recv_from<C>, "goro::recv: cannot receive from a send_chan<T> (Go's chan<- T)");
    return {detail::case_channel(std::forward<C>(c)), nullptr, nullptr};
}
template <detail::any_channel C>
recv_case<detail::channel_value_t<C>> recv(C&& c, detail::channel_value_t<C>& out) noexcept {
    static_assert(detail::can_recv_from<C>, "goro::recv: cannot receive from a send_chan<T> (Go's chan<- T)");
    static_assert(std::is_default_constructible_v<detail::channel_value_t<C>>,
                  "goro::recv(ch, out): a closed channel stores T{} in out; use goro::recv(ch) for other types");
    return {detail::case_channel(std::forward<C>(c)), std::addressof(out), nullptr};
}
template <detail::any_channel C>
recv_case<detail::channel_value_t<C>> recv(C&& c, detail::channel_value_t<C>& out, bool& ok) noexcept {
    static_assert(detail::can_recv_from<C>, "goro::recv: cannot receive from a send_chan<T> (Go's chan<- T)");
    static_assert(std::is_default_constructible_v<detail::channel_value_t<C>>,
                  "goro::recv(ch, out): a closed channel stores T{} in out; use goro::recv(ch) for other types");
    return {detail::case_channel(std::forward<C>(c)), std::addressof(out), &ok};
}

// case c <- std::move(v), for an rvalue T that a move would change: the case
// refers to v, moved from only if this case is chosen.
template <detail::any_channel C>
    requires(!std::is_trivially_copyable_v<detail::channel_value_t<C>>)
send_case<detail::channel_value_t<C>> send(C&& c, detail::channel_value_t<C>&& value GORO_LIFETIMEBOUND) {
    static_assert(detail::can_send_on<C>, "goro::send: cannot send on a recv_chan<T> (Go's <-chan T)");
    return {detail::case_channel(std::forward<C>(c)), value};
}
// case c <- v for anything else (an lvalue, another type, a trivially copyable
// T): the case holds a T made from v now.
template <detail::any_channel C, class V>
    requires(!std::is_same_v<V, detail::channel_value_t<C>> || std::is_trivially_copyable_v<detail::channel_value_t<C>>)
send_case<detail::channel_value_t<C>> send(C&& c, V&& value) {
    static_assert(detail::can_send_on<C>, "goro::send: cannot send on a recv_chan<T> (Go's <-chan T)");
    return {detail::case_channel(std::forward<C>(c)), std::in_place, std::forward<V>(value)};
}

inline default_case_t default_case() noexcept { return {}; }

namespace detail {
template <class C>
inline constexpr bool is_case = false;
template <class T>
inline constexpr bool is_case<recv_case<T>> = true;
template <class T>
inline constexpr bool is_case<send_case<T>> = true;
template <>
inline constexpr bool is_case<default_case_t> = true;
}  // namespace detail

// select { cases... }: returns the 0-based index of the case that ran.
template <class... Cases>
    requires(detail::is_case<std::remove_cvref_t<Cases>> && ...)
int select(Cases&&... cases) {
    constexpr int count = static_cast<int>(sizeof...(Cases));
    constexpr int defaults = (0 + ... + (std::is_same_v<std::remove_cvref_t<Cases>, default_case_t> ? 1 : 0));
    static_assert(defaults <= 1, "goro::select: at most one default_case");
    detail::select_case_desc descs[count > 0 ? count : 1];
    int default_index = -1;
    int i = 0;
    ((descs[i] = cases.describe(),
      default_index = descs[i].kind == detail::case_kind::default_case ? i : default_index, ++i),
     ...);
    const int chosen = detail::select_cases(descs, count, default_index);
    int k = 0;
    ((k++ == chosen ? cases.finish() : void()), ...);
    return chosen;
}

// One case of a dynamic select (Go's reflect.SelectCase). Made from the same
// makers: goro::select_case(goro::recv(c, v)). A send case holds its own
// value, as a SelectCase does: making it moves an rvalue argument in (an
// lvalue is copied, as always). A select that does not choose the case leaves
// the value in it for the next select; one that chooses it moves it out, so
// the case sends at most once: make a new case to send again.
class select_case {
public:
    template <class T>
    select_case(recv_case<T> c) : holder_(std::make_shared<recv_case<T>>(std::move(c))) {
        desc_ = static_cast<recv_case<T>*>(holder_.get())->describe();
        finish_ = [](void* holder) { static_cast<recv_case<T>*>(holder)->finish(); };
    }
    template <class T>
    select_case(send_case<T> c) : holder_(std::make_shared<send_case<T>>(std::move(c))) {
        auto* held = static_cast<send_case<T>*>(holder_.get());
        held->own_value();
        desc_ = held->describe();
    }
    select_case(default_case_t d) noexcept : desc_(d.describe()) {}

    bool is_default() const noexcept { return desc_.kind == detail::case_kind::default_case; }

private:
    friend int select(std::span<select_case> cases);
    std::shared_ptr<void> holder_;  // the typed case; its address is stable
    detail::select_case_desc desc_;
    void (*finish_)(void* holder) = nullptr;  // recv cases: recv_case<T>::finish
};

// A select over a run-time list of cases (Go's reflect.Select). Returns the
// chosen case's index. At most one default case.
int select(std::span<select_case> cases);

}  // namespace goro
