#include "common/aggtrades/payload.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/aggtrades/endpoint.h"

using qlir::SliceKey;
using qlir::aggtrades::AuditAggTradesPayload;
using qlir::aggtrades::ParseAggTradesPayload;
using qlir::aggtrades::SummarizeAggTradesData;
using qlir::aggtrades::ValidateAggTradesPayload;

namespace {

// The grid slice of ids [k * 1000, k * 1000 + 999].
SliceKey Ids(int64_t k) {
  return qlir::aggtrades::TheAggTradesEndpoint().GridSlice("BTCUSDT", "id", k, 1000);
}

struct R {
  int64_t a = 0;
  std::string p = "\"0.01633102\"";
  std::string q = "\"4.70443515\"";
  int64_t f = 0;
  int64_t l = 0;
  int64_t t = 1498793709153;
};

std::string Row(const R& r, const std::string& extra = "") {
  return "{\"a\":" + std::to_string(r.a) + ",\"p\":" + r.p + ",\"q\":" + r.q +
         ",\"f\":" + std::to_string(r.f) + ",\"l\":" + std::to_string(r.l) +
         ",\"T\":" + std::to_string(r.t) + ",\"m\":true,\"M\":true" + extra + "}";
}

std::string Invalidated(int64_t a, int64_t t = 1498793709153) {
  return "{\"a\":" + std::to_string(a) +
         ",\"p\":\"0\",\"q\":\"0\",\"f\":-1,\"l\":-1,\"T\":" + std::to_string(t) +
         ",\"m\":false,\"M\":true}";
}

// `n` contiguous trades from id `from`, one underlying trade each, 1 ms apart.
std::string Page(int64_t from, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) {
    if (i) s += ",";
    R r;
    r.a = from + i;
    r.f = r.l = 27781 + from + i;
    r.t = 1498793709153 + i;
    s += Row(r);
  }
  return s + "]";
}

std::string Error(const std::string& body, const SliceKey& k = Ids(26)) {
  auto v = ValidateAggTradesPayload(body, k);
  return v.ok() ? "(ok)" : v.error();
}

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a full aggTrades page validates and summarises its ids", "[aggtrades]") {
  const SliceKey k = Ids(26);
  const std::string page = Page(26000, 1000);
  auto s = ValidateAggTradesPayload(page, k);
  REQUIRE(s.ok());
  CHECK(s->n_items == 1000);
  CHECK(s->first_ts == 26000);
  CHECK(s->last_ts == 26999);
  auto rows = ParseAggTradesPayload(page, k);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1000);
  CHECK((*rows)[0].id == 26000);
  CHECK((*rows)[0].price == "0.01633102");
  CHECK((*rows)[0].quantity == "4.70443515");
  CHECK((*rows)[0].first_trade == 53781);
  CHECK((*rows)[0].last_trade == 53781);
  CHECK((*rows)[0].time_ms == 1498793709153);
  CHECK((*rows)[0].buyer_maker);
  CHECK((*rows)[0].best_price_match);
  CHECK_FALSE((*rows)[0].invalidated());
  CHECK((*rows)[999].time_ms == 1498793709153 + 999);

  // The open tail: fewer rows, and none at all yet.
  s = ValidateAggTradesPayload(Page(26000, 129), k);
  REQUIRE(s.ok());
  CHECK(s->n_items == 129);
  CHECK(s->last_ts == 26128);
  s = ValidateAggTradesPayload(" [ ]\n", k);
  REQUIRE(s.ok());
  CHECK(s->n_items == 0);
  CHECK(s->first_ts == -1);
  CHECK(s->last_ts == -1);
  // Whitespace between tokens, fields in another order, extra fields (nested ones too).
  CHECK(ValidateAggTradesPayload("[ {\"M\" : false, \"m\":false, \"T\":5, \"l\":3, \"f\":3, "
                                 "\"q\":\"1\", \"p\":\"2.5\", \"x\":{\"y\":[1,{\"z\":null}]}, "
                                 "\"a\":26000, \"n\":-1.5e3} ]",
                                 k)
            .ok());
  CHECK(ValidateAggTradesPayload("[" + Row(R{.a = 26000}, ",\"\\u0078\":7") + "]", k).ok());

  auto audit = AuditAggTradesPayload(page, k);
  CHECK(audit.bad.empty());
  CHECK(audit.irregular_rows == 0);
  CHECK(audit.summary.n_items == 1000);

  auto sum = SummarizeAggTradesData(page);
  REQUIRE(sum.ok());
  CHECK(sum->n_items == 1000);
  CHECK(sum->first_ts == 26000);
  CHECK(sum->last_ts == 26999);
  CHECK(SummarizeAggTradesData("[]")->first_ts == -1);
  CHECK(SummarizeAggTradesData("[1,{\"a\":3}]")->first_ts == -1);
  CHECK(SummarizeAggTradesData("[1,{\"a\":3}]")->last_ts == 3);
  CHECK_FALSE(SummarizeAggTradesData("{}").ok());
  CHECK_FALSE(SummarizeAggTradesData("[").ok());
}

TEST_CASE("invalidated aggTrades rows count as present", "[aggtrades]") {
  const SliceKey k = Ids(26);
  const std::string body = "[" + Row(R{.a = 26000, .f = 10, .l = 12}) + "," + Invalidated(26001) +
                           "," + Invalidated(26002) + "," + Row(R{.a = 26003, .f = 13, .l = 13}) +
                           "]";
  auto s = ValidateAggTradesPayload(body, k);
  REQUIRE(s.ok());
  CHECK(s->n_items == 4);
  CHECK(s->last_ts == 26003);
  auto rows = ParseAggTradesPayload(body, k);
  REQUIRE(rows.ok());
  CHECK((*rows)[1].invalidated());
  CHECK((*rows)[1].price == "0");
  auto audit = AuditAggTradesPayload(body, k);
  CHECK(audit.bad.empty());
  CHECK(audit.irregular_rows == 0);
}

TEST_CASE("an aggTrades body that is not an array of trades is refused, naming the row",
          "[aggtrades]") {
  const std::string where = "aggTrades body for BTCUSDT:id:26000-26999:1000 (";
  CHECK(Error("") == where + "0 bytes): not a JSON array (no closing ']'; truncated?)");
  CHECK(Has(Error("{\"code\":-1121,\"msg\":\"Invalid symbol.\"}"), "no closing ']'"));
  const std::string page = Page(26000, 3);
  CHECK(Has(Error(page.substr(0, page.size() - 40)), "truncated?"));
  CHECK(Has(Error(page.substr(0, page.size() - 40) + "]"), "not JSON: syntax error at byte"));
  CHECK(Has(Error("[1]"), "row 0: not an object but a number"));
  CHECK(Has(Error("[" + Row(R{.a = 26000}) + ",[]]"), "row 1: not an object"));
  CHECK(Has(Error("[" + Row(R{.a = 26000}) + ",\"x\"]"), "row 1: not an object but a string"));
  CHECK(Has(Error("[" + Row(R{.a = 26000}) + "] x]"), "not JSON"));  // data after the array
  CHECK(Has(Error("[" + Row(R{.a = 26000}) + "][]"), "not JSON"));
  CHECK(Has(Error("[" + Row(R{.a = 26000}) + ",]"), "not JSON"));
  SliceKey small = Ids(26);
  small.limit = 2;
  CHECK(Has(Error(page, small), "row 2: more rows than the limit 2"));
}

TEST_CASE("each aggTrades field is checked for presence and type", "[aggtrades]") {
  const std::string row = Row(R{.a = 26000});
  for (const char* f : {"a", "p", "q", "f", "l", "T", "m", "M"}) {
    // The row without field f.
    std::string without = row;
    const std::string name = std::string("\"") + f + "\":";
    const size_t at = without.find(name);
    REQUIRE(at != std::string::npos);
    size_t end = without.find_first_of(",}", at);
    without.erase(at, end - at + (without[end] == ',' ? 1 : 0));
    if (without[without.size() - 2] == ',') without.erase(without.size() - 2, 1);
    CHECK(Error("[" + without + "]") == "aggTrades body for BTCUSDT:id:26000-26999:1000 (" +
                                            std::to_string(without.size() + 2) +
                                            " bytes): row 0: no field " + f);
  }
  CHECK(Has(Error("[" + Row(R{.a = 26000}, ",\"a\":26000") + "]"), "row 0: field a given twice"));
  CHECK(Has(Error("[" + Row(R{.a = 26000}, ",\"\\u0061\":7") + "]"), "field a given twice"));
  auto with = [&](const std::string& field, const std::string& value) {
    std::string r =
        "{\"a\":26000,\"p\":\"1\",\"q\":\"1\",\"f\":1,\"l\":1,\"T\":1,\"m\":true,"
        "\"M\":true}";
    const size_t at = r.find("\"" + field + "\":") + field.size() + 3;
    const size_t end = r.find_first_of(",}", at);
    r.replace(at, end - at, value);
    return Error("[" + r + "]");
  };
  CHECK(Has(with("a", "26000.0"), "row 0: field a: expected an integer"));
  CHECK(Has(with("a", "2.6e4"), "row 0: field a: expected an integer"));
  CHECK(Has(with("a", "\"26000\""), "row 0: field a: expected an integer"));
  CHECK(Has(with("a", "null"), "row 0: field a: expected an integer"));
  CHECK(Has(with("a", "99999999999999999999"), "row 0: field a: expected an integer"));
  CHECK(Has(with("a", "9223372036854775808"),
            "row 0: field a: 9223372036854775808 does not fit a 64-bit integer"));
  CHECK(Has(with("f", "[1]"), "row 0: field f: expected an integer"));
  CHECK(Has(with("l", "{}"), "row 0: field l: expected an integer"));
  CHECK(Has(with("T", "true"), "row 0: field T: expected an integer"));
  CHECK(Has(with("p", "1.5"), "row 0: field p: expected a decimal string"));
  CHECK(Has(with("p", "\"1e-4\""), "row 0: p: '1e-4' is not a plain decimal"));
  CHECK(Has(with("q", "\"\""), "row 0: q: '' is not a plain decimal"));
  CHECK(Has(with("q", "\".5\""), "row 0: q: '.5' is not a plain decimal"));
  CHECK(Has(with("q", "\"5.\""), "row 0: q: '5.' is not a plain decimal"));
  CHECK(Has(with("m", "1"), "row 0: field m: expected a boolean"));
  CHECK(Has(with("M", "\"true\""), "row 0: field M: expected a boolean"));
  CHECK(Has(with("T", "-5"), "row 0: id 26000: negative T -5"));
  CHECK(Has(with("f", "-1"),
            "row 0: id 26000: f -1 and l 1 (trade ids are >= 0, or both -1 on an invalidated "
            "row)"));
  CHECK(Has(with("l", "-1"), "f 1 and l -1"));
  CHECK(Has(with("a", "-1"), "row 0: id -1 outside the window [26000, 26999]"));
  CHECK(with("p", "\"-0.5\"") == "(ok)");  // the sign is the audit's business
}

TEST_CASE("aggTrades ids must be contiguous, ascending and inside the window", "[aggtrades]") {
  const std::string a = Row(R{.a = 26000});
  CHECK(Has(Error("[" + Row(R{.a = 25999}) + "]"),
            "row 0: id 25999 outside the window [26000, 26999]"));
  CHECK(Has(Error("[" + Row(R{.a = 27000}) + "]"),
            "row 0: id 27000 outside the window [26000, 26999]"));
  CHECK(Has(Error(Page(26998, 3)), "row 2: id 27000 outside the window [26000, 26999]"));
  CHECK(Has(Error("[" + a + "," + Row(R{.a = 26002}) + "]"),
            "row 1: id 26002 after id 26000: ids must be contiguous and ascending"));
  CHECK(Has(Error("[" + a + "," + a + "]"), "row 1: id 26000 after id 26000"));
  CHECK(Has(Error("[" + Row(R{.a = 26001}) + "," + a + "]"), "row 1: id 26000 after id 26001"));
  // A first id above the window's start is what the exchange answers below a series' first
  // trade: valid, and irregular in the audit.
  const SliceKey k = Ids(26);
  auto s = ValidateAggTradesPayload(Page(26129, 871), k);
  REQUIRE(s.ok());
  CHECK(s->first_ts == 26129);
  CHECK(s->last_ts == 26999);
  auto audit = AuditAggTradesPayload(Page(26129, 871), k);
  CHECK(audit.bad.empty());
  CHECK(audit.irregular_rows == 1);
  CHECK(audit.irregular ==
        "row 0 (id 26129): the first id, not the window's 26000 (no id below it: before the "
        "series' first trade?)");
}

TEST_CASE("the aggTrades audit: prices, quantities, trade ids and times make sense",
          "[aggtrades]") {
  const SliceKey k = Ids(26);
  auto audit = [&](const std::string& rows) { return AuditAggTradesPayload("[" + rows + "]", k); };
  const std::string where = "aggTrades body for BTCUSDT:id:26000-26999:1000: ";
  CHECK(audit(Row(R{.a = 26000, .p = "\"0\""})).bad ==
        where + "row 0 (id 26000): price p 0 not above 0");
  CHECK(audit(Row(R{.a = 26000, .p = "\"-1.5\""})).bad ==
        where + "row 0 (id 26000): price p -1.5 not above 0");
  CHECK(audit(Row(R{.a = 26000, .q = "\"0.00000000\""})).bad ==
        where + "row 0 (id 26000): quantity q 0.00000000 not above 0");
  CHECK(audit(Row(R{.a = 26000, .f = 8, .l = 7})).bad ==
        where + "row 0 (id 26000): last trade id l 7 below the first f 8");
  CHECK(audit(Row(R{.a = 26000, .f = 1, .l = 1, .t = 10}) + "," +
              Row(R{.a = 26001, .f = 2, .l = 2, .t = 9}))
            .bad == where + "row 1 (id 26001): T 9 before the previous trade's 10");
  // Equal times are fine (one match, several aggregates).
  CHECK(audit(Row(R{.a = 26000, .f = 1, .l = 1, .t = 10}) + "," +
              Row(R{.a = 26001, .f = 2, .l = 2, .t = 10}))
            .bad.empty());
  // An invalidated row must carry p = q = 0.
  CHECK(audit("{\"a\":26000,\"p\":\"5\",\"q\":\"0\",\"f\":-1,\"l\":-1,\"T\":1,\"m\":true,"
              "\"M\":true}")
            .bad == where + "row 0 (id 26000): invalidated (f = l = -1) but p 5 and q 0, not 0");
  CHECK(audit("{\"a\":26000,\"p\":\"0.000\",\"q\":\"-0\",\"f\":-1,\"l\":-1,\"T\":1,\"m\":true,"
              "\"M\":true}")
            .bad.empty());
  // The f/l chain: a break between adjacent valid rows is irregular; across invalidated rows
  // (whose trade ids are unknown) it is not checked; invalidated rows' times are not ordered.
  auto a = audit(Row(R{.a = 26000, .f = 1, .l = 3}) + "," + Row(R{.a = 26001, .f = 5, .l = 5}) +
                 "," + Row(R{.a = 26002, .f = 7, .l = 7}));
  CHECK(a.bad.empty());
  CHECK(a.irregular_rows == 2);
  CHECK(a.irregular == "row 1 (id 26001): f 5, not the previous row's l + 1 = 4");
  a = audit(Row(R{.a = 26000, .f = 1, .l = 3, .t = 10}) + "," + Invalidated(26001, 2) + "," +
            Row(R{.a = 26002, .f = 9, .l = 9, .t = 10}));
  CHECK(a.bad.empty());
  CHECK(a.irregular_rows == 0);
  // What ValidateAggTradesPayload refuses, the audit reports as bad.
  CHECK(Has(audit(Row(R{.a = 26001}) + "," + Row(R{.a = 26000})).bad, "ids must be contiguous"));
}

TEST_CASE("the fast scanner of aggTrades bodies agrees with nlohmann's parser on every mutation",
          "[aggtrades]") {
  const SliceKey k = Ids(26);
  // The exchange's shape, whitespace, an invalidated row, a negative integer, and a row with an
  // unknown field (which only the library reads).
  const std::vector<std::string> bases = {
      Page(26000, 3),
      "[ {\"a\":26000,\"p\":\"1.5\",\"q\":\"2\",\"f\":7,\"l\":9,\"T\":5,\"m\":false,\"M\":true} "
      ",\n" +
          Invalidated(26001) + "]",
      "[" + Row(R{.a = 26000, .f = 3, .l = 3}, ",\"x\":[1,{\"y\":\"z\"}]") + "]",
      "[" + Row(R{.a = 26000, .f = 0, .l = 0}) + "]",
  };
  const std::string alphabet = "09-.\",:{}[] etx\\";
  int64_t compared = 0, accepted = 0;
  auto same = [&](const std::string& body) {
    auto fast = ValidateAggTradesPayload(body, k);
    auto lib = qlir::aggtrades::ValidateAggTradesPayloadByLibrary(body, k);
    INFO(body);
    REQUIRE(fast.ok() == lib.ok());
    if (fast.ok()) {
      CHECK(fast->n_items == lib->n_items);
      CHECK(fast->first_ts == lib->first_ts);
      CHECK(fast->last_ts == lib->last_ts);
      ++accepted;
    } else {
      CHECK(fast.error() == lib.error());
    }
    ++compared;
  };
  for (const std::string& base : bases) {
    same(base);
    for (size_t cut = 0; cut < base.size(); ++cut) same(base.substr(0, cut) + "]");
    for (size_t i = 0; i < base.size(); ++i) {
      for (char c : alphabet) {
        if (base[i] == c) continue;
        std::string m = base;
        m[i] = c;
        same(m);
      }
    }
  }
  CHECK(compared > 10000);
  CHECK(accepted > 300);  // mutations that stay valid (digits in values) are compared too
}
