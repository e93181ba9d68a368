// rak_cpp_pair: a server and a client in one process, through a small C++17 RAII
// wrapper over the C API. Proves the header is comfortable from C++.
//
//   rak_cpp_pair [--count N]
//
// The client sends N reliable ordered messages; the server echoes each; the client
// checks the echoes and disconnects. Exit status 0 on success.

#include <raknet.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rak {

// Thrown for any rak_result other than RAK_RESULT_OK.
class Error : public std::runtime_error {
public:
    Error(const char *what, rak_result code)
        : std::runtime_error(std::string(what) + ": " + rak_result_str(code)), code_(code)
    {
    }
    rak_result code() const noexcept { return code_; }

private:
    rak_result code_;
};

inline void check(const char *what, rak_result r)
{
    if (r != RAK_RESULT_OK) {
        throw Error(what, r);
    }
}

// A received message; released when the last owner goes away.
struct MessageRelease {
    void operator()(rak_message *m) const noexcept { rak_message_release(m); }
};
using Message = std::unique_ptr<rak_message, MessageRelease>;

inline std::vector<std::uint8_t> bytes(const Message &m)
{
    const std::uint8_t *p = rak_message_data(m.get());
    return std::vector<std::uint8_t>(p, p + rak_message_len(m.get()));
}

// An event with its message owned.
struct Event {
    rak_event raw;
    Message message;
};

class Config {
public:
    Config() { check("rak_config_create", rak_config_create(&cfg_)); }
    ~Config() { rak_config_destroy(cfg_); }
    Config(const Config &) = delete;
    Config &operator=(const Config &) = delete;

    Config &bind(const char *host, std::uint16_t port)
    {
        check("rak_config_set_bind", rak_config_set_bind(cfg_, host, port));
        return *this;
    }
    Config &max_incoming(std::uint32_t n)
    {
        check("rak_config_set_max_incoming", rak_config_set_max_incoming(cfg_, n));
        return *this;
    }
    const rak_config *get() const noexcept { return cfg_; }

private:
    rak_config *cfg_ = nullptr;
};

// Owns a rak_peer; movable, not copyable. The destructor shuts the peer down.
class Peer {
public:
    explicit Peer(const Config &config) { check("rak_peer_create", rak_peer_create(config.get(), &peer_)); }
    ~Peer() { rak_peer_destroy(peer_); }
    Peer(Peer &&other) noexcept : peer_(std::exchange(other.peer_, nullptr)) {}
    Peer &operator=(Peer &&other) noexcept
    {
        if (this != &other) {
            rak_peer_destroy(peer_);
            peer_ = std::exchange(other.peer_, nullptr);
        }
        return *this;
    }
    Peer(const Peer &) = delete;
    Peer &operator=(const Peer &) = delete;

    std::uint16_t port() const
    {
        std::uint16_t p = 0;
        check("rak_peer_local_port", rak_peer_local_port(peer_, &p));
        return p;
    }

    rak_conn connect(const char *host, std::uint16_t port)
    {
        rak_conn c{};
        check("rak_peer_connect", rak_peer_connect(peer_, host, port, nullptr, 0, &c));
        return c;
    }

    void send(rak_conn c, const std::vector<std::uint8_t> &data,
              rak_reliability reliability = RAK_RELIABILITY_RELIABLE_ORDERED, std::uint32_t channel = 0)
    {
        const rak_send_options opts{reliability, RAK_PRIORITY_HIGH, channel};
        check("rak_peer_send", rak_peer_send(peer_, c, data.data(), data.size(), &opts, nullptr));
    }

    void close(rak_conn c) { check("rak_peer_close", rak_peer_close(peer_, c, true)); }

    // The next event, waiting up to `timeout`.
    std::optional<Event> next(std::chrono::milliseconds timeout)
    {
        rak_event ev{};
        std::size_t n = 0;
        check("rak_peer_wait", rak_peer_wait(peer_, &ev, 1, static_cast<std::uint32_t>(timeout.count()), &n));
        if (n == 0) {
            return std::nullopt;
        }
        return Event{ev, Message(ev.message)};
    }

    // Waits (up to ~10 s) for an event of `kind`, dropping others.
    Event expect(rak_event_kind kind)
    {
        for (int i = 0; i < 200; i++) {
            if (auto ev = next(std::chrono::milliseconds(50)); ev && ev->raw.kind == kind) {
                return std::move(*ev);
            }
        }
        throw std::runtime_error("expected event did not arrive");
    }

private:
    rak_peer *peer_ = nullptr;
};

} // namespace rak

int main(int argc, char **argv)
{
    std::uint32_t count = 20;
    if (argc == 3 && std::strcmp(argv[1], "--count") == 0) {
        count = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10));
    }
    if (rak_abi_version() != RAK_ABI_VERSION) {
        std::cerr << "ABI mismatch\n";
        return 2;
    }
    try {
        rak::Config server_cfg;
        server_cfg.bind("127.0.0.1", 0).max_incoming(1);
        rak::Peer server(server_cfg);
        rak::Config client_cfg;
        client_cfg.bind("127.0.0.1", 0);
        rak::Peer client(client_cfg);

        rak_conn to_server = client.connect("127.0.0.1", server.port());
        client.expect(RAK_EVENT_KIND_CONNECTED);
        rak_conn to_client = server.expect(RAK_EVENT_KIND_CONNECTED).raw.conn;
        std::cout << "connected (libraknet " << rak_version_string() << ")\n";

        for (std::uint32_t i = 0; i < count; i++) {
            std::vector<std::uint8_t> msg{134, std::uint8_t(i >> 24), std::uint8_t(i >> 16),
                                          std::uint8_t(i >> 8), std::uint8_t(i)};
            msg.resize(32, std::uint8_t(i));
            client.send(to_server, msg);
            rak::Event got = server.expect(RAK_EVENT_KIND_MESSAGE);
            server.send(to_client, rak::bytes(got.message), RAK_RELIABILITY_RELIABLE_ORDERED, got.raw.channel);
            rak::Event echo = client.expect(RAK_EVENT_KIND_MESSAGE);
            if (rak::bytes(echo.message) != msg) {
                std::cerr << "echo " << i << " differs\n";
                return 1;
            }
        }
        std::cout << "echoed " << count << " messages\n";
        client.close(to_server);
        server.expect(RAK_EVENT_KIND_DISCONNECTED);
        std::cout << "disconnected\n";
    } catch (const std::exception &e) {
        std::cerr << "rak_cpp_pair: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
