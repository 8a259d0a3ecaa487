// mulberry32.js — the seeded PRNG of the generated corpora and test data (Math.random is not
// reproducible): mulberry32(seed) gives rnd() in [0, 1), int(lo, hi) inclusive and pick(array).
"use strict";
module.exports = function mulberry32(seed) {
  let state = seed >>> 0;
  const rnd = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { rnd, int: (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)), pick: (a) => a[Math.floor(rnd() * a.length)] };
};
