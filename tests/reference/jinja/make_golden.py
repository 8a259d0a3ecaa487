#!/usr/bin/python3
"""make_golden.py — renders chat templates with python3-jinja2 set up as transformers'
apply_chat_template sets it up, and writes what fluxrl's renderer (model/jinja*.c) must produce
byte for byte to tests/data/jinja/golden.jsonl.

    /usr/bin/python3 tests/reference/jinja/make_golden.py      (Debian's python3-jinja2)

Each line: {"name", "file" (a template under tests/data/jinja/) or "template" (its text), "vars",
and "text" (the rendering) or "error" (jinja2's message) with "raised": true when it came from
raise_exception}. The real templates are the published ones of the Qwen2 / Qwen2.5 / Qwen2.5-Math / Qwen3 /
QwQ, DeepSeek-R1-Distill, Llama-3.2 / 3.3, Mistral-Nemo / Small-3.2 and Gemma-2 checkpoints
(tests/data/jinja/templates/); the small ones below exercise one construct each.
"""
import json
import os
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "jinja")


# transformers/utils/chat_template_utils.py: _compile_jinja_template
class Raised(jinja2.exceptions.TemplateError):
    pass


def raise_exception(message):
    raise Raised(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


class Generation(Extension):
    """{% generation %}: transformers' AssistantTracker renders the body unchanged."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                    extensions=[Generation, jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

# ---- conversations ----
SYS = {"role": "system", "content": "You are a careful mathematician."}
U1 = {"role": "user", "content": "What is 12 + 34?"}
A1 = {"role": "assistant", "content": "12 + 34 = 46."}
U2 = {"role": "user", "content": "And 46 * 2?"}
A1_THINK = {"role": "assistant", "content": "<think>\n12 + 34: 2 + 4 = 6, 1 + 3 = 4.\n</think>\n\nThe answer is 46."}
A1_REASON = {"role": "assistant", "content": "The answer is 46.", "reasoning_content": "2 + 4 = 6; 1 + 3 = 4."}
UNI = {"role": "user", "content": "  Grüße, 世界! Straße · naïve café — 🙂👍🏽 \u00a0\n"}
A_UNI = {"role": "assistant", "content": "\n こんにちは «ok» ß\t"}
TOOLS = [{"type": "function", "function": {
    "name": "add", "description": "Adds two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer", "description": "first"},
                                                    "b": {"type": "integer", "description": "second \"b\""}},
                   "required": ["a", "b"]}}}]
A_CALL = {"role": "assistant", "content": "", "tool_calls": [
    {"id": "call12345", "type": "function", "function": {"name": "add", "arguments": {"a": 12, "b": 34}}}]}
T_RESULT = {"role": "tool", "tool_call_id": "call12345", "name": "add", "content": "46"}

CONVERSATIONS = {
    "user": [U1],
    "system_user": [SYS, U1],
    "multi_turn": [SYS, U1, A1, U2],
    "think_multi_turn": [U1, A1_THINK, U2],
    "think_last": [U1, A1_THINK],
    "reasoning_content": [U1, A1_REASON, U2],
    "unicode": [UNI, A_UNI, U2],
}
TOOL_CONVERSATIONS = {"tool_call": [U1, A_CALL, T_RESULT]}
A_BUILTIN = {"role": "assistant", "content": "", "tool_calls": [
    {"id": "call54321", "type": "function", "function": {"name": "brave_search", "arguments": {"query": "fluxrl", "n": "3"}}}]}
BUILTIN = {"builtin_tool_call": [SYS, U1, A_BUILTIN, {"role": "ipython", "content": {"results": ["a", "b"]}}]}

FAMILIES = {  # template file → special tokens as transformers passes them (special_tokens_map)
    "qwen2-instruct.jinja": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen2.5-instruct.jinja": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen2.5-math.jinja": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwen3.jinja": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "qwq-32b.jinja": {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"},
    "deepseek-r1-distill-qwen.jinja": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "llama-3.2-instruct.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                                 "date_string": "26 Jul 2024"},
    "llama-3.3-instruct.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "mistral-nemo-instruct-2407.jinja": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "mistral-small-3.2-24b-instruct-2506.jinja": {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    "gemma-2-it.jinja": {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"},
}
WITH_TOOLS = {"qwen2.5-instruct.jinja", "qwen2.5-math.jinja", "qwen3.jinja", "qwq-32b.jinja", "llama-3.2-instruct.jinja", "llama-3.3-instruct.jinja",
              "mistral-nemo-instruct-2407.jinja", "mistral-small-3.2-24b-instruct-2506.jinja"}
# Its default system prompt holds today's date (strftime_now): only conversations with a system
# message of their own are deterministic.
SYSTEM_ONLY = {"mistral-small-3.2-24b-instruct-2506.jinja"}

# ---- one construct each ----
M = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "bye"}]
CONSTRUCTS = [
    ("text", "plain text\n", {}),
    ("trailing_newline_kept_once", "a\n\n", {}),
    ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    ("output", "{{ x }}|{{ n }}|{{ f }}|{{ b }}|{{ nothing }}|{{ none }}|{{ undefined_var }}",
     {"x": "s", "n": 3, "f": 1.25, "b": True, "nothing": None}),
    ("print_containers", "{{ l }} {{ d }} {{ (1, 'a') }} {{ ('x',) }} {{ ['it\\'s', \"q\\\"\"] }}",
     {"l": [1, "two", None, True, 2.5], "d": {"k": "v", "n": [1]}}),
    ("floats", "{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 3 / 2 }} {{ 4 / 2 }} {{ 10.0 }} {{ -0.0 }} {{ 1e16 }} {{ 123456789.125 }}", {}),
    ("whitespace_control", "a  {{- ' b ' -}}  c\n  {%- if true -%}  d  {%- endif -%}  e", {}),
    ("trim_lstrip_blocks", "<ul>\n    {% for x in xs %}\n    <li>{{ x }}</li>\n    {% endfor %}\n</ul>\n", {"xs": [1, 2]}),
    ("lstrip_not_after_text", "x {% if true %}y{% endif %} z\n  {# c #}\nw", {}),
    ("plus_modifiers", "  {%+ if true +%}\nA\n  {%+ endif %}\nB", {}),
    ("comments", "a{# one #}b\n{#- two -#}\nc  {# three #}\nd", {}),
    ("raw", "{% raw %}{{ not rendered }} {% if %}{% endraw %}!", {}),
    ("raw_whitespace", "{% raw %}\n  x\n  {% endraw %}|  {% raw %}\n  a {{ b }}\n{% endraw %}\nc{% raw -%}  y  {%- endraw %}|"
     "x {% raw %}  {% endraw %}\ny{% raw %}  {%+ endraw %}|", {}),
    ("for_loop_vars",
     "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
     "{{ loop.first }}/{{ loop.last }}/{{ loop.length }}:{{ m.role }};{% endfor %}", {"messages": M}),
    ("for_if_else",
     "{% for m in messages if m.role == 'user' %}{{ loop.index }}{{ m.content }}{{ loop.length }} {% else %}none{% endfor %}"
     "|{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {"messages": M}),
    ("for_unpack_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}[{{ k }}]{% endfor %}"
     "{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for_string_and_dict_filter_items", "{% for c in 'héllo' %}{{ c }}.{% endfor %}{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}",
     {"d": {"x": 1}}),
    ("loop_scope", "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + 10 %}{{ x }} {% endfor %}{{ x }}", {}),
    ("prev_next_item", "{% for i in [1, 2, 3] %}{{ loop.previtem }}<{{ i }}>{{ loop.nextitem }} {% endfor %}", {}),
    ("break_continue", "{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}{% if i > 6 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("if_elif_else", "{% for n in [1, 2, 3, 4] %}{% if n == 1 %}one{% elif n == 2 %}two{% elif n == 3 %}three{% else %}many{% endif %} {% endfor %}", {}),
    ("set_and_namespace",
     "{% set ns = namespace(count=0, names='') %}{% for m in messages %}{% set ns.count = ns.count + 1 %}"
     "{% set ns.names = ns.names ~ m.role ~ ',' %}{% endfor %}{{ ns.count }} {{ ns.names }}"
     "{% set a, b = 1, 2 %} {{ a }}{{ b }}{% set t = namespace() %}{% set t.x = 'x' %}{{ t.x }}", {"messages": M}),
    ("set_in_if_leaks", "{% if true %}{% set y = 'in' %}{% endif %}{{ y }}", {}),
    ("set_block", "{% set body %}[{{ 1 + 1 }}]{% endset %}{{ body }}{{ body|length }}", {}),
    ("macros",
     "{% macro turn(role, content='(none)', end='\\n') %}<{{ role }}>{{ content }}{{ end }}{% endmacro %}"
     "{{ turn('user', 'hi') }}{{ turn('system') }}{{ turn(role='a', end='!') }}{{ turn('x', end='') | upper }}", {}),
    ("macro_sees_top_level", "{% set greeting = 'hello' %}{% macro g(n) %}{{ greeting }} {{ n }}{% endmacro %}{{ g(1) }}", {}),
    ("concat_and_plus", "{{ 'a' ~ 1 ~ none ~ true ~ nothing }}|{{ 'a' + 'b' }}|{{ [1] + [2, 3] }}|{{ 'ab' * 3 }}", {}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 - 10 }} {{ 2 * 3.5 }} {{ -(3) }} {{ 1 + true }}", {}),
    ("comparisons", "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ 1 != 2 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} "
     "{{ [1, 2] == [1, 2] }} {{ {'a': 1} == {'a': 1} }} {{ none == none }} {{ true == 1 }}", {}),
    ("logic", "{{ true and 'x' }} {{ false or 'y' }} {{ not none }} {{ '' or 0 or 'z' }} {{ 0 and 1 }} {{ not (1 and 0) }}", {}),
    ("in_not_in", "{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'z' not in d }} {{ '</think>' in s }} {{ 'q' in nothing }}",
     {"d": {"k": 1}, "s": "a</think>b"}),
    ("ternary", "{{ 'yes' if flag else 'no' }} {{ 'yes' if not flag else 'no' }}[{{ 'x' if false }}]", {"flag": True}),
    ("tests",
     "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ s is string }} {{ d is mapping }} "
     "{{ l is iterable }} {{ s is iterable }} {{ d is sequence }} {{ 3 is number }} {{ 3.5 is number }} {{ true is number }} "
     "{{ 3 is integer }} {{ 3.5 is float }} {{ true is boolean }} {{ false is false }} {{ 0 is false }} {{ true is true }} "
     "{{ l is not string }} {{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 'a' is eq 'a' }} {{ 1 is equalto 2 }} "
     "{{ 2 is in [1, 2] }} {{ 'ABC' is upper }} {{ 'abc' is lower }} {{ 3 is gt 2 }} {{ 3 is lt 2 }} {{ n is sameas none }} "
     "{{ flag is sameas true }} {{ y is mapping }} {{ y is iterable }}",
     {"x": 1, "n": None, "s": "str", "d": {"a": 1}, "l": [1], "flag": True}),
    ("indexing_slicing",
     "{{ l[0] }} {{ l[-1] }} {{ l[1:] }} {{ l[:2] }} {{ l[::-1] }} {{ l[::2] }} {{ l[-2:] }} {{ l[10] is defined }} "
     "{{ s[0] }} {{ s[-1] }} {{ s[1:3] }} {{ s[::-1] }} {{ d['k'] }} {{ d.k }} {{ d['missing'] is defined }} {{ l.0 }} {{ s[:-1] }}",
     {"l": [1, 2, 3, 4], "s": "héllo", "d": {"k": "v"}}),
    ("attribute_access", "{{ messages[0].role }} {{ messages[0]['content'] }} {{ messages[-1].missing is defined }} "
     "{{ messages[5] is defined }} {{ none_value.x is defined }}", {"messages": M, "none_value": None}),
    ("literals", "{{ {'a': [1, 2], 'b': {'c': none}} }} {{ [] }} {{ {} }} {{ 'it''s' }} {{ \"tab\\there\" }} {{ '\\u00e9\\x41\\n' }}"
     " {{ 'a' 'b' }} {{ 1_000 }} {{ 'back\\\\slash' }} {{ 'unknown \\d escape' }}", {}),
    ("filters_basic",
     "{{ s|length }} {{ l|length }} {{ d|length }} {{ nothing|length }} [{{ '  x  '|trim }}] [{{ 'xxayy'|trim('xy') }}] "
     "{{ l|first }} {{ l|last }} {{ s|first }} {{ s|last }} {{ s|upper }} {{ 'ÀB'|lower }} {{ 'hello world'|capitalize }} "
     "{{ l|join(', ') }} {{ l|join }} {{ 'a-b-c'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 5|string ~ 'x' }} "
     "{{ '42'|int + 1 }} {{ '4.7'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '2.5'|float }} {{ 'abc'|list }} {{ d|list }} "
     "{{ d|items|list }} {{ [3, 1]|reverse|list }} {{ 'abc'|reverse }} {{ -3|abs }} {{ l|count }}",
     {"s": "héllo", "l": [1, 2, 3], "d": {"a": 1, "b": 2}}),
    ("filter_default", "{{ x|default('d') }} {{ y|default('d') }} {{ n|default('d') }} {{ e|default('d', true) }} {{ e|d('dd', boolean=true) }} [{{ y|default }}]",
     {"x": "x", "n": None, "e": ""}),
    ("filter_select", "{{ messages|selectattr('role', 'equalto', 'user')|list|length }} "
     "{{ messages|rejectattr('role', 'equalto', 'user')|map(attribute='content')|join(',') }} "
     "{{ messages|selectattr('tool_calls', 'defined')|list|length }} {{ messages|selectattr('content')|list|length }} "
     "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('even')|list }} {{ ['a', 'B']|map('upper')|list }} "
     "{{ messages|map(attribute='missing', default='-')|join }} {{ [{'a': {'b': 1}}]|map(attribute='a.b')|list }} "
     "{{ messages|map(attribute='tool_calls')|list }}",
     {"messages": M + [{"role": "assistant", "content": "", "tool_calls": []}]}),
    ("filter_tojson",
     "{{ v|tojson }}\n{{ v|tojson(indent=2) }}\n{{ v|tojson(indent=0) }}\n{{ v|tojson(separators=(',', ':')) }}\n"
     "{{ v|tojson(ensure_ascii=true) }}\n{{ 'a\"b\\\\c\\n\\t\\u0001 é 😀'|tojson }} {{ none|tojson }} {{ [] | tojson(indent=4) }} {{ 2.5|tojson }}",
     {"v": {"name": "f", "n": [1, 2.5, True, None], "nested": {"é": "ü", "empty": {}, "l": []}}}),
    ("string_methods",
     "{{ s.split('</think>') }} {{ s.split('</think>')[-1].lstrip('\\n') }} {{ '  a b  c '.split() }} {{ 'a,b,c'.split(',', 1) }} "
     "[{{ '  x \\n'.strip() }}] [{{ 'xxhixx'.strip('x') }}] [{{ '\\n\\nhi\\n'.lstrip('\\n') }}] [{{ '\\nhi\\n\\n'.rstrip('\\n') }}] "
     "[{{ ' hi '.lstrip() }}] [{{ ' hi '.rstrip() }}] {{ s.startswith('<think>') }} {{ s.endswith('b') }} {{ s.startswith(('x', '<t')) }} "
     "{{ 'a-b'.replace('-', '=') }} {{ 'Hi'.upper() }} {{ 'Hi'.lower() }} {{ 'hi there'.capitalize() }} {{ '-'.join(['a', 'b']) }}",
     {"s": "<think>\nplan\n</think>\n\nb"}),
    ("dict_methods", "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}",
     {"d": {"a": 1, "b": [2]}}),
    ("range_and_dict", "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(3, 0, -1)|list }} {{ dict(a=1, b='x') }}", {}),
    ("generation_block", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}",
     {"messages": M}),
    ("undefined_semantics", "[{{ u }}][{{ u|string }}][{{ u ~ 'x' }}]{{ u is none }} {{ not u }} {% for x in u %}x{% endfor %}{{ u|length }}"
     "{% if u %}t{% else %}f{% endif %}{{ d.u is defined }}", {"d": {}}),
    ("split_maxsplit_whitespace", "{{ ' a  b c  '.split(none, 1) }} {{ 'a\tb\n c'.split() }} {{ 'a,,b'.split(',') }} {{ ''.split() }} {{ ''.split(',') }}", {}),
    ("nested_loops", "{% for a in [1, 2] %}{% set outer = loop %}{% for b in 'xy' %}{{ outer.index }}{{ loop.index }}{{ b }}"
     "{% if loop.last and not outer.last %},{% endif %}{% endfor %}{% endfor %}", {}),
    ("whitespace_realistic",
     "{% for m in messages %}\n  {{ m.role }}:\n    {%- if m.content %} {{ m.content }}{% endif %}\n\n{% endfor %}\n"
     "{%- if add_generation_prompt %}\n    next\n{% endif %}\n  {% if true -%}\n   x\n  {%- endif %}\nend\n",
     {"messages": M, "add_generation_prompt": True}),
    ("elif_whitespace", "{% for n in [1, 2, 3] %}\n  {% if n == 1 %}\n    one\n  {% elif n == 2 %}\n    two\n  {% else %}\n    other\n  {% endif %}\n{% endfor %}", {}),
    ("minus_then_lstrip", "a\n  {%- if true %}\n  b{% endif %}\n   {% if false %}{% endif %}c", {}),
    ("macro_in_loop", "{% macro item(m, i) %}{% for c in m.content %}{{ c|upper }}{% endfor %}#{{ i }}{% endmacro %}"
     "{% for m in messages %}{{ item(m, loop.index) }} {% endfor %}", {"messages": M}),
    ("namespace_list_append", "{% set ns = namespace(roles=[]) %}{% for m in messages %}{% set ns.roles = ns.roles + [m.role] %}{% endfor %}"
     "{{ ns.roles|join('|') }} {{ ns.roles|length }} {{ ns.roles[-1] }}", {"messages": M}),
    ("conditions_with_filters", "{% if messages|selectattr('role', 'equalto', 'system')|list|length > 0 %}sys{% else %}nosys{% endif %} "
     "{% if messages[0].content is not none and messages[0].content is string %}str{% endif %} "
     "{% if not messages[0].tool_calls is defined %}notools{% endif %} {% if messages|length is even %}even{% endif %}", {"messages": M}),
    ("multimodal_content", "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}"
     "{% for part in m.content %}{% if part.type == 'text' %}{{ part.text }}{% elif part.type == 'image' %}<img>{% endif %}{% endfor %}"
     "{% endif %};{% endfor %}",
     {"messages": [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "what?"}]}, {"role": "assistant", "content": "a cat"}]}),
    ("unicode_strings", "{{ s|length }} {{ s[2] }} {{ s[-2:] }} {{ s|upper }} {{ s|lower }} {{ s.split('·') }} {{ s|tojson }} {{ s|tojson(ensure_ascii=true) }} {{ [s] }}",
     {"s": "Zoë·日本😀"}),
    ("in_list_of_dicts", "{{ {'role': 'user', 'content': 'hi'} in messages }} {{ messages[0] == messages[2] }} {{ messages[0] != messages[1] }}", {"messages": M}),
    ("break_nested", "{% for a in [1, 2, 3] %}{% for b in [1, 2, 3] %}{% if b > a %}{% break %}{% endif %}{{ a }}{{ b }} {% endfor %}|{% endfor %}", {}),
    ("numbers", "{{ 1 / 3 }} {{ 2 ** 0.5 }} {{ 10 / 4 }} {{ 1e3 }} {{ 123456789012345678 }} {{ -5 // 2 }} {{ 5.5 // 2 }} {{ -5.5 % 2 }} {{ 0.1 * 3 }} {{ 1e-5 }} {{ 0.0001 }}",
     {}),
    ("input_numbers", "{{ a }} {{ b }} {{ c }} {{ a + b }} {{ [a, b, c]|tojson }} {{ c is float }} {{ a is integer }}", {"a": 7, "b": 0.5, "c": -1.25e-8}),
    ("string_escapes_in_output", "{{ s }}|{{ [s] }}|{{ s|tojson }}", {"s": "quote' dq\" back\\ nl\n tab\t ctl\u0007 del\u007f nbsp\u00a0"}),
    ("raise_in_macro", "{% macro check(m) %}{% if m.role not in ['user', 'assistant'] %}{{ raise_exception('Unknown role: ' ~ m.role) }}{% endif %}{% endmacro %}"
     "{% for m in messages %}{{ check(m) }}{{ m.content }}{% endfor %}", {"messages": M + [{"role": "tool", "content": "x"}]}),
    ("slice_edges", "{{ l[5:1:-1] }} {{ l[-10:] }} {{ l[:-10] }} {{ l[10:] }} {{ l[1:-1] }} {{ l[::-2] }} {{ l[-1:-4:-1] }} "
     "{{ s[10:] }} {{ s[-10:2] }} {{ s[::-2] }} {{ l[none:2] }}", {"l": [0, 1, 2, 3, 4, 5], "s": "añb😀c"}),
    ("int_base_and_repeat", "{{ 'ff'|int(base=16) }} {{ '0x1A'|int(0, 16) }} {{ '101'|int(base=2) }} {{ 'zz'|int(-1, 10) }} "
     "[{{ 'ab' * 0 }}] [{{ 'ab' * -2 }}] {{ [1, 2] * 2 }} {{ 3 * 'x' }}", {}),
    ("undefined_more", "{{ 'abc'.nope is defined }} {{ (d.k.x is defined) if d.k is defined else 'no k' }} {{ u|default('x')|upper }} "
     "{{ u is iterable }} {{ (u or 'fallback') }} {{ [u]|length }}", {"d": {}}),
    # jinja2's compile-time frames: a name a frame stores first (outside an if) starts undefined there
    ("frames_store_first", "{{ x }}{% set x = 2 %}{{ x }}|{% for i in [1] %}[{{ x }}]{% endfor %}{% set x = 3 %}{{ x }}", {"x": 1}),
    ("frames_loop_body", "{% for i in [1] %}[{{ x }}]{% set x = 3 %}[{{ x }}]{% endfor %}{{ x }}|"
     "{% for i in [1, 2] %}{% for j in [1] %}[{{ y }}]{% endfor %}{% set y = i %}{% endfor %}", {"x": 1, "y": 9}),
    ("frames_branch_store", "{% if true %}[{{ x }}]{% set x = 3 %}{% endif %}{{ x }}|"
     "{% for i in [1] %}{{ y }}{% endfor %}{% if false %}{% set y = 2 %}{% endif %}", {"x": 1, "y": 9}),
    ("frames_macro", "{% macro m() %}{{ x }}{% endmacro %}{{ m() }}{% set x = 5 %}{{ m() }}|"
     "{% macro n() %}{{ y }}{% set y = 3 %}{{ y }}{% endmacro %}{{ n() }}", {"x": 1, "y": 9}),
    ("frames_else_and_blocks", "{% for x in [] %}{% else %}{% set y = 1 %}{% endfor %}[{{ y }}]"
     "{% set b %}{% set z = 1 %}{{ z }}{% endset %}[{{ z }}]{{ b }}"
     "{% for i in [1] if x %}{{ i }}{% set x = 0 %}{% endfor %}", {"x": 1, "y": 9}),
    ("raise_exception", "{% if messages[0].role != 'system' %}{{ raise_exception('First message must be system, got ' + messages[0].role) }}{% endif %}ok",
     {"messages": M}),
    ("error_undefined_attribute", "{{ u.x }}", {}),
    ("error_add_types", "{{ 'a' + 1 }}", {}),
    ("error_add_undefined", "{{ u + 'a' }}", {}),
]


# Random templates (seeded): whitespace control, trim/lstrip, if/else, for, set and comments mixed
# every way, where jinja2's lexer and frames are easiest to get subtly wrong.
def random_templates(n, seed=1):
    import random
    r = random.Random(seed)
    ws = ["", " ", "  ", "\n", "\n  ", "  \n", "\t", "\n\n", " x ", "y\n"]
    exprs = ["'a'", "x", "n + 1", "l|length", "l[-1]", "s.strip()", "s|trim", "'b' ~ n", "l|join(',')", "d.k",
             "d['k']|upper", "n is odd", "none", "true and 'z'", "l[::-1]", "(n * 2) // 3", "s.split(' ')", "l|tojson"]
    conds = ["true", "false", "n > 1", "x is defined", "y is defined", "'a' in s", "not l", "l"]

    def op():
        return r.choice(["{%", "{%-", "{%+"])

    def cl():
        return r.choice(["%}", "-%}", "+%}"])

    def block(depth=0):
        out = r.choice(ws)
        for _ in range(r.randint(1, 4)):
            k = r.random()
            if k < 0.35:
                out += r.choice(["{{", "{{-"]) + " " + r.choice(exprs) + " " + r.choice(["}}", "-}}"])
            elif k < 0.55 and depth < 2:
                out += op() + " if " + r.choice(conds) + " " + cl() + block(depth + 1)
                if r.random() < 0.4:
                    out += op() + " else " + cl() + block(depth + 1)
                out += op() + " endif " + cl()
            elif k < 0.7 and depth < 2:
                out += op() + " for i in l " + cl() + block(depth + 1) + op() + " endfor " + cl()
            elif k < 0.8:
                out += op() + " set x = " + r.choice(exprs) + " " + cl()
            elif k < 0.9:
                out += r.choice(["{#", "{#-"]) + " c " + r.choice(["#}", "-#}"])
            out += r.choice(ws)
        return out
    return [block() for _ in range(n)]


RANDOM_VARS = {"n": 3, "l": [1, 2, 3], "s": "  a b ", "d": {"k": "v"}, "x": "X"}


def render(template, variables):
    try:
        return {"text": env.from_string(template).render(**variables)}
    except Raised as e:
        return {"error": str(e), "raised": True}
    except jinja2.exceptions.TemplateSyntaxError:
        raise
    except Exception as e:  # jinja2's run-time errors: fluxrl must fail too (messages differ)
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    out = []
    for name, template, variables in CONSTRUCTS:
        out.append({"name": name, "template": template, "vars": variables, **render(template, variables)})
    for i, template in enumerate(random_templates(300)):
        out.append({"name": f"random_{i}", "template": template, "vars": RANDOM_VARS, **render(template, RANDOM_VARS)})
    for file, special in FAMILIES.items():
        template = open(os.path.join(DATA, "templates", file), encoding="utf-8").read()
        convs = dict(CONVERSATIONS)
        if file in WITH_TOOLS:
            convs.update(TOOL_CONVERSATIONS)
        if file == "llama-3.3-instruct.jinja":
            convs.update(BUILTIN)
        if file in SYSTEM_ONLY:
            convs = {k: ([SYS] + v if v[0]["role"] != "system" else v) for k, v in convs.items()}
            convs["multimodal"] = [SYS, {"role": "user", "content": [{"type": "text", "text": "Describe "},
                                                                     {"type": "image"}]}]
        for cname, messages in convs.items():
            for agp in (False, True):
                thinking = (None, False, True) if file == "qwen3.jinja" else (None,)
                for think in thinking:
                    # transformers passes tools and documents always (None when not given)
                    v = {"messages": messages, "tools": TOOLS if cname == "tool_call" else None, "documents": None,
                         "add_generation_prompt": agp, **special}
                    if think is not None:
                        v["enable_thinking"] = think
                    if cname == "builtin_tool_call":
                        v["builtin_tools"] = ["code_interpreter", "brave_search", "wolfram_alpha"]
                    label = f"{file}:{cname}:agp={int(agp)}" + ("" if think is None else f":thinking={int(think)}")
                    out.append({"name": label, "file": "templates/" + file, "vars": v, **render(template, v)})
    path = os.path.join(DATA, "golden.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for o in out:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")
    errors = sum("error" in o for o in out)
    print(f"wrote {path}: {len(out)} cases ({errors} errors expected), jinja2 {jinja2.__version__}")


if __name__ == "__main__":
    main()
