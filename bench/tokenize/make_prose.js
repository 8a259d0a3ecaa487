// make_prose.js — a few MB of synthetic English-like prose as JSONL paragraphs, deterministic:
// 30,000 made-up words drawn with Zipf frequencies (so the word cache sees a realistic long tail),
// sentences with capitals, commas, numbers and quotes. usage: node make_prose.js MB > prose.jsonl
"use strict";
const { rnd, pick } = require("../../tests/reference/mulberry32")(0xb0b);
const on = ["", "b", "c", "d", "f", "g", "h", "l", "m", "n", "p", "r", "s", "t", "w", "th", "st", "pr", "tr", "ch", "sh"];
const nu = ["a", "e", "i", "o", "u", "ea", "ou", "io", "ai"];
const co = ["", "", "n", "r", "s", "t", "l", "nd", "st", "ng", "rt", "ck"];
const common = "the of and to a in is was that for it with as his on be at by had are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three".split(" ");
const vocab = [];
const seen = new Set(common);
for (const w of common) vocab.push(w);
while (vocab.length < 30000) {
  let w = "";
  const syl = 1 + Math.floor(rnd() * 3.2);
  for (let k = 0; k < syl; k++) w += pick(on) + pick(nu) + pick(co);
  if (!seen.has(w)) seen.add(w), vocab.push(w);
}
// Zipf(1.05) by inverse CDF over ranks.
const cdf = [];
let z = 0;
for (let r = 1; r <= vocab.length; r++) cdf.push((z += 1 / Math.pow(r, 1.05)));
function word() {
  const x = rnd() * z;
  let lo = 0, hi = cdf.length - 1;
  while (lo < hi) { const m = (lo + hi) >> 1; if (cdf[m] < x) lo = m + 1; else hi = m; }
  return vocab[lo];
}
function sentence() {
  const n = 5 + Math.floor(rnd() * 20);
  const w = [];
  for (let i = 0; i < n; i++) {
    let x = word();
    if (rnd() < 0.02) x = String(Math.floor(rnd() * 2000));
    if (rnd() < 0.03) x = x[0].toUpperCase() + x.slice(1);
    if (rnd() < 0.06 && i < n - 1) x += ",";
    w.push(x);
  }
  if (rnd() < 0.05) w.push(`"${word()} ${word()}"`);
  w[0] = w[0][0].toUpperCase() + w[0].slice(1);
  return w.join(" ") + pick([".", ".", ".", ".", "?", "!", ";"]);
}
const target = Number(process.argv[2] || 4) * 1e6;
let total = 0;
const out = [];
while (total < target) {
  const p = Array.from({ length: 3 + Math.floor(rnd() * 8) }, sentence).join(" ");
  out.push(JSON.stringify({ text: p }));
  total += Buffer.byteLength(p);
}
process.stdout.write(out.join("\n") + "\n");
