// make_builtin_corpus.js — the text the built-in tokenizer is trained on: multi-step arithmetic in
// the chat layouts fluxrl uses (ChatML, <think> trajectories, PRM steps ended by <extra_0>).
// Deterministic (seeded PRNG). Regenerate the built-in tokenizer with:
//   node tests/reference/tokenizer/make_builtin_corpus.js > tests/data/tokenizer/builtin_corpus.txt
//   build/fluxrl tokenizer train --input tests/data/tokenizer/builtin_corpus.txt --vocab-size 320 \
//       --out model/builtin/tokenizer
"use strict";
const { rnd, int, pick } = require("../mulberry32")(0xa11ce);
const apply = (a, op, b) => (op === "+" ? a + b : op === "-" ? a - b : a * b);

const out = [];
for (let i = 0; i < 600; i++) {
  const n = int(2, 4);
  const nums = [int(1, 99)];
  const ops = [];
  for (let k = 1; k < n; k++) ops.push(pick(["+", "+", "-", "*"])), nums.push(ops[k - 1] === "*" ? int(2, 9) : int(1, 99));
  let expr = String(nums[0]);
  for (let k = 1; k < n; k++) expr += ops[k - 1] + nums[k];
  const steps = [];
  let acc = nums[0];
  for (let k = 1; k < n; k++) {
    const r = apply(acc, ops[k - 1], nums[k]);
    steps.push(`${acc}${ops[k - 1]}${nums[k]}=${r}`);
    acc = r;
  }
  const problem = `Problem: ${expr}=?`;
  const style = i % 3;
  if (style === 0) {
    out.push(`<|im_start|>user\n${problem}<|im_end|>\n<|im_start|>assistant\n<think>\n${steps.join("\n")}\n</think>\nAnswer: ${acc}<|im_end|>`);
  } else if (style === 1) {
    out.push(`<|im_start|>user\n${problem}<|im_end|>\n<|im_start|>assistant\n${steps.map((s) => s + "<extra_0>").join("\n")}<|im_end|>`);
  } else {
    out.push(`${problem}\n${steps.map((s, k) => `Step ${k + 1}: ${s}`).join("\n")}\nAnswer: ${acc}<|endoftext|>`);
  }
}
process.stdout.write(out.join("\n") + "\n");
