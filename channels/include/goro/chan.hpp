// goro/chan.hpp — Go's channels: goro::chan<T> and goro::make_chan<T>(cap),
// and the directional views goro::send_chan<T> (Go's chan<- T) and
// goro::recv_chan<T> (<-chan T).
//
//   goro::chan<int> nil;                 // a nil channel: blocks forever
//   auto c = goro::make_chan<int>();     // unbuffered: a send waits for a receiver
//   auto b = goro::make_chan<int>(16);   // buffered, capacity 16
//   c.send(1);                           // c <- 1
//   std::optional<int> v = c.recv();     // v, ok := <-c  (nullopt: closed and drained)
//   for (int x : c) { ... }              // for x := range c
//   c.close();                           // close(c)
//   goro::send_chan<int> out = c;        // var out chan<- int = c
//   goro::recv_chan<int> in = c;         // var in <-chan int = c
//
// chan<T> is a reference: copies share one channel, == compares identity, and
// the channel lives while any copy (or a fiber blocked on it) holds it. So
// every operation is a const member: a const chan (a lambda's by-value
// capture) sends, receives and closes. send_chan<T> and recv_chan<T> are the
// same reference with only one direction's operations (Go forbids close on a
// receive-only channel); either is made implicitly from a chan<T>, never
// from each other.
// Every operation works from fibers (the fiber parks) and from plain threads
// (the thread blocks), in any mix. Values are moved through the channel,
// never copied, and T may be move-only or lack a default constructor. A send
// that does not happen (try_send returning false, a select send case not
// chosen) leaves its argument as it was: the channel moves from it only when
// the send commits. T's move constructor (into empty storage) and the
// destructor of moved-from values run inside the channel's critical section:
// they must not block, and a move that throws terminates the program (half a
// transfer has no safe state to unwind to). Live values are never destroyed
// there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <goro/panic.hpp>

namespace goro {

namespace detail {

struct hchan;

// How the type-erased channel core moves and destroys elements of one type.
struct element_ops {
    std::size_t size;
    std::size_t align;
    void (*move_construct)(void* dst, void* src) noexcept;  // placement-new T(std::move(*src))
    void (*destroy)(void* p) noexcept;
};

template <class T>
inline constexpr element_ops element_ops_for{
    sizeof(T),
    alignof(T),
    [](void* dst, void* src) noexcept { ::new (dst) T(std::move(*static_cast<T*>(src))); },
    [](void* p) noexcept { static_cast<T*>(p)->~T(); },
};

// A receiver's destination: deliver(sink, src) moves *src (a T) into the
// sink; src == nullptr means "the channel is closed", which a sink that must
// hold a value (select's recv(ch, out)) turns into T{}.
using deliver_fn = void (*)(void* sink, void* src) noexcept;

template <class T>
void deliver_into_optional(void* sink, void* src) noexcept {
    if (src) static_cast<std::optional<T>*>(sink)->emplace(std::move(*static_cast<T*>(src)));
}

enum class recv_status : std::uint8_t { received, closed, would_block };

hchan* chan_make(const element_ops* ops, std::size_t capacity);
void chan_retain(hchan* c) noexcept;
void chan_release(hchan* c) noexcept;
// block=false makes the call fail instead of waiting (a select with default).
// *src is moved from only when the send happens (true is returned).
bool chan_send(hchan* c, void* src, bool block);
recv_status chan_recv(hchan* c, void* sink, deliver_fn deliver, bool block);
void chan_close(hchan* c);
std::size_t chan_len(const hchan* c) noexcept;
std::size_t chan_cap(const hchan* c) noexcept;

// An owning, type-erased reference to a channel (a nil one when null).
class chan_handle {
public:
    chan_handle() noexcept = default;
    explicit chan_handle(hchan* adopted) noexcept : c_(adopted) {}
    chan_handle(const chan_handle& o) noexcept : c_(o.c_) {
        if (c_) chan_retain(c_);
    }
    chan_handle(chan_handle&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    chan_handle& operator=(const chan_handle& o) noexcept {
        if (o.c_) chan_retain(o.c_);
        if (c_) chan_release(c_);
        c_ = o.c_;
        return *this;
    }
    chan_handle& operator=(chan_handle&& o) noexcept {
        if (this != &o) {
            if (c_) chan_release(c_);
            c_ = std::exchange(o.c_, nullptr);
        }
        return *this;
    }
    ~chan_handle() {
        if (c_) chan_release(c_);
    }
    hchan* get() const noexcept { return c_; }

private:
    hchan* c_ = nullptr;
};

// for (auto v : c) over a chan or a recv_chan: receives until the channel is
// closed and drained. Each value is handed out as an rvalue, so `auto v`
// moves it (and works for move-only T); `auto&& v` and `const auto& v` bind
// to it in place. The range expression keeps the channel alive meanwhile.
template <class T>
class recv_iterator {
public:
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = T*;
    using reference = T&&;

    recv_iterator() = default;
    explicit recv_iterator(hchan* c) : channel_(c) { receive(); }
    T&& operator*() noexcept { return std::move(*current_); }
    T* operator->() noexcept { return &*current_; }
    recv_iterator& operator++() {
        current_.reset();
        receive();
        return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const recv_iterator& it, std::default_sentinel_t) noexcept { return !it.current_; }

private:
    void receive() { chan_recv(channel_, &current_, &deliver_into_optional<T>, true); }
    hchan* channel_ = nullptr;
    std::optional<T> current_;
};

class case_channel;

// What chan<T>, send_chan<T> and recv_chan<T> share: the reference and the
// operations of both directions, each of the three exposing its own subset.
// All are const: they act on the channel, not on the reference.
template <class T>
class chan_base {
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && !std::is_const_v<T>,
                  "goro::chan<T>: T must be a non-const object type");
    static_assert(std::is_move_constructible_v<T>, "goro::chan<T>: T must be move-constructible");
    static_assert(std::is_nothrow_destructible_v<T>, "goro::chan<T>: T's destructor must not throw");

public:
    using value_type = T;

    std::size_t len() const noexcept { return chan_len(handle_.get()); }
    std::size_t cap() const noexcept { return chan_cap(handle_.get()); }
    explicit operator bool() const noexcept { return handle_.get() != nullptr; }

    // The type-erased channel, for select and the runtime's own layers.
    hchan* native_handle() const noexcept { return handle_.get(); }

protected:
    chan_base() noexcept = default;
    explicit chan_base(hchan* adopted) noexcept : handle_(adopted) {}
    chan_base(const chan_base&) noexcept = default;
    chan_base(chan_base&&) noexcept = default;
    chan_base& operator=(const chan_base&) noexcept = default;
    chan_base& operator=(chan_base&&) noexcept = default;
    ~chan_base() = default;

    void send_value(T& value) const { chan_send(handle_.get(), std::addressof(value), true); }
    bool try_send_value(T& value) const { return chan_send(handle_.get(), std::addressof(value), false); }
    std::optional<T> recv_value() const {
        std::optional<T> out;
        chan_recv(handle_.get(), &out, &deliver_into_optional<T>, true);
        return out;
    }
    std::optional<T> try_recv_value(bool* closed) const {
        std::optional<T> out;
        auto status = chan_recv(handle_.get(), &out, &deliver_into_optional<T>, false);
        if (closed) *closed = status == recv_status::closed;
        return out;
    }
    void close_channel() const { chan_close(handle_.get()); }
    bool same_channel(const chan_base& o) const noexcept { return handle_.get() == o.handle_.get(); }

private:
    friend class case_channel;  // takes over a temporary's reference
    chan_handle handle_;
};

}  // namespace detail

template <class T>
class chan;

template <class T>
chan<T> make_chan(std::size_t capacity = 0);

namespace detail {
template <class U>
chan<U> adopt_chan(hchan* adopted) noexcept;
}  // namespace detail

template <class T>
class chan : public detail::chan_base<T> {
public:
    using iterator = detail::recv_iterator<T>;

    chan() noexcept = default;  // nil

    // c <- v. Blocks until a receiver takes v (unbuffered) or v is buffered.
    // Throws goro::panic_error("send on closed channel").
    void send(T value) const { this->send_value(value); }

    // v, ok := <-c. Blocks; std::nullopt once the channel is closed and drained.
    std::optional<T> recv() const { return this->recv_value(); }

    // select { case c <- v: return true; default: return false }. Throws on
    // a closed channel, as a send does. When it returns false (or throws)
    // `value` is as it was: an rvalue is moved from only by a send that
    // happens, so a retry loop sends the same value again.
    bool try_send(T&& value) const { return this->try_send_value(value); }
    bool try_send(const T& value) const
        requires std::is_copy_constructible_v<T>
    {
        T copy(value);
        return this->try_send_value(copy);
    }

    // select { case v, ok := <-c: ...; default: } — nullopt when nothing is
    // ready or the channel is closed and drained; `closed` tells which.
    std::optional<T> try_recv(bool* closed = nullptr) const { return this->try_recv_value(closed); }

    // close(c): wakes every waiter. Throws goro::panic_error on a nil channel
    // ("close of nil channel") or a closed one ("close of closed channel").
    void close() const { this->close_channel(); }

    friend bool operator==(const chan& a, const chan& b) noexcept { return a.same_channel(b); }

    // for (auto v : c) — see detail::recv_iterator.
    iterator begin() const { return iterator(this->native_handle()); }
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    friend chan make_chan<T>(std::size_t);
    template <class U>
    friend chan<U> detail::adopt_chan(detail::hchan*) noexcept;
    explicit chan(detail::hchan* adopted) noexcept : detail::chan_base<T>(adopted) {}
};

// chan<- T: a channel that this holder may only send on and close.
template <class T>
class send_chan : public detail::chan_base<T> {
public:
    send_chan() noexcept = default;  // nil
    send_chan(const chan<T>& c) noexcept : detail::chan_base<T>(c) {}
    send_chan(chan<T>&& c) noexcept : detail::chan_base<T>(std::move(c)) {}

    // As chan<T>'s.
    void send(T value) const { this->send_value(value); }
    bool try_send(T&& value) const { return this->try_send_value(value); }
    bool try_send(const T& value) const
        requires std::is_copy_constructible_v<T>
    {
        T copy(value);
        return this->try_send_value(copy);
    }
    void close() const { this->close_channel(); }

    friend bool operator==(const send_chan& a, const send_chan& b) noexcept { return a.same_channel(b); }
};

// <-chan T: a channel that this holder may only receive from (and range
// over); closing it is the sender's business, as Go's compiler insists.
template <class T>
class recv_chan : public detail::chan_base<T> {
public:
    using iterator = detail::recv_iterator<T>;

    recv_chan() noexcept = default;  // nil
    recv_chan(const chan<T>& c) noexcept : detail::chan_base<T>(c) {}
    recv_chan(chan<T>&& c) noexcept : detail::chan_base<T>(std::move(c)) {}

    // As chan<T>'s.
    std::optional<T> recv() const { return this->recv_value(); }
    std::optional<T> try_recv(bool* closed = nullptr) const { return this->try_recv_value(closed); }
    iterator begin() const { return iterator(this->native_handle()); }
    std::default_sentinel_t end() const noexcept { return {}; }

    friend bool operator==(const recv_chan& a, const recv_chan& b) noexcept { return a.same_channel(b); }
};

namespace detail {

// A channel made by a runtime layer (timer channels) takes over one reference.
template <class U>
chan<U> adopt_chan(hchan* adopted) noexcept {
    return chan<U>(adopted);
}

// Which directions a channel type allows, for select's case makers.
template <class C>
struct channel_directions {
    static constexpr bool is_channel = false, can_send = false, can_recv = false;
};
template <class T>
struct channel_directions<chan<T>> {
    static constexpr bool is_channel = true, can_send = true, can_recv = true;
};
template <class T>
struct channel_directions<send_chan<T>> {
    static constexpr bool is_channel = true, can_send = true, can_recv = false;
};
template <class T>
struct channel_directions<recv_chan<T>> {
    static constexpr bool is_channel = true, can_send = false, can_recv = true;
};

template <class C>
concept any_channel = channel_directions<std::remove_cvref_t<C>>::is_channel;
template <class C>
inline constexpr bool can_send_on = channel_directions<std::remove_cvref_t<C>>::can_send;
template <class C>
inline constexpr bool can_recv_from = channel_directions<std::remove_cvref_t<C>>::can_recv;
template <class C>
using channel_value_t = typename std::remove_cvref_t<C>::value_type;

}  // namespace detail

template <class T>
chan<T> make_chan(std::size_t capacity) {
    return chan<T>(detail::chan_make(&detail::element_ops_for<T>, capacity));
}

}  // namespace goro
