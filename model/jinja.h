// jinja.h — the Jinja subset that Hugging Face chat templates use, rendered as transformers'
// apply_chat_template renders them: jinja2's ImmutableSandboxedEnvironment with trim_blocks and
// lstrip_blocks, the loopcontrols extension, transformers' tojson (json.dumps, ensure_ascii=False),
// raise_exception and strftime_now. Values are JSON (cJSON) plus jinja2's undefined, namespaces and
// macros. Everything the parser does not implement is refused when the template is parsed, naming
// the construct and its line, so a template either renders as jinja2 does or does not load.
// What is implemented and how it is checked against python3-jinja2: docs/tokenizer.md.
#ifndef FLUXRL_JINJA_H
#define FLUXRL_JINJA_H

#include <cjson/cJSON.h>

#include "../core/fx.h"

typedef struct jinja_template jinja_template;

// Parses src (NUL-terminated). name prefixes every message ("tokenizer_config.json: chat_template:
// line 3: unsupported tag 'call'"). -1 with err on a syntax error or an unsupported construct.
int jinja_parse(jinja_template **out, const char *src, const char *name, fx_err *err);

// Renders with the members of vars (a JSON object) as the template's variables. Returns the text
// (caller frees), or NULL with err: raise_exception's message, or jinja2's run-time errors (an
// attribute of an undefined value, adding a string to a number, ...), naming the line.
char *jinja_render(const jinja_template *t, const cJSON *vars, fx_err *err);

void jinja_free(jinja_template *t);

#endif
