// Tests of common/curve.h: key files (round trip, every truncation, mismatched keys), allow-lists,
// flag checking per role, ZAP decisions, and real CURVE sockets over loopback TCP with the ZAP
// handler: an allowed client gets through, an unknown key and a plain client do not.
#include "common/curve.h"

#include <sys/stat.h>
#include <zmq.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>
#include <zmq_addon.hpp>

#include "common/atomic_file.h"
#include "common/log.h"
#include "tests/log_capture.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace qlir;
using namespace qlir::curve;
using qlir::testing::LogCapture;
using qlir::testing::ScratchDir;

namespace {

void Write(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

}  // namespace

TEST_CASE("key pairs are saved in zcert files and loaded back", "[curve]") {
  ScratchDir dir;
  auto keys = GenerateKeyPair();
  REQUIRE(keys.ok());
  CHECK(IsZ85Key(keys->public_key));
  CHECK(IsZ85Key(keys->secret_key));
  REQUIRE(SaveKeyPair(*keys, dir.path() / "keys", "fetch-a").ok());

  struct stat st;
  REQUIRE(::stat((dir.path() / "keys" / "fetch-a.key_secret").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = LoadSecretKeyFile(dir.path() / "keys" / "fetch-a.key_secret");
  REQUIRE(loaded.ok());
  CHECK(loaded->public_key == keys->public_key);
  CHECK(loaded->secret_key == keys->secret_key);
  auto pub = LoadPublicKeyFile(dir.path() / "keys" / "fetch-a.key");
  REQUIRE(pub.ok());
  CHECK(*pub == keys->public_key);
  // The public file holds no secret.
  CHECK(ReadFile(dir.path() / "keys" / "fetch-a.key")->find(keys->secret_key) == std::string::npos);

  // Never overwritten, and no temporaries left behind.
  auto other = GenerateKeyPair();
  Status again = SaveKeyPair(*other, dir.path() / "keys", "fetch-a");
  CHECK_FALSE(again.ok());
  CHECK(again.message().find("already exists") != std::string::npos);
  CHECK(LoadSecretKeyFile(dir.path() / "keys" / "fetch-a.key_secret")->secret_key ==
        keys->secret_key);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "keys")) {
    (void)e;
    ++files;
  }
  CHECK(files == 2);
  CHECK_FALSE(SaveKeyPair(*other, dir.path() / "keys", "../evil").ok());
  CHECK_FALSE(SaveKeyPair(*other, dir.path() / "keys", "").ok());
}

TEST_CASE("every truncation of a secret key file fails cleanly or loads the right keys",
          "[curve]") {
  ScratchDir dir;
  auto keys = GenerateKeyPair();
  REQUIRE(SaveKeyPair(*keys, dir.path(), "k").ok());
  const std::string text = *ReadFile(dir.path() / "k.key_secret");
  for (size_t n = 0; n <= text.size(); ++n) {
    auto r = ParseSecretKeyText(text.substr(0, n), "k");
    if (r.ok()) {
      CHECK(r->secret_key == keys->secret_key);
      CHECK(r->public_key == keys->public_key);
    } else {
      CHECK(r.error().rfind("k:", 0) == 0);  // names the file
    }
  }
  // A public key that is not the secret key's is refused.
  auto other = GenerateKeyPair();
  std::string mixed = text;
  mixed.replace(mixed.find(keys->public_key), 40, other->public_key);
  auto r = ParseSecretKeyText(mixed, "mixed");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("does not belong") != std::string::npos);
  // A public key file is not a secret key file.
  CHECK_FALSE(LoadSecretKeyFile(dir.path() / "k.key").ok());
  // Random bytes never crash the parsers.
  std::string junk;
  for (int i = 0; i < 2000; ++i) junk += static_cast<char>((i * 7919) % 256);
  CHECK_FALSE(ParseSecretKeyText(junk, "junk").ok());
  CHECK_FALSE(ParsePublicKeysText(junk, "junk").ok());
}

TEST_CASE("allow-lists are a directory of .key files or one file of keys", "[curve]") {
  ScratchDir dir;
  auto a = GenerateKeyPair(), b = GenerateKeyPair(), c = GenerateKeyPair();
  const fs::path keys = dir.path() / "keys";
  REQUIRE(SaveKeyPair(*a, keys, "fetch-a").ok());
  REQUIRE(SaveKeyPair(*b, keys, "fetch-b").ok());
  Write(keys / "README", "not a key\n");
  auto list = LoadAllowList(keys);
  REQUIRE(list.ok());
  CHECK(list->size() == 2);
  CHECK(list->at(a->public_key) == "fetch-a");
  CHECK(list->at(b->public_key) == "fetch-b");
  CHECK_FALSE(list->count(a->secret_key));

  // Z85 keys may hold '#' and '=': a bare key starting with '#' is still a key.
  std::string hash_key;
  for (int i = 0; i < 1000 && hash_key.empty(); ++i) {
    auto k = GenerateKeyPair();
    if (k->public_key[0] == '#' && k->public_key.find('=') != std::string::npos) {
      hash_key = k->public_key;
    }
  }
  if (!hash_key.empty()) {
    auto parsed = ParsePublicKeysText("# a comment\n" + hash_key + "\n", "f");
    REQUIRE(parsed.ok());
    CHECK(parsed->size() == 1);
    CHECK(parsed->front() == hash_key);
  }

  // One file: bare keys and public-key lines, comments.
  const fs::path file = dir.path() / "allowed.txt";
  Write(file, "# fetchers\n" + a->public_key + "\npublic-key = \"" + c->public_key + "\"\n");
  list = LoadAllowList(file);
  REQUIRE(list.ok());
  CHECK(list->size() == 2);
  CHECK(list->count(c->public_key));

  // A damaged key file is an error naming it, not a silent skip.
  Write(keys / "typo.key", "curve\n    public-key = \"tooshort\"\n");
  auto bad = LoadAllowList(keys);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().find("typo.key") != std::string::npos);
  CHECK_FALSE(LoadAllowList(dir.path() / "missing").ok());
  fs::create_directories(dir.path() / "empty");
  auto empty = LoadAllowList(dir.path() / "empty");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().find("no NAME.key") != std::string::npos);
}

TEST_CASE("curve flags are checked per role", "[curve]") {
  ScratchDir dir;
  auto server = GenerateKeyPair(), fetcher = GenerateKeyPair();
  REQUIRE(SaveKeyPair(*server, dir.path(), "server").ok());
  REQUIRE(SaveKeyPair(*fetcher, dir.path() / "fetchers", "fetch-a").ok());
  const std::string server_secret = (dir.path() / "server.key_secret").string();
  const std::string server_public = (dir.path() / "server.key").string();
  const std::string fetcher_secret = (dir.path() / "fetchers" / "fetch-a.key_secret").string();
  const std::string allow = (dir.path() / "fetchers").string();

  auto off = LoadSetup(Flags{}, Role::kServer);
  REQUIRE(off.ok());
  CHECK_FALSE(off->has_value());

  auto persister = LoadSetup(Flags{server_secret, "", allow}, Role::kServer);
  REQUIRE(persister.ok());
  REQUIRE(persister->has_value());
  CHECK((*persister)->own.public_key == server->public_key);
  CHECK((*persister)->allowed.count(fetcher->public_key));

  auto planner = LoadSetup(Flags{server_secret, "", allow}, Role::kServerAndClient);
  REQUIRE(planner.ok());
  CHECK((*planner)->server_public == server->public_key);  // the shared data-server pair

  auto fetch = LoadSetup(Flags{fetcher_secret, server_public, ""}, Role::kClient);
  REQUIRE(fetch.ok());
  CHECK((*fetch)->server_public == server->public_key);
  CHECK((*fetch)->own.public_key == fetcher->public_key);

  CHECK_FALSE(LoadSetup(Flags{"", server_public, ""}, Role::kClient).ok());
  CHECK_FALSE(LoadSetup(Flags{fetcher_secret, "", ""}, Role::kClient).ok());
  CHECK_FALSE(LoadSetup(Flags{fetcher_secret, server_public, allow}, Role::kClient).ok());
  CHECK_FALSE(LoadSetup(Flags{server_secret, "", ""}, Role::kServer).ok());
  CHECK_FALSE(LoadSetup(Flags{server_secret, server_public, allow}, Role::kServer).ok());
  // A secret key where a public one is wanted works (it holds the public key); the reverse not.
  CHECK(LoadSetup(Flags{fetcher_secret, server_secret, ""}, Role::kClient).ok());
  CHECK_FALSE(LoadSetup(Flags{server_public, "", allow}, Role::kServer).ok());
}

TEST_CASE("the ZAP policy lets in listed CURVE keys per domain and logs refusals sparingly",
          "[curve]") {
  LogCapture logs;
  ZapPolicy policy(/*log_every_ms=*/1000);
  policy.Allow(kResultsDomain, {{"A", "fetch-a"}});
  policy.Allow(kControlDomain, {{"S", "server"}});

  auto r = policy.Decide({"qlir-results", "10.0.0.2", "CURVE", "A"}, 1);
  CHECK(r.ok);
  CHECK(r.status_code == "200");
  CHECK(r.user_id == "fetch-a");
  CHECK(logs.Contains("accepted fetch-a"));

  CHECK_FALSE(policy.Decide({"qlir-control", "10.0.0.2", "CURVE", "A"}, 2).ok);  // wrong domain
  CHECK_FALSE(policy.Decide({"qlir-other", "10.0.0.2", "CURVE", "A"}, 3).ok);
  CHECK_FALSE(policy.Decide({"qlir-results", "10.0.0.2", "NULL", ""}, 4).ok);
  r = policy.Decide({"qlir-results", "10.0.0.9", "CURVE", "B"}, 5);
  CHECK_FALSE(r.ok);
  CHECK(r.status_code == "400");
  CHECK(logs.Contains("refused key B from 10.0.0.9 on qlir-results"));
  // Retries of the same key within the interval are counted, not logged.
  for (int i = 0; i < 50; ++i) policy.Decide({"qlir-results", "10.0.0.9", "CURVE", "B"}, 10 + i);
  CHECK(logs.Count("refused key B") == 1);
  policy.Decide({"qlir-results", "10.0.0.9", "CURVE", "B"}, 2000);
  CHECK(logs.Count("refused key B") == 2);
  CHECK(logs.Contains("(and 50 times since)"));
  CHECK(policy.accepted() == 1);
  CHECK(policy.refused() == 55);
}

TEST_CASE("CURVE sockets with the ZAP handler let in allowed keys only", "[curve]") {
  LogCapture logs;
  auto server = GenerateKeyPair(), good = GenerateKeyPair(), rogue = GenerateKeyPair();
  zmq::context_t server_ctx;
  ZapPolicy policy;
  policy.Allow(kResultsDomain, {{good->public_key, "good"}});
  auto zap = ZapHandler::Start(&server_ctx, std::move(policy));
  REQUIRE(zap.ok());

  zmq::socket_t pull(server_ctx, zmq::socket_type::pull);
  pull.set(zmq::sockopt::linger, 0);
  REQUIRE(MakeServer(pull, *server, kResultsDomain).ok());
  pull.bind("tcp://127.0.0.1:*");
  const std::string endpoint = pull.get(zmq::sockopt::last_endpoint);
  // Watch the handshakes, so that the test can wait for the refusals instead of sleeping.
  REQUIRE(zmq_socket_monitor(pull.handle(), "inproc://curve-test-monitor",
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0);
  zmq::socket_t monitor(server_ctx, zmq::socket_type::pair);
  monitor.connect("inproc://curve-test-monitor");

  zmq::context_t client_ctx;  // clients as if on another host: no ZAP handler of their own
  auto push = [&](const KeyPair* own) {
    auto s = std::make_unique<zmq::socket_t>(client_ctx, zmq::socket_type::push);
    s->set(zmq::sockopt::linger, 0);
    if (own) REQUIRE(MakeClient(*s, *own, server->public_key).ok());
    s->connect(endpoint);
    return s;
  };
  auto wait_event = [&](int want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t items[] = {{monitor.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      REQUIRE(zmq::recv_multipart(monitor, std::back_inserter(frames)));
      uint16_t event = 0;
      std::memcpy(&event, frames[0].data(), sizeof event);
      if (event & want) return true;
    }
    return false;
  };

  auto rogue_push = push(&*rogue);
  rogue_push->send(zmq::buffer(std::string("from rogue")), zmq::send_flags::dontwait);
  REQUIRE(wait_event(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
  CHECK(logs.WaitFor("refused key " + rogue->public_key, std::chrono::milliseconds(5000)));

  // The refused client's own view: a HandshakeWatch says its key was refused.
  {
    zmq::socket_t watched(client_ctx, zmq::socket_type::push);
    watched.set(zmq::sockopt::linger, 0);
    REQUIRE(MakeClient(watched, *rogue, server->public_key).ok());
    auto watch = HandshakeWatch::Start(&client_ctx, &watched, "persister", rogue->public_key);
    REQUIRE(watch.ok());
    watched.connect(endpoint);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((*watch)->failures() == 0 && std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t items[] = {{(*watch)->events().handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(100));
      (*watch)->Drain(1);
    }
    CHECK((*watch)->failures() > 0);
    CHECK(logs.Contains("the persister refused our CURVE key " + rogue->public_key));
    watch->reset();
  }

  auto plain_push = push(nullptr);
  plain_push->send(zmq::buffer(std::string("from plain")), zmq::send_flags::dontwait);
  REQUIRE(wait_event(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));

  auto good_push = push(&*good);
  good_push->send(zmq::buffer(std::string("from good")), zmq::send_flags::none);
  zmq::pollitem_t items[] = {{pull.handle(), 0, ZMQ_POLLIN, 0}};
  REQUIRE(zmq::poll(items, 1, std::chrono::seconds(20)) == 1);
  zmq::message_t m;
  REQUIRE(pull.recv(m));
  CHECK(m.to_string() == "from good");
  CHECK(logs.Contains("accepted good"));
  // Nothing else ever arrived: the refused peers' messages died with their handshakes.
  CHECK_FALSE(pull.recv(m, zmq::recv_flags::dontwait));

  rogue_push.reset();
  plain_push.reset();
  good_push.reset();
  zmq_socket_monitor(pull.handle(), nullptr, 0);
  monitor.close();
  pull.close();
  zap->reset();  // before the context closes
}

TEST_CASE("refused peers outside ZAP are logged once a minute per host", "[curve]") {
  RefusalLog log("jobs", 60000);
  const std::string first = log.Refused(true, "tcp://10.0.0.7:40001", 1000);
  CHECK(first ==
        "refused a peer on the jobs socket from tcp://10.0.0.7: its handshake failed (a "
        "security mismatch: CURVE on one side only, or not a qlir process)");
  // The client retries from new ports: silent for a minute, then one line with the count.
  CHECK(log.Refused(true, "tcp://10.0.0.7:40002", 1500).empty());
  CHECK(log.Refused(true, "tcp://10.0.0.7:40003", 30000).empty());
  CHECK(!log.Refused(false, "tcp://10.0.0.8:40004", 30000).empty());  // another host
  const std::string later = log.Refused(true, "tcp://10.0.0.7:40005", 61000);
  CHECK(later.find("(2 more since the last line)") != std::string::npos);
  CHECK(log.refused() == 5);
}

TEST_CASE("a CURVE server logs a peer without CURVE that it refuses", "[curve]") {
  LogCapture logs;
  auto server = GenerateKeyPair();
  zmq::context_t server_ctx;
  zmq::socket_t router(server_ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  REQUIRE(MakeServer(router, *server, kJobsDomain).ok());
  auto watch = RefusalWatch::Start(&server_ctx, &router, "jobs");
  REQUIRE(watch.ok());
  router.bind("tcp://127.0.0.1:*");
  const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
  zmq::context_t client_ctx;
  zmq::socket_t plain(client_ctx, zmq::socket_type::dealer);  // no CURVE
  plain.set(zmq::sockopt::linger, 0);
  plain.connect(endpoint);
  CHECK(
      logs.WaitFor("refused a peer on the jobs socket from tcp://127.0.0.1"));  // LogCapture waits
                                                                                // 20 s by default
  watch->reset();
}
