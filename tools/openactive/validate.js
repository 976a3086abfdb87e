#!/usr/bin/env node
/*
 * Runs OpenActive's own validators on an RPDE feed, offline.
 *
 *   node validate.js FEED_URL CACHE_DIR
 *
 * - @openactive/rpde-validator walks the feed (it only talks to FEED_URL's server);
 * - @openactive/data-model-validator checks every "updated" item's data. It needs the
 *   OpenActive Activity List and JSON-LD contexts from openactive.io; with loadRemoteJson and a
 *   remoteJsonCachePath it reads them from that cache first, so the caller seeds CACHE_DIR
 *   from local copies (see tests/opendata/test_openactive_validators.py) and nothing leaves
 *   the machine. Any URL it still tried to fetch is reported in "fetched".
 *
 * Prints one JSON object: {rpde: [...], model: [...], items: N, fetched: [...], pages: N}.
 */
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { RpdeValidator } = require('@openactive/rpde-validator');
const { validate } = require('@openactive/data-model-validator');

const [feedUrl, cacheDir] = process.argv.slice(2);
const seeded = new Set(fs.readdirSync(cacheDir));

function plain(error) {
  return {
    severity: error.severity, type: error.type, category: error.category,
    message: String(error.message || '').slice(0, 400), path: error.path,
  };
}

async function main() {
  const log = await RpdeValidator(feedUrl, {
    pageLimit: 1000, timeoutMs: 20000, requestDelayMs: 0, logCallback: () => {},
  });
  const rpde = [];
  for (const page of log.pages) {
    for (const error of page.errors) {
      rpde.push({ url: page.url, ...plain(error) });
    }
  }
  const model = [];
  let items = 0;
  let url = feedUrl;
  for (let pages = 0; pages < 1000; pages += 1) {
    const response = await fetch(url);
    const page = await response.json();
    for (const item of page.items) {
      if (item.state !== 'updated') continue;
      items += 1;
      const errors = await validate(item.data, {
        loadRemoteJson: true, remoteJsonCachePath: cacheDir,
        remoteJsonCacheTimeToLive: 10 ** 9, version: '2.0',
      });
      for (const error of errors) {
        model.push({ id: item.id, ...plain(error) });
      }
    }
    if (page.items.length === 0 || page.next === url) break;
    url = page.next;
  }
  const fetched = fs.readdirSync(cacheDir).filter((name) => !seeded.has(name)).map(
    (name) => JSON.parse(fs.readFileSync(path.join(cacheDir, name))).url,
  );
  process.stdout.write(JSON.stringify({
    rpde, model, items, fetched, pages: log.pages.length,
  }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
