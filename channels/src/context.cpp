// channels/src/context.cpp — the context tree (Go's context package).
//
// A context is a node: the background root, a value node (one key and
// value, everything else from its parent), or a cancel node (its own done
// channel and error, maybe a deadline and the timer that enforces it).
//
// Invariants and locks:
//   - A cancel node is registered in the `children` of its nearest cancel
//     ancestor while both are live and neither is cancelled. Children are
//     held weakly: a child's life is its users' business; it keeps its
//     parent alive (shared_ptr), never the other way round.
//   - `lock` guards err, children and the deadline timer. Once err is set it
//     never changes, done is closed, and children is empty: a child that
//     registers afterwards is cancelled at once by propagate().
//   - cancel() locks one node at a time: it takes the children out under
//     the node's lock and cancels each after releasing it, so parent and
//     child locks are never held together.

#include <goro/context.hpp>

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

namespace detail {

struct context_node : std::enable_shared_from_this<context_node> {
    enum class kind { root, value, cancel };

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

    // cancel nodes
    std::optional<time_point> own_deadline;
    chan<std::monostate> done_channel;            // made at creation, closed on cancel
    std::weak_ptr<context_node> registered_in;    // the cancel ancestor we are a child of
    std::mutex lock;
    std::error_code err;                                                    // guarded by lock
    std::unordered_map<context_node*, std::weak_ptr<context_node>> children;  // guarded by lock
    std::optional<goro::timer> deadline_timer;                              // guarded by lock

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
    // contexts may be thousands deep).
    void cancel(bool remove_from_parent, std::error_code why) {
        std::vector<std::shared_ptr<context_node>> pending;
        cancel_one(why, pending);
        while (!pending.empty()) {
            std::shared_ptr<context_node> child = std::move(pending.back());
            pending.pop_back();
            child->cancel_one(why, pending);
        }
        if (remove_from_parent) {
            if (auto registry = registered_in.lock()) {
                std::lock_guard<std::mutex> g(registry->lock);
                registry->children.erase(this);
            }
        }
    }

    // Cancels this node alone and hands its live children to `pending`.
    void cancel_one(std::error_code why, std::vector<std::shared_ptr<context_node>>& pending) {
        std::unordered_map<context_node*, std::weak_ptr<context_node>> orphans;
        std::optional<goro::timer> timer;
        {
            std::lock_guard<std::mutex> g(lock);
            if (err) return;  // cancelled already
            err = why;
            done_channel.close();
            orphans.swap(children);
            timer.swap(deadline_timer);
        }
        if (timer) timer->stop();
        for (auto& [raw, weak] : orphans)
            if (auto child = weak.lock()) pending.push_back(std::move(child));
    }

    // Go's propagateCancel: tie this new cancel node to its nearest cancel
    // ancestor, or cancel it at once if that ancestor is already done.
    void propagate() {
        context_node* ancestor = parent ? parent->canceller() : nullptr;
        if (!ancestor) return;  // the parent can never be cancelled
        std::error_code inherited;
        {
            std::lock_guard<std::mutex> g(ancestor->lock);
            if (ancestor->err) {
                inherited = ancestor->err;
            } else {
                ancestor->children.emplace(this, weak_from_this());
                registered_in = ancestor->weak_from_this();
            }
        }
        if (inherited) cancel(false, inherited);
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
    for (const detail::context_node* n = node_.get(); n; n = n->parent.get())
        if (n->own_deadline) return n->own_deadline;
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
    if (node_) node_->cancel(true, make_error_code(context_errc::canceled));
}

context background() { return context(); }

context todo() { return context(detail::todo_node()); }

std::pair<context, cancel_func> with_cancel(const context& parent) {
    auto node = std::make_shared<detail::context_node>(detail::context_node::kind::cancel, parent.node_);
    node->done_channel = make_chan<std::monostate>();
    node->propagate();
    return {context(node), cancel_func(node)};
}

std::pair<context, cancel_func> with_deadline(const context& parent, time_point deadline) {
    if (auto current = parent.deadline(); current && *current <= deadline) {
        return with_cancel(parent);  // the parent's deadline comes first and is enforced already
    }
    auto node = std::make_shared<detail::context_node>(detail::context_node::kind::cancel, parent.node_);
    node->done_channel = make_chan<std::monostate>();
    node->own_deadline = deadline;
    node->propagate();
    const time_point now = std::chrono::steady_clock::now();
    if (deadline <= now) {
        node->cancel(true, make_error_code(context_errc::deadline_exceeded));
        return {context(node), cancel_func(node)};
    }
    {
        std::lock_guard<std::mutex> g(node->lock);
        if (!node->err) {
            std::weak_ptr<detail::context_node> weak = node;
            node->deadline_timer.emplace(goro::after_func(deadline - now, [weak] {
                if (auto n = weak.lock()) n->cancel(true, make_error_code(context_errc::deadline_exceeded));
            }));
        }
    }
    return {context(node), cancel_func(node)};
}

}  // namespace goro
