// chat_server: the chat server of "The Go Programming Language" (§8.10) on
// goro. Everyone connected sees every line anyone types, prefixed with the
// typist's address, and hears who arrives and who leaves.
//
//   chat_server [--listen HOST:PORT]     default 127.0.0.1:8000; port 0 picks a free port
//   nc 127.0.0.1 8000                    in two or three terminals; type lines
//
// The shape is the book's: one broadcaster fiber owns the set of clients and
// selects over three channels — entering, leaving and messages — so the set
// needs no lock. Each connection has a handler fiber that reads lines and a
// writer fiber that writes what arrives on the client's own outgoing channel.
// One change: the broadcaster itself announces "<addr> has arrived" and
// "<addr> has left" as it adds and removes a client, so whoever has seen an
// arrival knows the newcomer will see the next message.
//
// A slow client must not hold up the others, so the broadcaster never blocks
// on one: each outgoing channel has a buffer (outgoing_capacity messages) and
// the broadcaster only try_sends. A client whose buffer is full has stopped
// reading; it is DISCONNECTED (channel and connection closed) rather than
// silently missing lines. So is a client that pours lines in faster than it
// reads them back: everyone, the sender included, receives every line.
//
// The first line of stdout is the bound address. SIGINT or SIGTERM closes the
// listener and every open connection, waits for their fibers, stops the
// broadcaster, and exits 0. The listening and the shutdown, shared by the
// example servers, are in server.hpp.
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <goro/goro.hpp>

#include "server.hpp"  // the listen / accept / shut-down skeleton the example servers share

namespace {

constexpr std::size_t outgoing_capacity = 256;  // messages queued for one client
constexpr std::size_t max_line_bytes = 4096;    // a longer line is passed on in pieces

// A client as the broadcaster sees it.
struct client {
    std::string name;                  // its address, "127.0.0.1:51234"
    goro::chan<std::string> outgoing;  // read by its writer fiber; identifies it
    goro::net::conn* connection = nullptr;  // valid until the broadcaster has taken its leaving
};

struct chat_channels {
    goro::chan<client> entering = goro::make_chan<client>();
    goro::chan<client> leaving = goro::make_chan<client>();
    goro::chan<std::string> messages = goro::make_chan<std::string>();  // closed at shutdown
};

void broadcaster(chat_channels chat) {
    std::vector<client> clients;
    auto broadcast = [&](const std::string& text) {
        for (auto it = clients.begin(); it != clients.end();) {
            if (it->outgoing.try_send(text)) {
                ++it;
                continue;
            }
            // Its buffer is full: disconnect it. Shutting the connection
            // down (not closing it) lets its handler read what the client
            // sent before, then see the end and send it on leaving, as for
            // any departure.
            it->outgoing.close();
            std::error_code ignored;
            it->connection->shutdown(goro::net::shutdown_how::both, ignored);
            it = clients.erase(it);
        }
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
                                       [&](const client& c) { return c.outgoing == who.outgoing; });
                if (it != clients.end()) {  // not there if it was disconnected for being slow
                    it->outgoing.close();
                    clients.erase(it);
                }
                broadcast(who.name + " has left");
                break;
            }
        }
    }
}

// Writes each message on its own line. Whatever else is queued by then goes
// out in the same write, so a burst costs one system call, not one per line.
//
// A write that fails (the client has gone, or shutdown closed the conn) does
// not close the connection: the client's last lines may still wait in the
// kernel's receive buffer, acknowledged, and the handler must read them. The
// writer shuts the connection down instead, which lets the handler read what
// is buffered and then see the end, and drops whatever else comes its way
// until the broadcaster closes the channel.
void write_messages(goro::net::conn& c, goro::chan<std::string> outgoing) {
    std::string batch;
    bool failed = false;
    for (std::string message : outgoing) {  // until the broadcaster closes it
        if (failed) continue;
        batch = std::move(message);
        batch += '\n';
        while (auto more = outgoing.try_recv()) {
            batch += *more;
            batch += '\n';
        }
        std::error_code ec;
        c.write(batch, ec);
        if (ec) {
            failed = true;
            c.shutdown(goro::net::shutdown_how::both, ec);  // may fail: already reset or closed
        }
    }
}

void handle_connection(goro::net::conn& c, chat_channels& chat) {
    const std::string name = c.remote_address().to_string();
    auto outgoing = goro::make_chan<std::string>(outgoing_capacity);
    goro::wait_group writer;
    writer.add(1);
    goro::go([&c, &writer, outgoing] {
        write_messages(c, outgoing);
        writer.done();
    });

    outgoing.send("You are " + name);  // the buffer is empty: this cannot block
    chat.entering.send(client{name, outgoing, &c});

    // Lines end with "\n" (and maybe "\r"); a last line without one counts too.
    char buffer[4096];
    std::string line;
    for (;;) {
        std::error_code ec;
        const std::size_t n = c.read(buffer, sizeof buffer, ec);
        if (ec || n == 0) break;  // EOF, reset, shut down by the writer or as slow, or closed at shutdown
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

    chat.leaving.send(client{name, outgoing, &c});  // after this, the broadcaster forgets &c
    std::error_code ignored;
    c.close(ignored);  // the handler owns the close; it unblocks a writer stuck on a client that does not read
    writer.wait();     // it uses c, which dies with this frame's caller
}

}  // namespace

int main(int argc, char** argv) {
    std::string listen_address = "127.0.0.1:8000";
    if (!example::parse_flags(argc, argv, listen_address)) return 2;

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
