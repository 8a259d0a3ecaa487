// fx.h — the common ground of every fluxrl folder: exit codes, error reports for bad input,
// fail-fast check helpers (after llm.c's mallocCheck/fopenCheck), invariants.
#ifndef FLUXRL_FX_H
#define FLUXRL_FX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FLUXRL_VERSION "0.1.0"

// Exit codes of every fluxrl program: 2 always means "your input is wrong"; 3 means a signal
// (SIGTERM from Slurm, Ctrl-C) stopped a training run after it wrote a checkpoint to resume from.
enum { FX_EXIT_OK = 0, FX_EXIT_FAIL = 1, FX_EXIT_INPUT = 2, FX_EXIT_STOPPED = 3 };

// An error about bad input: one line naming the file, the field and what was expected.
// Functions that read user files take an fx_err* and return 0 on success, -1 with err filled.
typedef struct {
    char msg[1024];
} fx_err;

#if defined(__GNUC__)
#define FX_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define FX_NORETURN __attribute__((noreturn))
#else
#define FX_PRINTF(a, b)
#define FX_NORETURN
#endif

// Fills err (when not NULL) and returns -1, so callers write `return fx_errf(err, ...)`.
int fx_errf(fx_err *err, const char *fmt, ...) FX_PRINTF(2, 3);

// Logs "file:line: message (hint)" at error level, then ends the process, or the whole MPI job
// when an abort hook is set (comm/ sets one that calls MPI_Abort).
FX_NORETURN void fx_fatal_at(const char *file, int line, int code, const char *fmt, ...)
    FX_PRINTF(4, 5);
#define fx_fatal(...) fx_fatal_at(__FILE__, __LINE__, FX_EXIT_FAIL, __VA_ARGS__)

typedef void (*fx_abort_hook)(int code);
void fx_set_abort_hook(fx_abort_hook hook);

// Invariants of the code itself (not of user input): a failure is a bug in fluxrl.
#define FX_ASSERT(cond)                                                                        \
    do {                                                                                       \
        if (!(cond)) fx_fatal_at(__FILE__, __LINE__, FX_EXIT_FAIL, "assertion failed: %s", #cond); \
    } while (0)

// Allocation and file helpers that never return NULL: they end the job naming the call site.
void *fx_malloc_at(size_t size, const char *file, int line);
void *fx_calloc_at(size_t n, size_t size, const char *file, int line);
void *fx_realloc_at(void *p, size_t size, const char *file, int line);
char *fx_strdup_at(const char *s, const char *file, int line);
FILE *fx_fopen_at(const char *path, const char *mode, const char *file, int line);
#define fx_malloc(size) fx_malloc_at((size), __FILE__, __LINE__)
#define fx_calloc(n, size) fx_calloc_at((n), (size), __FILE__, __LINE__)
#define fx_realloc(p, size) fx_realloc_at((p), (size), __FILE__, __LINE__)
#define fx_strdup(s) fx_strdup_at((s), __FILE__, __LINE__)
#define fx_fopen(path, mode) fx_fopen_at((path), (mode), __FILE__, __LINE__)

// Reads a whole file into a NUL-terminated buffer (caller frees). Bad input, not fatal:
// a missing or unreadable file fills err with the path and the reason.
char *fx_read_file(const char *path, size_t *len, fx_err *err);

// Opens an input file for reading; a directory or a missing file fills err with the path and the
// reason (a directory would read as empty on Linux, and a command would succeed on nothing).
FILE *fx_fopen_input(const char *path, fx_err *err);

// Where JSON text holds a NUL character (a raw 0 byte, or the escape \u0000 in a string), or NULL.
// cJSON would end the string there and the rest of it would be lost without a word.
const char *fx_json_find_nul(const char *text, size_t len);

// JSON Lines input, a line at a time: blank lines are skipped and a NUL character is refused
// (fx_json_find_nul). Set f and path (for messages); line holds the current line (newline kept),
// lineno its number in the file.
typedef struct {
    FILE *f;
    const char *path;
    char *line;
    size_t cap;
    int lineno;
} fx_jsonl;
// The next non-blank line: 1; 0 at the end; -1 with err "PATH:LINE: a NUL character ...".
int fx_jsonl_next(fx_jsonl *r, fx_err *err);
// Frees the line buffer (the caller closes f).
void fx_jsonl_free(fx_jsonl *r);

// Writes data to path atomically: a temporary file in the same folder, fsync, rename. A reader
// never sees a half-written file under the final name.
int fx_write_file_atomic(const char *path, const void *data, size_t len, fx_err *err);
// A JSON document, indented and ended by a newline, written as fx_write_file_atomic writes.
struct cJSON;
// The JSON object in the file at path (caller frees with cJSON_Delete); NULL with err naming the
// file when it cannot be read or holds anything but a JSON object.
struct cJSON *fx_read_json_object(const char *path, fx_err *err);
int fx_write_json_atomic(const char *path, const struct cJSON *root, fx_err *err);

// mkdir -p.
int fx_mkdir_p(const char *path, fx_err *err);
// Creates the folder dir (mkdir -p) and writes text and a newline to dir/name as
// fx_write_file_atomic writes (a run's config.json).
int fx_write_text_in(const char *dir, const char *name, const char *text, fx_err *err);

// Splits text, a comma-separated list, into at most max items, none empty: text is copied into
// buf (cap bytes; buf may be text itself, to split it in place) and each comma becomes a NUL,
// items[i] pointing into buf. Returns the count, or -1 with err naming key (too long, too many
// items, an empty one).
int fx_split_list(const char *key, const char *text, char *buf, size_t cap, char **items, int max, fx_err *err);
// The numbers of a comma-separated list into w[0..n), at most max of them (fx_split_list, then
// strtof); n, or -1 with err naming key and the item that is not a number.
int fx_parse_floats(const char *key, const char *text, float *w, int max, fx_err *err);

// Monotonic clock in seconds (for durations; never the wall-clock time of day).
double fx_time_now(void);

#endif
