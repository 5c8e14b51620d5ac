// The same klines download as our pipeline's, done the way ccxt's users do it (bench/run, ccxt):
//   node ccxt_download.mjs BASE_URL SYMBOL TIMEFRAME SINCE_MS PAGES loop|paginate
// ccxt is loaded from $CCXT_NODE_DIR (bench/.cache/node, installed by bench/run from npm).
// binance is pointed at the simulator (urls.api.public), spot markets only, enableRateLimit as
// users leave it. `loop` pages fetchOHLCV(symbol, tf, since, 1000) moving `since` past the last
// candle; `paginate` is ccxt's own helper, fetchOHLCV(..., {paginate: true, paginationCalls,
// until}). Prints one JSON line: candles, seconds (loadMarkets included), load_markets_s.
import { createRequire } from 'node:module';
import path from 'node:path';

const [baseUrl, symbol, timeframe, sinceText, pagesText, mode] = process.argv.slice(2);
const require = createRequire(path.join(process.env.CCXT_NODE_DIR, 'package.json'));
const ccxt = require('ccxt');

const since = Number(sinceText);
const pages = Number(pagesText);
const exchange = new ccxt.binance({
  enableRateLimit: true,
  options: { fetchMarkets: { types: ['spot'] }, fetchCurrencies: false },
});
exchange.urls.api.public = baseUrl + '/api/v3';

const t0 = performance.now();
await exchange.loadMarkets();
const tMarkets = performance.now();
const stepMs = exchange.parseTimeframe(timeframe) * 1000 * 1000;
const until = since + pages * stepMs;  // exclusive
let candles = 0;
let lastTs = -1;
if (mode === 'loop') {
  let cursor = since;
  for (let i = 0; i < pages && cursor < until; i++) {
    const ohlcv = await exchange.fetchOHLCV(symbol, timeframe, cursor, 1000);
    if (ohlcv.length === 0) break;
    candles += ohlcv.length;
    lastTs = ohlcv[ohlcv.length - 1][0];
    cursor = lastTs + exchange.parseTimeframe(timeframe) * 1000;
  }
} else {
  const ohlcv = await exchange.fetchOHLCV(symbol, timeframe, since, undefined,
                                          { paginate: true, paginationCalls: pages, until: until - 1 });
  candles = ohlcv.length;
  lastTs = candles ? ohlcv[candles - 1][0] : -1;
}
const t1 = performance.now();
console.log(JSON.stringify({ mode, candles, last_ts: lastTs, seconds: (t1 - t0) / 1000,
                             load_markets_s: (tMarkets - t0) / 1000 }));
