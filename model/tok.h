// tok.h — the tokenizer: Hugging Face tokenizer.json byte-level BPE (Qwen2/Qwen3, GPT-2, Llama-3
// layouts), added tokens, streaming decode, and the chat layouts fluxrl feeds its models.
//
// Pipeline of tok_encode, as in HF tokenizers with add_special_tokens=false:
//   invalid UTF-8 → U+FFFD · added tokens split out (leftmost-longest) · normalizer (NFC) ·
//   pre-tokenizer (Split regexes through PCRE2, ByteLevel) · BPE on the bytes of each piece.
// What tokenizer.json may hold, and what is refused, is listed in docs/tokenizer.md.
#ifndef FLUXRL_TOK_H
#define FLUXRL_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "../core/fx.h"

typedef struct tok_tokenizer tok_tokenizer;

// A growable list of token ids; zero-initialise, append with tok_encode, release with tok_ids_free.
typedef struct {
    int32_t *ids;
    size_t n, cap;
} tok_ids;

void tok_ids_push(tok_ids *v, int32_t id);
void tok_ids_free(tok_ids *v);

// Loads PATH, a tokenizer.json or a folder holding one, and the tokenizer_config.json beside it
// when there is one (bos/eos/pad). Bad or unsupported files: -1 with err naming the file and the
// JSON path ("tokenizer.json: pre_tokenizer.pretokenizers[0].type: unsupported 'Metaspace'").
int tok_load(tok_tokenizer **out, const char *path, fx_err *err);
// The same from memory; name is used in messages, config_json may be NULL.
int tok_load_json(tok_tokenizer **out, const char *json, size_t len, const char *config_json, size_t config_len,
                  const char *name, fx_err *err);
// The built-in tokenizer (model/builtin/tokenizer/, compiled into the library): the embedded
// default's, for the built-in arithmetic task.
int tok_load_builtin(tok_tokenizer **out, fx_err *err);
// Writes the built-in tokenizer's tokenizer.json and tokenizer_config.json into dir (created), so
// a model trained with it is a complete Hugging Face folder.
int tok_write_builtin(const char *dir, fx_err *err);
void tok_free(tok_tokenizer *t);

// Appends the ids of text[0..len) to out. Never fails: invalid UTF-8 is first replaced by U+FFFD,
// one per maximal ill-formed subsequence (as JavaScript's TextDecoder and Python's
// errors="replace" do), so such input encodes like its replaced text.
// Not thread-safe: the tokenizer keeps a cache of encoded words; use one tokenizer per thread.
void tok_encode(tok_tokenizer *t, const char *text, size_t len, tok_ids *out);

// The bytes of ids, concatenated (NUL-terminated, length in *len). Ids without a token are skipped;
// special added tokens too when skip_special. The bytes may end inside a UTF-8 character when the
// ids do; tok_utf8_sanitize makes such text valid.
char *tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, bool skip_special, size_t *len);

// Vocabulary.
int32_t tok_vocab_size(const tok_tokenizer *t);                               // highest id + 1
// A tokenizer whose ids reach past the model's embedding rows is bad input (a model folder with
// another model's tokenizer): err names dir's tokenizer.json and both sizes.
int tok_check_vocab(const tok_tokenizer *t, int32_t model_vocab, const char *dir, fx_err *err);
const char *tok_token_bytes(const tok_tokenizer *t, int32_t id, size_t *len); // NULL: no such id
int32_t tok_token_id(const tok_tokenizer *t, const char *token);              // raw text of a token; -1 if none
bool tok_is_special(const tok_tokenizer *t, int32_t id);
// An added token (tokenizer.json's added_tokens, special or not: R1-Distill's <｜User｜> is not special).
bool tok_is_added(const tok_tokenizer *t, int32_t id);
int32_t tok_bos(const tok_tokenizer *t); // -1 when the config names none
int32_t tok_eos(const tok_tokenizer *t);
int32_t tok_pad(const tok_tokenizer *t);

// Streaming decode for generation: push ids one at a time and get back only whole UTF-8
// characters; bytes of a character still incomplete are held until the ids that finish it.
// A sequence that can no longer become valid comes out as U+FFFD. The returned text lives in the
// stream until the next call.
typedef struct {
    char *buf;
    size_t len, cap;
    unsigned char held[4];
    int nheld;
} tok_stream;

void tok_stream_init(tok_stream *s);
const char *tok_stream_push(tok_stream *s, const tok_tokenizer *t, int32_t id, size_t *len);
const char *tok_stream_flush(tok_stream *s, size_t *len); // held bytes → U+FFFD, and reset
void tok_stream_free(tok_stream *s);

// A copy of text[0..len) with every ill-formed UTF-8 subsequence replaced by U+FFFD (NUL-terminated).
char *tok_utf8_sanitize(const char *text, size_t len, size_t *out_len);

// Chat layouts. CHATML is the Qwen family's: "<|im_start|>ROLE\nCONTENT<|im_end|>\n" per message
// and "<|im_start|>assistant\n" as the generation prompt. R1 is the same with the assistant turn
// opened by "<think>\n" (the reasoning models' prompt: the model writes its trajectory first).
// AUTO (tok_prompt below) is the tokenizer's own chat template.
typedef enum { TOK_CHAT_CHATML = 0, TOK_CHAT_R1, TOK_CHAT_AUTO } tok_chat_style;

typedef struct {
    const char *role; // "system", "user", "assistant"
    const char *content;
} tok_message;

int tok_chat_style_parse(const char *name, tok_chat_style *out); // "chatml" | "r1" | "auto"
char *tok_chat_format(const tok_message *msgs, int n, tok_chat_style style, bool add_generation_prompt);
// A problem as the prompt every decoding command feeds the model: the user turn `text` in `style`
// with the generation prompt, encoded and appended to out.
void tok_encode_prompt(tok_tokenizer *t, const char *text, tok_chat_style style, tok_ids *out);

// The PRM input (Qwen2.5-Math-PRM layout): optional system turn, user = problem, assistant = the
// steps, each followed by "<extra_0>", the turn closed by "<|im_end|>\n". The PRM's step scores
// are read at the <extra_0> positions.
char *tok_prm_format(const char *system, const char *problem, const char *const *steps, int nsteps);
// fluxrl's policy layout of a PRM input (fluxrl's extension, docs/prm.md): the problem as the r1
// prompt (the user turn, the assistant turn opened by "<think>\n": how the built-in policy is
// prompted), the steps joined by blank lines as the policy writes them, then one "<extra_0>" where
// the trajectory reward is read. A step is read at the token holding its last byte. begin (may be
// NULL; nsteps + 1 entries): the byte where step k starts, begin[nsteps] where "<extra_0>" does.
char *tok_prm_policy_format(const char *problem, const char *const *steps, int nsteps, size_t *begin);
// The index of the token of ids (the tokens of a whole text) that holds byte `at` of the text, by
// the tokens' bytes; ids->n - 1 past the end.
int tok_token_holding(const tok_tokenizer *t, const tok_ids *ids, size_t at);

// Chat templates: tokenizer_config.json's "chat_template" (a string, or a list of {name, template}
// of which "default" is taken), or chat_template.jinja beside tokenizer.json, parsed when the
// tokenizer loads (model/jinja.h: a construct fluxrl does not implement is a load error naming
// the file, the construct and its line). tok_apply_chat_template renders it as transformers'
// apply_chat_template(messages, tokenize=False, add_generation_prompt, **extra_vars) does: the
// variables are messages (a JSON array of {"role", "content", ...}), add_generation_prompt, tools
// and documents (null unless extra_vars holds them), bos_token / eos_token / pad_token as the
// config names them, and every member of extra_vars (enable_thinking, date_string, ...). Returns
// the text (caller frees), or NULL with err: no template, or the template failed (the message of
// its raise_exception, or the line where jinja2 would fail too).
bool tok_has_chat_template(const tok_tokenizer *t);
int tok_set_chat_template(tok_tokenizer *t, const char *src, const char *name, fx_err *err);
char *tok_apply_chat_template(const tok_tokenizer *t, const cJSON *messages, bool add_generation_prompt,
                              const cJSON *extra_vars, fx_err *err);
// One record of `fluxrl tokenize --chat`: {"messages": [...], "add_generation_prompt": true|false
// (default false), any other member a template variable}. Renders it and appends the ids of the
// text to out (add_special_tokens=false: the template writes the special tokens, as transformers'
// apply_chat_template(tokenize=True) does). Returns the text (caller frees), or NULL with err
// naming the field and what was expected, or the template's error.
char *tok_chat_encode(tok_tokenizer *t, const cJSON *record, tok_ids *out, fx_err *err);

// tokenizer_config.json's add_bos_token (false when absent): whether encoding raw text with
// special tokens (HF's add_special_tokens=True) puts bos first. Never applied to a rendered chat
// template, which writes bos itself.
bool tok_add_bos_token(const tok_tokenizer *t);
// Appends the ids of raw text as HF's tokenizer(text) (add_special_tokens=True) gives them: bos
// first when add_bos_token and the config names one, then tok_encode's ids.
void tok_encode_special(tok_tokenizer *t, const char *text, size_t len, tok_ids *out);

// Appends generation_config.json's eos_token_id (an id or a list of ids) in the model folder dir
// to out; nothing when dir is NULL or holds no such file or key. An id that is not the tokenizer's
// is bad input naming the file and the field.
int tok_generation_eos(const tok_tokenizer *t, const char *dir, tok_ids *out, fx_err *err);

// Prompts as every decoding and training command builds them from a problem (model/tok_prompt.c).
// TOK_CHAT_AUTO renders the tokenizer's chat template over [system turn when one is given,
// user: problem] with add_generation_prompt=true and the template variables, and encodes the text
// without adding special tokens (transformers' apply_chat_template(tokenize=True): the template
// writes bos itself). TOK_CHAT_CHATML / TOK_CHAT_R1 write the fixed layouts above (the system turn
// first when given) and encode them as raw text with special tokens (add_bos_token honoured).
typedef struct {
    tok_chat_style style;
    char *system;        // the system turn; NULL: none (a template may then write its default one)
    cJSON *vars;         // template variables (a JSON object); NULL: none
    bool opens_think;    // the prompt ends with "<think>\n": a response continues the trajectory
    int32_t end_of_turn; // what closes an assistant turn (SFT appends it to each response)
    // The ids generation stops on: end_of_turn, generation_config.json's eos_token_id, the
    // tokenizer's eos (each once).
    int32_t *stop;
    int nstop;
} tok_prompt;

typedef struct {
    const char *chat;     // "auto" | "chatml" | "r1"
    const char *system;   // NULL or "": none
    const char *vars;     // a JSON object as text; NULL or "": none
    const char *dir;      // the model folder (its generation_config.json, its name in messages); NULL: built-in
    const char *chat_key; // how messages name the settings: "task.chat", "--chat", ...
    const char *system_key, *vars_key;
} tok_prompt_opts;

// Checks the settings against the tokenizer and finds opens_think, end_of_turn and the stop ids:
// the template is rendered once over a probe conversation, so a template that cannot render (no
// template under auto, a raise_exception, an end-of-turn it never writes and no eos) is bad input
// here, with the file and the setting named. end_of_turn under auto is the first special token the
// template writes after an assistant message's content (the tokenizer's eos when it writes none);
// under chatml / r1 it is <|im_end|>, which the tokenizer must have.
int tok_prompt_init(tok_prompt *p, tok_tokenizer *t, const tok_prompt_opts *o, fx_err *err);
void tok_prompt_free(tok_prompt *p);
// The prompt of `problem` as text (caller frees); NULL with err when the template fails on it.
char *tok_prompt_text(const tok_prompt *p, const tok_tokenizer *t, const char *problem, fx_err *err);
// Appends the ids of the prompt of `problem` followed by `cont` (NULL: nothing; text the assistant
// already wrote, encoded together with the prompt) to out. -1 with err when the template fails.
int tok_prompt_encode(const tok_prompt *p, tok_tokenizer *t, const char *problem, const char *cont, tok_ids *out,
                      fx_err *err);
// The same with `system` as the system turn in place of the prompt's own (task.system); NULL: its
// own. A problem's own system turn (grpo.system_key: its data line's text, e.g. a preference in words).
char *tok_prompt_text_as(const tok_prompt *p, const tok_tokenizer *t, const char *system, const char *problem,
                         fx_err *err);
int tok_prompt_encode_as(const tok_prompt *p, tok_tokenizer *t, const char *system, const char *problem,
                         const char *cont, tok_ids *out, fx_err *err);
// True when id is one of p's stop ids.
bool tok_prompt_is_stop(const tok_prompt *p, int32_t id);

// BPE training (deterministic): learns merges on the pre-tokens of text with the Qwen2 split
// pattern until the vocabulary has vocab_size entries (256 byte tokens + merges), then appends the
// special tokens. Writes tokenizer.json and tokenizer_config.json (eos = the special named eos, pad =
// the one named pad; either may be NULL) into dir.
typedef struct {
    const char *const *specials;
    int nspecial;
    const char *eos, *pad;
    int vocab_size;
} tok_train_opts;

int tok_train(const char *text, size_t len, const tok_train_opts *o, const char *dir, fx_err *err);

#endif
