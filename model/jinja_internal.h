// jinja_internal.h — the parsed template (a tree of nodes) and the values of a render, shared by
// model/jinja_*.c only. Both live in arenas: the tree in the template's, a render's values in the
// render's, freed whole at its end (errors leave through longjmp, so nothing is freed piecemeal).
#ifndef FLUXRL_JINJA_INTERNAL_H
#define FLUXRL_JINJA_INTERNAL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jinja.h"

// ---- arena ----
typedef struct jarena_block jarena_block;
typedef struct {
    jarena_block *head;
    size_t total; // bytes held
} jarena;

void *jarena_alloc(jarena *a, size_t n); // zeroed
char *jarena_strndup(jarena *a, const char *s, size_t n);
void jarena_free(jarena *a);

// ---- values ----
typedef enum { JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_LIST, JV_DICT, JV_NS, JV_MACRO } jv_kind;

typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct jnode jnode;

typedef struct {
    jv_kind k;
    bool tuple; // a list made by (a, b) or items(): printed as a Python tuple
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *p;
            size_t n;
        } s;
        jlist *l;
        jdict *d; // JV_DICT and JV_NS
        const jnode *macro;
    } u;
} jval;

struct jlist {
    jval *v;
    size_t n, cap;
};

struct jdict { // insertion-ordered, as Python's dict
    const char **key;
    size_t *klen;
    jval *v;
    size_t n, cap;
};

// ---- the tree ----
typedef enum {
    // statements
    JN_TEXT, JN_OUTPUT, JN_IF, JN_FOR, JN_SET, JN_SET_ATTR, JN_SET_BLOCK, JN_MACRO, JN_BREAK, JN_CONTINUE, JN_BLOCK,
    // expressions
    JN_LIT, JN_NAME, JN_ATTR, JN_INDEX, JN_SLICE, JN_CALL, JN_FILTER, JN_TEST, JN_NEG, JN_POS, JN_NOT, JN_AND, JN_OR,
    JN_BINOP, JN_CMP, JN_COND, JN_LIST, JN_TUPLE, JN_DICT
} jn_kind;

typedef struct {
    jnode **v;
    int n, cap;
} jnodes;

struct jnode {
    jn_kind kind;
    int line;
    int op;            // JN_BINOP / JN_CMP: the operator (JOP_*); JN_TEST: 1 when negated
    const char *name;  // JN_NAME, JN_ATTR attribute, filter / test / method name, set target, macro name
    const char *attr;  // JN_SET_ATTR: the namespace attribute
    jval lit;          // JN_LIT
    jnode *a, *b, *c;  // operands; JN_FOR: a = iterable, b = filter condition; JN_SLICE: a[b:c:d]
    jnode *d;
    jnodes args;       // call / filter / test arguments, list and tuple items, dict keys and values
    const char **kw;   // kw[i]: keyword of args[i], NULL when positional (NULL: all positional)
    jnodes body, orelse; // statements: if/for/macro bodies, elif chain as orelse
    const char **targets; // JN_FOR loop variables, JN_SET targets, JN_MACRO parameters
    int ntargets;
    jnodes defaults;      // JN_MACRO: defaults[i] for parameter i (NULL: none)
    // Names that start undefined in the frame this node opens (a for body, its else, a macro, a
    // block set, a generation block), whatever outer frames or the variables hold: see
    // jinja_frames in jinja_parse.c. frame2: the for loop's else.
    const char **frame, **frame2;
    int nframe, nframe2;
};

enum {
    JOP_ADD = 1, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_POW, JOP_CONCAT,
    JOP_EQ, JOP_NE, JOP_LT, JOP_LE, JOP_GT, JOP_GE, JOP_IN, JOP_NOTIN
};

struct jinja_template {
    jarena arena;
    jnodes body;
    const char **frame; // the names that start undefined at the top level (as jnode.frame)
    int nframe;
    char name[512];
};

// ---- a render ----
// A growable string in the arena (jb_add: values' str and repr, filters' results, the output).
typedef struct {
    char *p;
    size_t n, cap;
} jbuf;

typedef struct jscope jscope;
struct jscope {
    jdict vars;
    jscope *parent;
};

enum { JFLOW_NONE, JFLOW_BREAK, JFLOW_CONTINUE };

typedef struct {
    jarena *a, arena;
    const jinja_template *t;
    jscope *top; // the template's top level: what macros see
    fx_err *err;
    jmp_buf fail;
    jbuf out;  // the output of the innermost macro call or block set being rendered
    int depth; // macro calls
    int flow;  // JFLOW_*: set by break / continue, consumed by the innermost loop
    int64_t steps; // statements run and loop items tested: bounded, so no template runs forever
} jctx;

FX_NORETURN void jinja_fail(jctx *c, int line, const char *fmt, ...) FX_PRINTF(3, 4);
// The error of a failed parse or rendering (jinja_fail, the parser's fail): "TEMPLATE: line N: <message>".
void jinja_errv(fx_err *err, const char *name, int line, const char *fmt, va_list ap);

// values (jinja_value.c)
jval jv_str(jctx *c, const char *s, size_t n);
jval jv_cstr(const char *s);
jval jv_int(int64_t i);
jval jv_bool(bool b);
jval jv_list(jctx *c);
jval jv_dict(jctx *c);
void jv_push(jctx *c, jlist *l, jval v);
jval *jv_get(const jdict *d, const char *key, size_t klen);
void jv_set(jctx *c, jdict *d, const char *key, size_t klen, jval v);
jval jv_from_json(jctx *c, const cJSON *j);
bool jv_truthy(jval v);
bool jv_equal(jval a, jval b);
const char *jv_type_name(jval v);
void jb_add(jctx *c, jbuf *b, const char *s, size_t n);
// An empty buffer: the string "" even when nothing is added to it.
jbuf jb_new(jctx *c);
// The buffer's text as a string value (not copied: both live in the arena).
jval jb_value(const jbuf *b);
// str(v) / repr(v) as Python writes them, appended to b.
void jv_str_to(jctx *c, jbuf *b, jval v, int line);
void jv_repr_to(jctx *c, jbuf *b, jval v, int line);
jval jv_to_str(jctx *c, jval v, int line);
// transformers' tojson: json.dumps(v, ensure_ascii, indent, separators, sort_keys).
void jv_json_to(jctx *c, jbuf *b, jval v, bool ascii, int indent, const char *item_sep, const char *key_sep,
                int level, int line);
size_t jv_utf8_count(const char *s, size_t n);
size_t jv_utf8_offset(const char *s, size_t n, size_t k); // byte offset of code point k
bool jv_is_space(uint32_t cp);
uint32_t jv_utf8_next(const char *s, size_t n, size_t *i);

// builtins (jinja_builtins.c): each is looked up by name at parse time so that an unknown one
// is refused there.
bool jinja_has_filter(const char *name);
bool jinja_has_test(const char *name);
bool jinja_has_method(const char *name);
bool jinja_has_function(const char *name);
jval jinja_filter(jctx *c, const jnode *n, jval v, jval *args, const char **kw, int nargs);
bool jinja_test(jctx *c, const jnode *n, jval v, jval *args, int nargs);
jval jinja_method(jctx *c, const jnode *n, jval obj, jval *args, const char **kw, int nargs);
jval jinja_function(jctx *c, const jnode *n, jval *args, const char **kw, int nargs);
// The item or attribute lookups of jinja2's environment (getitem: obj[key] first; getattr: the
// attribute first); both give undefined when there is none, and fail on undefined.
jval jinja_getitem(jctx *c, jval obj, jval key, int line);
jval jinja_getattr(jctx *c, jval obj, const char *name, int line);
jval jinja_iterate(jctx *c, jval v, int line); // the list a for loop walks

#endif
