#include "common/wire.h"

#include <catch2/catch.hpp>
#include <random>

using namespace qlir::wire;

TEST_CASE("every wire message round-trips", "[wire]") {
  FetchResult r;
  r.endpoint = "klines";
  r.key = "BTCUSDT:1m:1609459200000-1609465199999:1000";
  r.url = "http://127.0.0.1/api/v3/klines";
  r.http_status = 200;
  r.outcome = "ok";
  r.body = std::string("[[1,\"2\"]]\0\xff", 12);
  r.first_ts = 1;
  const Message msgs[] = {Ready{"f1", 4},
                          Heartbeat{"p"},
                          Job{7, "klines", r.key},
                          JobDone{7, r.key, "ok"},
                          JobReturn{8, r.key},
                          r,
                          Hello{"planner"},
                          Durable{"klines", {{r.key, "ok"}}},
                          StatusRequest{9, "klines", "BTCUSDT", "1m"},
                          StatusReply{9, "klines", "BTCUSDT", "1m", "", {{r.key, "failed"}}},
                          MarkPending{10, "klines", {r.key}},
                          Ack{10, "", 1},
                          Pending{"klines", {r.key}, "verify --repair"},
                          Recheck{"klines", {r.key}}};
  for (const auto& m : msgs) {
    auto d = Decode(Encode(m));
    REQUIRE(d.ok());
    CHECK(TypeOf(*d) == TypeOf(m));
  }
  auto d = Decode(Encode(r));
  REQUIRE(std::holds_alternative<FetchResult>(*d));
  const auto& back = std::get<FetchResult>(*d);
  CHECK(back.body == r.body);
  CHECK(back.key == r.key);
  CHECK(back.first_ts == 1);
  CHECK(back.last_ts == -1);
  auto p = Decode(Encode(Pending{"klines", {r.key}, "recovery"}));
  REQUIRE(p.ok());
  REQUIRE(std::holds_alternative<Pending>(*p));
  CHECK(std::get<Pending>(*p).keys == std::vector<std::string>{r.key});
  CHECK(std::get<Pending>(*p).reason == "recovery");
}

TEST_CASE("RECHECK round-trips, and a malformed one is an error, never an exception", "[wire]") {
  const Recheck rc{"klines",
                   {"BTCUSDT:1m:1609459200000-1609519199999:1000",
                    "ETHUSDT:1m:1609459200000-1609519199999:1000"}};
  const std::string bytes = Encode(rc);
  auto d = Decode(bytes);
  REQUIRE(d.ok());
  REQUIRE(std::holds_alternative<Recheck>(*d));
  CHECK(TypeOf(*d) == Type::kRecheck);
  CHECK(TypeName(Type::kRecheck) == "RECHECK");
  CHECK(std::get<Recheck>(*d).endpoint == "klines");
  CHECK(std::get<Recheck>(*d).keys == rc.keys);
  for (size_t n = 0; n < bytes.size(); ++n) CHECK_FALSE(Decode(bytes.substr(0, n)).ok());
  CHECK_FALSE(Decode(bytes + "x").ok());
  // Type 14 with payloads of the wrong shape: keys not strings, keys not an array, no array.
  auto with_payload = [](auto&& pack_payload) {
    msgpack::sbuffer b;
    msgpack::packer<msgpack::sbuffer> pk(b);
    pk.pack_array(3);
    pk.pack(static_cast<uint32_t>(Type::kRecheck));
    pk.pack(kProtocolVersion);
    pack_payload(pk);
    return Decode(std::string_view(b.data(), b.size()));
  };
  CHECK_FALSE(with_payload([](auto& pk) {
                pk.pack_array(2);
                pk.pack(std::string("klines"));
                pk.pack_array(1);
                pk.pack(42);
              }).ok());
  CHECK_FALSE(with_payload([](auto& pk) {
                pk.pack_array(2);
                pk.pack(std::string("klines"));
                pk.pack(std::string("BTCUSDT"));
              }).ok());
  CHECK_FALSE(with_payload([](auto& pk) { pk.pack(7); }).ok());
  std::mt19937 rng(14);
  for (int i = 0; i < 5000; ++i) {
    std::string s = bytes;
    s[rng() % s.size()] = static_cast<char>(rng());
    (void)Decode(s);  // must not throw or crash (ASan/UBSan watch)
  }
}

TEST_CASE("a HEARTBEAT carries counters and one without them still decodes", "[wire]") {
  auto d = Decode(Encode(Heartbeat{"f1", {{"jobs_done", 5}, {"http_429", 1}}}));
  REQUIRE(d.ok());
  const auto& hb = std::get<Heartbeat>(*d);
  CHECK(hb.sender == "f1");
  CHECK(hb.counters.at("jobs_done") == 5);
  CHECK(hb.counters.at("http_429") == 1);
  // [type, version, [sender]]: the form before counters were added.
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(3);
  pk.pack(static_cast<uint32_t>(Type::kHeartbeat));
  pk.pack(kProtocolVersion);
  pk.pack_array(1);
  pk.pack(std::string("old"));
  auto old = Decode(std::string_view(b.data(), b.size()));
  REQUIRE(old.ok());
  CHECK(std::get<Heartbeat>(*old).sender == "old");
  CHECK(std::get<Heartbeat>(*old).counters.empty());
}

// The payload of a message, packed by hand: [type, version, payload].
template <typename Payload>
std::string Framed(Type type, const Payload& payload) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(3);
  pk.pack(static_cast<uint32_t>(type));
  pk.pack(kProtocolVersion);
  pk.pack(payload);
  return std::string(b.data(), b.size());
}

// STATUS_REQUEST and STATUS_REPLY as they were before paging.
struct OldStatusRequest {
  uint64_t request_id = 0;
  std::string endpoint, symbol, interval;
  MSGPACK_DEFINE(request_id, endpoint, symbol, interval)
};
struct OldStatusReply {
  uint64_t request_id = 0;
  std::string endpoint, symbol, interval, error;
  std::vector<SliceState> slices;
  MSGPACK_DEFINE(request_id, endpoint, symbol, interval, error, slices)
};

TEST_CASE("paged STATUS messages round-trip - and old peers' messages still decode", "[wire]") {
  const std::string k1 = "BTCUSDT:id:3000000000-3000000999:1000";
  const std::string k2 = "BTCUSDT:id:3000001000-3000001999:1000";
  auto q = Decode(Encode(StatusRequest{4, "aggTrades", "BTCUSDT", "id", k1, 5000}));
  REQUIRE(q.ok());
  const auto& req = std::get<StatusRequest>(*q);
  CHECK(req.request_id == 4);
  CHECK(req.after == k1);
  CHECK(req.max == 5000);
  auto r = Decode(Encode(StatusReply{4, "aggTrades", "BTCUSDT", "id", "", {{k2, "ok"}}, true}));
  REQUIRE(r.ok());
  const auto& rep = std::get<StatusReply>(*r);
  CHECK(rep.more);
  REQUIRE(rep.slices.size() == 1);
  CHECK(rep.slices[0].key == k2);

  // An older planner's request: the first page, of the persister's size.
  auto old_q = Decode(Framed(Type::kStatusRequest, OldStatusRequest{5, "klines", "ETHUSDT", "1m"}));
  REQUIRE(old_q.ok());
  const auto& oq = std::get<StatusRequest>(*old_q);
  CHECK(oq.request_id == 5);
  CHECK(oq.symbol == "ETHUSDT");
  CHECK(oq.after.empty());
  CHECK(oq.max == 0);
  // An older persister's reply: the whole series, so the last page.
  auto old_r = Decode(
      Framed(Type::kStatusReply, OldStatusReply{5, "klines", "ETHUSDT", "1m", "", {{k1, "ok"}}}));
  REQUIRE(old_r.ok());
  CHECK_FALSE(std::get<StatusReply>(*old_r).more);
  CHECK(std::get<StatusReply>(*old_r).slices.size() == 1);
  // And an older peer reads the new messages: the added fields come last and are ignored.
  auto as_old = [](const std::string& bytes, auto* out) {
    msgpack::object_handle oh = msgpack::unpack(bytes.data(), bytes.size());
    oh.get().via.array.ptr[2].convert(*out);
  };
  OldStatusRequest oreq;
  as_old(Encode(StatusRequest{6, "klines", "BTCUSDT", "1s", k1, 10}), &oreq);
  CHECK(oreq.request_id == 6);
  CHECK(oreq.interval == "1s");
  OldStatusReply orep;
  as_old(Encode(StatusReply{6, "klines", "BTCUSDT", "1s", "", {{k2, "partial"}}, true}), &orep);
  CHECK(orep.slices.size() == 1);
  CHECK(orep.slices[0].status == "partial");
  // A `more` of the wrong type is an error, never an exception.
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(3);
  pk.pack(static_cast<uint32_t>(Type::kStatusReply));
  pk.pack(kProtocolVersion);
  pk.pack_array(7);
  pk.pack(uint64_t{1});
  for (int i = 0; i < 4; ++i) pk.pack(std::string("x"));
  pk.pack_array(0);
  pk.pack(std::string("yes"));
  CHECK_FALSE(Decode(std::string_view(b.data(), b.size())).ok());
}

TEST_CASE("truncated, foreign and random messages are errors, never exceptions", "[wire]") {
  std::string good = Encode(Job{7, "klines", "BTCUSDT:1m:0-59999999:1000"});
  for (size_t n = 0; n < good.size(); ++n) {
    CHECK_FALSE(Decode(good.substr(0, n)).ok());
  }
  CHECK_FALSE(Decode(good + "x").ok());
  // Wrong version.
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_array(3);
  pk.pack(3u);
  pk.pack(99u);
  pk.pack_array(0);
  auto v = Decode(std::string_view(b.data(), b.size()));
  REQUIRE_FALSE(v.ok());
  CHECK_THAT(v.error(), Catch::Contains("version"));
  // Unknown type.
  msgpack::sbuffer b2;
  msgpack::packer<msgpack::sbuffer> pk2(b2);
  pk2.pack_array(3);
  pk2.pack(999u);
  pk2.pack(kProtocolVersion);
  pk2.pack_array(0);
  CHECK_THAT(Decode(std::string_view(b2.data(), b2.size())).error(), Catch::Contains("unknown"));
  // Right type, wrong payload shape.
  msgpack::sbuffer b3;
  msgpack::packer<msgpack::sbuffer> pk3(b3);
  pk3.pack_array(3);
  pk3.pack(static_cast<uint32_t>(Type::kJob));
  pk3.pack(kProtocolVersion);
  pk3.pack(std::string("not a job"));
  CHECK_FALSE(Decode(std::string_view(b3.data(), b3.size())).ok());
  // Random bytes.
  std::mt19937 rng(1234);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    (void)Decode(s);  // must not throw or crash (ASan/UBSan watch)
  }
  // Random mutations of a valid message.
  for (int i = 0; i < 20000; ++i) {
    std::string s = good;
    s[rng() % s.size()] = static_cast<char>(rng());
    (void)Decode(s);
  }
}
