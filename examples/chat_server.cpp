// chat_server: the chat server of "The Go Programming Language" (§8.10) on
// goro. Everyone connected sees every line anyone types, prefixed with the
// typist's address, and hears who arrives and who leaves.
//
//   chat_server [--listen HOST:PORT] [--write-timeout DURATION]
//       --listen: default 127.0.0.1:8000; port 0 picks a free port
//       --write-timeout: how long a write to a client may take before the
//         client counts as slow and is disconnected (default 5s; 0s for none,
//         and then a client that stops reading holds the others up for good
//         once max_pending_bytes wait for it)
//   nc 127.0.0.1 8000                    in two or three terminals; type lines
//
// The shape is the book's: one broadcaster fiber owns the set of clients and
// selects over three channels — entering, leaving and messages — so the set
// needs no lock. Each connection has a handler fiber that reads lines and a
// writer fiber that writes what the broadcaster leaves in the client's
// mailbox. One change: the broadcaster itself announces "<addr> has arrived"
// and "<addr> has left" as it adds and removes a client, so whoever has seen
// an arrival knows the newcomer will see the next message.
//
// A slow client must not hold up the others, so the broadcaster does not
// wait for a client's writes. A client's mailbox is a channel of capacity one that holds,
// as one string, every line its writer has not taken yet: the broadcaster
// takes that string out, appends to it and puts it back, and the writer takes
// all of it for its next write. A writer that has not run for a while (in a
// burst, hundreds of fibers may be runnable ahead of it) just writes more at
// once.
//
// A client is slow, as Go servers judge it, when a write to it does not
// complete within the write timeout: it does not read, and its socket's
// buffers are full. It is then DISCONNECTED, rather than silently missing
// lines. So is a client that pours lines in faster than it reads them back:
// everyone, the sender included, receives every line. Memory stays bounded
// too: once max_pending_bytes (1 MiB) wait for one client, the broadcaster
// waits until that client's writer takes them, which the write timeout
// bounds. So a flood goes at the pace of the slowest client that reads, and
// a client that has stopped reading holds the others up for at most the
// write timeout, and only if that much waits for it.
//
// Nothing closes a connection under its handler: the writer disconnects a
// client by shutting its connection down, which lets the handler read what
// the client sent before, acknowledged by the kernel, and then see the end.
// The handler owns the close.
//
// The first line of stdout is the bound address. SIGINT or SIGTERM closes the
// listener and every open connection, waits for their fibers, stops the
// broadcaster, and exits 0. The listening and the shutdown, shared by the
// example servers, are in server.hpp.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <goro/goro.hpp>

#include "server.hpp"  // the listen / accept / shut-down skeleton the example servers share

using namespace std::chrono_literals;

namespace {

std::chrono::nanoseconds write_timeout = 5s;             // --write-timeout
constexpr std::size_t max_pending_bytes = 1024 * 1024;  // waiting for one client
constexpr std::size_t max_line_bytes = 4096;            // a longer line is passed on in pieces

// A client as the broadcaster sees it.
struct client {
    std::string name;                 // its address, "127.0.0.1:51234"
    goro::chan<std::string> mailbox;  // capacity 1; read by its writer fiber; identifies it
};

// Leaves a line in a client's mailbox. Waits only when max_pending_bytes
// already wait there: until the client's writer has taken them.
void post(goro::chan<std::string>& mailbox, std::string_view line) {
    std::string pending = mailbox.try_recv().value_or(std::string());
    if (!pending.empty() && pending.size() + line.size() + 1 > max_pending_bytes) {
        // Full: put it back, and wait for the writer to take it (it does
        // once its current write has ended, which takes at most
        // write_timeout) to leave the line as the start of the next batch.
        mailbox.try_send(std::move(pending));
        mailbox.send(std::string(line) + '\n');
        return;
    }
    pending += line;
    pending += '\n';
    // The broadcaster is the only sender and it has just emptied the slot,
    // so this succeeds (handing the string straight to a waiting writer).
    mailbox.try_send(std::move(pending));
}

struct chat_channels {
    goro::chan<client> entering = goro::make_chan<client>();
    goro::chan<client> leaving = goro::make_chan<client>();
    goro::chan<std::string> messages = goro::make_chan<std::string>();  // closed at shutdown
};

void broadcaster(chat_channels chat) {
    std::vector<client> clients;
    auto broadcast = [&](const std::string& text) {
        for (client& c : clients) post(c.mailbox, text);
    };
    for (;;) {
        client who;
        std::string text;
        bool open = true;
        switch (goro::select(goro::recv(chat.messages, text, open), goro::recv(chat.entering, who),
                             goro::recv(chat.leaving, who))) {
            case 0:
                if (!open) return;  // shutdown: every handler has left already
                broadcast(text);
                break;
            case 1:
                broadcast(who.name + " has arrived");
                clients.push_back(std::move(who));
                break;
            case 2: {
                auto it = std::find_if(clients.begin(), clients.end(),
                                       [&](const client& c) { return c.mailbox == who.mailbox; });
                it->mailbox.close();  // its writer writes what is left, then stops
                clients.erase(it);
                broadcast(who.name + " has left");
                break;
            }
        }
    }
}

// Writes what the broadcaster leaves in the mailbox, each batch in one write
// that must complete within write_timeout, until the broadcaster closes the
// mailbox; then shuts the connection down, so that the client sees the end.
//
// A write that fails (the client does not read and the timeout passed, the
// client has gone, or shutdown closed the conn) disconnects the client the
// same way: shutting the connection down lets the handler read what the
// client sent before and then see the end, whereas closing it would drop
// lines still waiting in the kernel's buffer. Until the broadcaster lets go
// of the client, what comes for it is dropped.
void write_messages(goro::net::conn& c, goro::chan<std::string> mailbox) {
    bool failed = false;
    for (std::string batch : mailbox) {
        if (failed) continue;
        const auto deadline = write_timeout > 0s ? std::chrono::steady_clock::now() +
                                                       std::chrono::duration_cast<goro::net::time_point::duration>(
                                                           write_timeout)
                                                 : goro::net::time_point{};  // 0s: none
        std::error_code ec;
        c.set_write_deadline(deadline, ec);
        if (!ec) c.write(batch, ec);
        if (ec) {
            failed = true;
            c.shutdown(goro::net::shutdown_how::both, ec);  // may fail: already reset or closed
        }
    }
    std::error_code ignored;
    c.shutdown(goro::net::shutdown_how::both, ignored);
}

void handle_connection(goro::net::conn& c, chat_channels& chat) {
    const std::string name = c.remote_address().to_string();
    auto mailbox = goro::make_chan<std::string>(1);
    mailbox.send("You are " + name + "\n");  // the slot is empty: this cannot block
    goro::wait_group writer;
    writer.add(1);
    goro::go([&c, &writer, mailbox] {
        write_messages(c, mailbox);
        writer.done();
    });
    chat.entering.send(client{name, mailbox});

    // Lines end with "\n" (and maybe "\r"); a last line without one counts too.
    char buffer[4096];
    std::string line;
    for (;;) {
        std::error_code ec;
        const std::size_t n = c.read(buffer, sizeof buffer, ec);
        if (ec || n == 0) break;  // EOF, reset, disconnected (shut down), or closed at shutdown
        for (char ch : std::string_view(buffer, n)) {
            if (ch != '\n' && line.size() < max_line_bytes) {
                line += ch;
                continue;
            }
            if (!line.empty() && line.back() == '\r') line.pop_back();
            chat.messages.send(name + ": " + line);
            line.clear();
            if (ch != '\n') line += ch;
        }
    }
    if (!line.empty()) chat.messages.send(name + ": " + line);

    chat.leaving.send(client{name, mailbox});
    // The writer writes what is left for this client (within write_timeout)
    // and stops; it uses c, which our caller closes once we return.
    writer.wait();
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:8000";
    if (!example::parse_flags(argc, argv, listen_address, {{"write-timeout", &write_timeout}})) return 2;

    return goro::run([&] {
        chat_channels chat;
        goro::wait_group broadcaster_done;
        broadcaster_done.add(1);
        goro::go([&] {
            broadcaster(chat);
            broadcaster_done.done();
        });

        const int status = example::serve_until_signal("chat_server", listen_address,
                                                       [&chat](goro::net::conn& c) { handle_connection(c, chat); });

        // Every handler says goodbye through the broadcaster, so it has run
        // until they were all gone; now closing messages stops it.
        chat.messages.close();
        broadcaster_done.wait();
        return status;
    });
}
