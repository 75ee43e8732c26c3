// channels/src/context.cpp — the context tree (Go's context package).
//
// A context is a node: the background root, a value node (one key and
// value, everything else from its parent), a cancel node (its own done
// channel, error and cause, maybe a deadline and the timer that enforces
// it), or a detached node (without_cancel: its parent's values, nothing
// else). An after_func registration is a node too, never seen as a context:
// it holds f and is cancelled like a child, which starts f.
//
// Invariants and locks:
//   - A cancel node is registered in the `children` of its nearest cancel
//     ancestor while both are live and neither is cancelled. Children are
//     held weakly: a child's life is its users' business; it keeps its
//     parent alive (shared_ptr), never the other way round. The search for
//     that ancestor stops at a detached node, so nothing below one is ever
//     cancelled from above it.
//   - An after_func node is registered in its ancestor's `after_funcs`,
//     held strongly (nobody else need keep it: Go's stop func may be
//     dropped), and holds no parent, so a never-cancelled ancestor that
//     everyone drops frees it, and f, with itself.
//   - `lock` guards err, cause, children, after_funcs, the deadline timer,
//     and an after_func node's f and after_claimed. Once err is set it
//     never changes, nor does cause (never null then), done is closed, and
//     children and after_funcs are empty: a child that registers afterwards
//     is cancelled at once by propagate(), with the ancestor's err and cause.
//   - after_claimed goes true once, under lock, by whichever comes first:
//     the cancellation (which takes f to start it) or stop() (which drops
//     f). So f starts at most once, and only if stop() returned false.
//   - cancel() locks one node at a time: it takes the children out under
//     the node's lock and cancels each after releasing it, so parent and
//     child locks are never held together. Registrations are dropped, and
//     after_funcs started, only with no lock held: either may run arbitrary
//     code (f's captures' destructors, the scheduler).

#include <goro/context.hpp>

#include <exception>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <goro/time.hpp>

namespace goro {

namespace {

class context_error_category : public std::error_category {
public:
    const char* name() const noexcept override { return "goro.context"; }
    std::string message(int code) const override {
        switch (static_cast<context_errc>(code)) {
            case context_errc::canceled: return "context canceled";
            case context_errc::deadline_exceeded: return "context deadline exceeded";
        }
        return "unknown context error";
    }
    // context.DeadlineExceeded is a timeout, as std::errc::timed_out is.
    bool equivalent(int code, const std::error_condition& condition) const noexcept override {
        if (static_cast<context_errc>(code) == context_errc::deadline_exceeded)
            return condition == std::errc::timed_out;
        return default_error_condition(code) == condition;
    }
};

}  // namespace

const std::error_category& context_category() noexcept {
    static const context_error_category category;
    return category;
}

namespace {

// The cause of a cancellation that gave none: Go's Cause returns Err()
// then. One shared exception per error, made once: cancelling allocates
// nothing for it, and every such cause compares equal to itself.
const std::exception_ptr& plain_cause(std::error_code why) {
    static const std::exception_ptr canceled =
        std::make_exception_ptr(std::system_error(make_error_code(context_errc::canceled)));
    static const std::exception_ptr deadline_exceeded =
        std::make_exception_ptr(std::system_error(make_error_code(context_errc::deadline_exceeded)));
    return why == context_errc::deadline_exceeded ? deadline_exceeded : canceled;
}

}  // namespace

namespace detail {

struct context_node : std::enable_shared_from_this<context_node> {
    enum class kind { root, value, cancel, detached, after_func };

    explicit context_node(kind k) : node_kind(k) {}
    ~context_node() {
        if (node_kind == kind::cancel) {
            if (deadline_timer) deadline_timer->stop();  // an AfterFunc outlives its object otherwise
            if (auto registry = registered_in.lock()) {
                std::lock_guard<std::mutex> g(registry->lock);
                registry->children.erase(this);
            }
        }
        // Release a chain of ancestors iteratively: a context rewrapped in a
        // loop (ctx = with_cancel(ctx)) may be thousands deep, and the
        // recursive destruction would overflow a fiber's stack. Holding the
        // next ancestor before dropping the current one keeps every nested
        // destructor from recursing further. use_count is only a hint: if
        // another owner appears, dropping our reference destroys nothing.
        std::shared_ptr<context_node> up = std::move(parent);
        while (up && up.use_count() == 1) {
            std::shared_ptr<context_node> next = up->parent;
            up.reset();
            up = std::move(next);
        }
    }

    const kind node_kind;
    std::shared_ptr<context_node> parent;  // set at creation, then only read (and released by the destructor)

    // value nodes
    const void* key = nullptr;
    std::shared_ptr<const void> value;

    // cancel nodes (registered_in, lock, err and cause serve after_func nodes too)
    std::optional<time_point> own_deadline;
    chan<std::monostate> done_channel;            // made at creation, closed on cancel
    std::weak_ptr<context_node> registered_in;    // the cancel ancestor we are a child of; set at creation
    std::mutex lock;
    std::error_code err;                                                      // guarded by lock
    std::exception_ptr cause;                                                 // guarded by lock; set with err
    std::unordered_map<context_node*, std::weak_ptr<context_node>> children;    // guarded by lock
    std::unordered_map<context_node*, std::shared_ptr<context_node>> after_funcs;  // guarded by lock
    std::optional<goro::timer> deadline_timer;                                // guarded by lock

    // after_func nodes
    std::function<void()> after;  // guarded by lock; taken when claimed
    bool after_claimed = false;   // guarded by lock

    context_node(kind k, std::shared_ptr<context_node> p) : node_kind(k), parent(std::move(p)) {}

    // The cancel node whose done and err this node reports, or null.
    const context_node* canceller() const noexcept {
        const context_node* n = this;
        while (n && n->node_kind == kind::value) n = n->parent.get();
        return n && n->node_kind == kind::cancel ? n : nullptr;
    }
    context_node* canceller() noexcept {
        return const_cast<context_node*>(static_cast<const context_node*>(this)->canceller());
    }

    // Cancels this node and every descendant, iteratively (a chain of
    // contexts may be thousands deep), all with one err and cause (a null
    // cause is the plain one for why), then starts the after_funcs that
    // cancelling claimed.
    void cancel(bool remove_from_parent, std::error_code why, std::exception_ptr why_cause) {
        if (!why_cause) why_cause = plain_cause(why);
        std::vector<std::shared_ptr<context_node>> pending;
        std::vector<std::function<void()>> to_start;
        cancel_one(why, why_cause, pending, to_start);
        while (!pending.empty()) {
            std::shared_ptr<context_node> child = std::move(pending.back());
            pending.pop_back();
            child->cancel_one(why, why_cause, pending, to_start);
        }
        if (remove_from_parent) leave_registry();
        for (std::function<void()>& f : to_start)
            go(spawn_options{.stack_size = 0, .name = "after_func"}, std::move(f));
    }

    // Cancels this node alone, hands its live children to `pending` and, for
    // an after_func node not stopped yet, its f to `to_start`.
    void cancel_one(std::error_code why, const std::exception_ptr& why_cause,
                    std::vector<std::shared_ptr<context_node>>& pending,
                    std::vector<std::function<void()>>& to_start) {
        std::unordered_map<context_node*, std::weak_ptr<context_node>> orphans;
        std::unordered_map<context_node*, std::shared_ptr<context_node>> hooks;
        std::optional<goro::timer> timer;
        {
            std::lock_guard<std::mutex> g(lock);
            if (err) return;  // cancelled already
            err = why;
            cause = why_cause;
            if (done_channel) done_channel.close();  // an after_func node has none
            orphans.swap(children);
            hooks.swap(after_funcs);
            timer.swap(deadline_timer);
            if (node_kind == kind::after_func && !after_claimed) {
                after_claimed = true;
                to_start.push_back(std::move(after));
            }
        }
        if (timer) timer->stop();
        for (auto& [raw, weak] : orphans)
            if (auto child = weak.lock()) pending.push_back(std::move(child));
        for (auto& [raw, hook] : hooks) pending.push_back(std::move(hook));
    }

    // Leaves the ancestor's registry (a cancelled or stopped node needs no
    // news from it).
    void leave_registry() {
        std::shared_ptr<context_node> registry = registered_in.lock();
        if (!registry) return;
        std::shared_ptr<context_node> held;  // dropped after the lock: its f's captures may run anything
        {
            std::lock_guard<std::mutex> g(registry->lock);
            if (node_kind == kind::after_func) {
                if (auto it = registry->after_funcs.find(this); it != registry->after_funcs.end()) {
                    held = std::move(it->second);
                    registry->after_funcs.erase(it);
                }
            } else {
                registry->children.erase(this);
            }
        }
    }

    // Go's propagateCancel: tie this new node to the nearest cancel ancestor
    // of `above` (its parent, or an after_func's context), or cancel it at
    // once if that ancestor is already done.
    void propagate(context_node* above) {
        context_node* ancestor = above ? above->canceller() : nullptr;
        if (!ancestor) return;  // the parent can never be cancelled
        std::error_code inherited;
        std::exception_ptr inherited_cause;
        {
            std::lock_guard<std::mutex> g(ancestor->lock);
            if (ancestor->err) {
                inherited = ancestor->err;
                inherited_cause = ancestor->cause;
            } else {
                if (node_kind == kind::after_func) {
                    ancestor->after_funcs.emplace(this, shared_from_this());
                } else {
                    ancestor->children.emplace(this, weak_from_this());
                }
                registered_in = ancestor->weak_from_this();
            }
        }
        if (inherited) cancel(false, inherited, std::move(inherited_cause));
    }
};

namespace {

const std::shared_ptr<context_node>& background_node() {
    static const auto node = std::make_shared<context_node>(context_node::kind::root);
    return node;
}

const std::shared_ptr<context_node>& todo_node() {
    static const auto node = std::make_shared<context_node>(context_node::kind::root);
    return node;
}

}  // namespace

}  // namespace detail

context::context() : node_(detail::background_node()) {}

chan<std::monostate> context::done() const {
    const detail::context_node* c = node_->canceller();
    return c ? c->done_channel : chan<std::monostate>{};
}

std::error_code context::err() const {
    detail::context_node* c = node_->canceller();
    if (!c) return {};
    std::lock_guard<std::mutex> g(c->lock);
    return c->err;
}

std::optional<time_point> context::deadline() const {
    for (const detail::context_node* n = node_.get(); n; n = n->parent.get()) {
        if (n->own_deadline) return n->own_deadline;
        if (n->node_kind == detail::context_node::kind::detached) break;  // without_cancel hides the rest
    }
    return std::nullopt;
}

const void* context::find_value(const void* key) const {
    for (const detail::context_node* n = node_.get(); n; n = n->parent.get())
        if (n->node_kind == detail::context_node::kind::value && n->key == key) return n->value.get();
    return nullptr;
}

context context::make_value(const context& parent, const void* key, std::shared_ptr<const void> value) {
    auto node = std::make_shared<detail::context_node>(detail::context_node::kind::value, parent.node_);
    node->key = key;
    node->value = std::move(value);
    return context(std::move(node));
}

void cancel_func::operator()() const {
    if (node_) node_->cancel(true, make_error_code(context_errc::canceled), nullptr);
}

void cancel_cause_func::operator()(std::exception_ptr cause) const {
    if (node_) node_->cancel(true, make_error_code(context_errc::canceled), std::move(cause));
}

bool after_func_stop::operator()() const {
    if (!node_) return false;
    std::function<void()> f;  // destroyed after the lock: its captures may run anything
    {
        std::lock_guard<std::mutex> g(node_->lock);
        if (node_->after_claimed) return false;
        node_->after_claimed = true;
        f.swap(node_->after);
    }
    node_->leave_registry();
    return true;
}

context background() { return context(); }

context todo() { return context(detail::todo_node()); }

std::pair<context, cancel_func> with_cancel(const context& parent) {
    auto node = std::make_shared<detail::context_node>(detail::context_node::kind::cancel, parent.node_);
    node->done_channel = make_chan<std::monostate>();
    node->propagate(node->parent.get());
    return {context(node), cancel_func(node)};
}

std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent) {
    auto node = std::make_shared<detail::context_node>(detail::context_node::kind::cancel, parent.node_);
    node->done_channel = make_chan<std::monostate>();
    node->propagate(node->parent.get());
    return {context(node), cancel_cause_func(node)};
}

std::exception_ptr cause(const context& ctx) {
    detail::context_node* c = ctx.node_->canceller();
    if (!c) return nullptr;
    std::lock_guard<std::mutex> g(c->lock);
    return c->cause;
}

std::pair<context, cancel_func> with_deadline(const context& parent, time_point deadline) {
    return with_deadline_cause(parent, deadline, nullptr);
}

std::pair<context, cancel_func> with_deadline_cause(const context& parent, time_point deadline,
                                                    std::exception_ptr cause) {
    if (auto current = parent.deadline(); current && *current <= deadline) {
        return with_cancel(parent);  // the parent's deadline comes first and is enforced already, with its cause
    }
    auto node = std::make_shared<detail::context_node>(detail::context_node::kind::cancel, parent.node_);
    node->done_channel = make_chan<std::monostate>();
    node->own_deadline = deadline;
    node->propagate(node->parent.get());
    const time_point now{std::chrono::nanoseconds(detail::steady_now_ns())};  // virtual in a bubble
    if (deadline <= now) {
        node->cancel(true, make_error_code(context_errc::deadline_exceeded), std::move(cause));
        return {context(node), cancel_func(node)};
    }
    {
        std::lock_guard<std::mutex> g(node->lock);
        if (!node->err) {
            std::weak_ptr<detail::context_node> weak = node;
            node->deadline_timer.emplace(goro::after_func(deadline - now, [weak, cause = std::move(cause)] {
                if (auto n = weak.lock()) n->cancel(true, make_error_code(context_errc::deadline_exceeded), cause);
            }));
        }
    }
    return {context(node), cancel_func(node)};
}

context without_cancel(const context& parent) {
    return context(std::make_shared<detail::context_node>(detail::context_node::kind::detached, parent.node_));
}

after_func_stop after_func(const context& ctx, std::function<void()> f) {
    auto node = std::make_shared<detail::context_node>(detail::context_node::kind::after_func);
    node->after = std::move(f);
    node->propagate(ctx.node_.get());  // may start f at once, if ctx is done
    return after_func_stop(std::move(node));
}

}  // namespace goro
