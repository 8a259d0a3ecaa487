// reward_cmd.c — an external reward program's worker processes: see external.h.
// Each worker is `/bin/sh -c COMMAND` in a process group of its own, with three pipes (close-on-exec
// on our side, non-blocking): we write JSON request lines to its stdin, read result lines from its
// stdout and keep the last bytes of its stderr. One poll() loop interleaves writes and reads, so a
// worker blocked writing results while we write requests cannot deadlock either side.
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "external.h"

extern char **environ;

#define TAIL_BYTES 4096 // stderr kept per worker
#define TAIL_SHOWN 600  // of which an error shows the last lines, at most this many bytes
#define MAX_LINE (256 << 20) // a result line longer than this is an error, not unbounded memory

typedef struct {
    int pid;               // 0: not running
    int in, out, errfd;    // our ends of its stdin, stdout, stderr; -1: closed
    char *wbuf;            // bytes still to write to its stdin: [woff, wlen)
    size_t wlen, woff, wcap;
    char *rbuf;            // a partial result line
    size_t rlen, rcap;
    char tail[TAIL_BYTES]; // the last bytes of its stderr, in order
    size_t tail_len;
    int *owed;             // batch indices of the requests sent and not answered, oldest first
    int nowed;
    double last;           // when it last returned a result (or was given work)
    bool restarted;        // restarted once in this batch already
} worker;

struct reward_cmd {
    char *command; // what /bin/sh -c runs
    char *given;   // reward.command as written, for messages
    double timeout;
    int n;
    worker *w;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---- starting and stopping ------------------------------------------------------------------------

// True when the command's first word names a program that exists (or a shell word we cannot check).
static bool program_found(const char *command, char *word, size_t cap) {
    const char *s = command + strspn(command, " \t");
    size_t n = strcspn(s, " \t;|&<>()");
    if (n == 0 || n >= cap) return true;
    memcpy(word, s, n), word[n] = '\0';
    static const char *const shell_words[] = {"exec", "cd", ".", "eval", "set", "export", "ulimit",
                                              "command", "if", "for", "while", "{", "!", "env"};
    for (size_t i = 0; i < sizeof shell_words / sizeof *shell_words; i++)
        if (!strcmp(word, shell_words[i])) return true;
    if (strchr(word, '=') || strchr(word, '$') || strchr(word, '"') || strchr(word, '\'')) return true;
    struct stat st;
    if (strchr(word, '/')) return stat(word, &st) == 0 && S_ISREG(st.st_mode) && access(word, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char full[4096];
    for (const char *p = path; *p;) {
        size_t m = strcspn(p, ":");
        snprintf(full, sizeof full, "%.*s/%s", (int)m, m ? p : ".", word);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) return true;
        p += m + (p[m] == ':');
    }
    return false;
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

// Reads what its stderr holds now into the tail (non-blocking); closes it at end of file.
static void drain_stderr(worker *w) {
    char buf[4096];
    while (w->errfd >= 0) {
        ssize_t got = read(w->errfd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) close_fd(&w->errfd);
            return;
        }
        size_t g = (size_t)got;
        if (g >= TAIL_BYTES) {
            memcpy(w->tail, buf + g - TAIL_BYTES, TAIL_BYTES), w->tail_len = TAIL_BYTES;
            continue;
        }
        if (w->tail_len + g > TAIL_BYTES) {
            size_t drop = w->tail_len + g - TAIL_BYTES;
            memmove(w->tail, w->tail + drop, w->tail_len - drop), w->tail_len -= drop;
        }
        memcpy(w->tail + w->tail_len, buf, g), w->tail_len += g;
    }
}

// Ends the worker: its stdin closed (a well-behaved program exits at end of file), `grace` seconds
// to exit, then SIGKILL to its whole process group; reaped. Returns its wait status (-1: unknown).
static int stop_worker(worker *w, double grace) {
    int status = -1;
    close_fd(&w->in);
    if (w->pid > 0) {
        bool reaped = false;
        for (double t0 = now_s(); !reaped;) {
            pid_t r = waitpid(w->pid, &status, WNOHANG);
            if (r == w->pid || (r < 0 && errno != EINTR)) reaped = true;
            else if (now_s() - t0 >= grace) break;
            else {
                drain_stderr(w);
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        kill(-w->pid, SIGKILL); // the group: the shell's own children too
        if (!reaped)
            while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
            }
        w->pid = 0;
    }
    // What it wrote to stderr before it ended (every writer is gone now, so this ends).
    for (int tries = 0; w->errfd >= 0 && tries < 50; tries++) {
        struct pollfd p = {w->errfd, POLLIN, 0};
        if (poll(&p, 1, 20) > 0) drain_stderr(w);
    }
    close_fd(&w->out), close_fd(&w->errfd);
    w->wlen = w->woff = w->rlen = 0;
    return status;
}

static int start_worker(worker *w, const char *command, fx_err *err) {
    int in[2], out[2], er[2];
    if (pipe2(in, O_CLOEXEC)) return fx_errf(err, "reward.command: cannot make a pipe: %s", strerror(errno));
    if (pipe2(out, O_CLOEXEC)) {
        close(in[0]), close(in[1]);
        return fx_errf(err, "reward.command: cannot make a pipe: %s", strerror(errno));
    }
    if (pipe2(er, O_CLOEXEC)) {
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return fx_errf(err, "reward.command: cannot make a pipe: %s", strerror(errno));
    }
    pid_t parent = getpid();
    char *argv[] = {"sh", "-c", (char *)command, NULL}; // built before fork: the child must not allocate
    pid_t pid = fork();
    if (pid == 0) { // the child: async-signal-safe calls only, then exec
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); // no orphan when fluxrl itself is killed
        if (getppid() != parent) _exit(127);
        int fds[3] = {in[0], out[1], er[1]};
        for (int k = 0; k < 3; k++) {
            if (fds[k] == k) fcntl(k, F_SETFD, 0); // dup2 onto itself would keep close-on-exec
            else if (dup2(fds[k], k) < 0) _exit(127);
        }
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL); // an ignored disposition would survive exec
        sigaction(SIGTERM, &dfl, NULL), sigaction(SIGINT, &dfl, NULL), sigaction(SIGUSR1, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve("/bin/sh", argv, environ); // execve: async-signal-safe, unlike execl
        _exit(127);
    }
    close(in[0]), close(out[1]), close(er[1]);
    if (pid < 0) {
        close(in[1]), close(out[0]), close(er[0]);
        return fx_errf(err, "reward.command: cannot start a process: %s", strerror(errno));
    }
    setpgid(pid, pid); // also here, so that a kill of the group cannot race the child's own call
    w->pid = pid, w->in = in[1], w->out = out[0], w->errfd = er[0];
    fcntl(w->in, F_SETFL, fcntl(w->in, F_GETFL) | O_NONBLOCK);
    fcntl(w->out, F_SETFL, fcntl(w->out, F_GETFL) | O_NONBLOCK);
    fcntl(w->errfd, F_SETFL, fcntl(w->errfd, F_GETFL) | O_NONBLOCK);
    w->wlen = w->woff = w->rlen = 0, w->tail_len = 0;
    return 0;
}

// A simple command (no shell operators or expansions) runs as `exec COMMAND`: the program replaces
// the shell and keeps the parent-death signal, so it dies with fluxrl even when fluxrl is killed.
static char *shell_line(const char *command) {
    const char *s = command + strspn(command, " \t");
    bool simple = strpbrk(s, ";&|<>()`$\n\\{}*?[~#") == NULL && strncmp(s, "exec ", 5) != 0;
    static const char *const keywords[] = {"if ", "for ", "while ", "until ", "case ", "!"};
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (!strncmp(s, keywords[i], strlen(keywords[i]))) simple = false;
    if (!simple) return fx_strdup(command);
    size_t n = strlen(s) + 6;
    char *line = fx_malloc(n);
    snprintf(line, n, "exec %s", s);
    return line;
}

int reward_cmd_open(reward_cmd **out, const reward_cmd_opts *o, fx_err *err) {
    *out = NULL;
    char word[1024];
    if (!o->command[0]) return fx_errf(err, "reward.command: empty; expected the program to run");
    if (!program_found(o->command, word, sizeof word))
        return fx_errf(err, "reward.command: \"%s\": the program %s is not found or not executable", o->command,
                       word);
    struct sigaction ign, old;
    sigaction(SIGPIPE, NULL, &old);
    if (old.sa_handler == SIG_DFL) { // a worker that dies must not take fluxrl with it
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &ign, NULL);
    }
    reward_cmd *rc = fx_calloc(1, sizeof *rc);
    rc->command = shell_line(o->command), rc->given = fx_strdup(o->command), rc->timeout = o->timeout, rc->n = o->workers > 0 ? o->workers : 1;
    rc->w = fx_calloc((size_t)rc->n, sizeof *rc->w);
    for (int i = 0; i < rc->n; i++) rc->w[i].in = rc->w[i].out = rc->w[i].errfd = -1;
    for (int i = 0; i < rc->n; i++)
        if (start_worker(&rc->w[i], rc->command, err)) {
            reward_cmd_close(rc);
            return -1;
        }
    *out = rc;
    return 0;
}

void reward_cmd_close(reward_cmd *rc) {
    if (!rc) return;
    for (int i = 0; i < rc->n; i++) {
        stop_worker(&rc->w[i], 1.0);
        free(rc->w[i].wbuf), free(rc->w[i].rbuf), free(rc->w[i].owed);
    }
    free(rc->w), free(rc->command), free(rc->given), free(rc);
}

int reward_cmd_pid(const reward_cmd *rc, int i) { return rc->w[i].pid; }

// ---- requests and results -------------------------------------------------------------------------

static void queue_bytes(worker *w, const char *s, size_t n) {
    if (w->wlen + n > w->wcap) {
        w->wcap = (w->wlen + n) * 2;
        w->wbuf = fx_realloc(w->wbuf, w->wcap);
    }
    memcpy(w->wbuf + w->wlen, s, n), w->wlen += n;
}

static void queue_request(worker *w, const reward_request *q) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)q->id);
    cJSON_AddStringToObject(o, "problem", q->problem ? q->problem : "");
    cJSON_AddStringToObject(o, "response", q->response ? q->response : "");
    cJSON_AddStringToObject(o, "answer", q->answer ? q->answer : "");
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    for (int k = 0; k < q->nsteps; k++) cJSON_AddItemToArray(steps, cJSON_CreateString(q->steps[k]));
    cJSON *meta = q->meta ? cJSON_Parse(q->meta) : NULL;
    cJSON_AddItemToObject(o, "meta", cJSON_IsObject(meta) ? meta : (cJSON_Delete(meta), cJSON_CreateObject()));
    char *line = cJSON_PrintUnformatted(o);
    FX_ASSERT(line);
    queue_bytes(w, line, strlen(line));
    queue_bytes(w, "\n", 1);
    free(line);
    cJSON_Delete(o);
}

// The last lines of its stderr, at most TAIL_SHOWN bytes, each line prefixed for the log.
static void stderr_tail(const worker *w, char *out, size_t cap) {
    size_t n = w->tail_len;
    while (n > 0 && (w->tail[n - 1] == '\n' || w->tail[n - 1] == '\r')) n--;
    size_t from = n > TAIL_SHOWN ? n - TAIL_SHOWN : 0;
    if (from > 0) { // start at a line
        const char *nl = memchr(w->tail + from, '\n', n - from);
        if (nl) from = (size_t)(nl - w->tail) + 1;
    }
    if (n == from) {
        snprintf(out, cap, "; its stderr is empty");
        return;
    }
    size_t o = (size_t)snprintf(out, cap, "; the last lines of its stderr:\n  | ");
    for (size_t i = from; i < n && o + 8 < cap; i++) {
        char ch = w->tail[i];
        if (ch == '\n') o += (size_t)snprintf(out + o, cap - o, "\n  | ");
        else out[o++] = (ch >= 0x20 || ch == '\t' || (unsigned char)ch >= 0x80) ? ch : '?';
    }
    out[o < cap ? o : cap - 1] = '\0';
}

// A short, printable copy of what came back (for error messages).
static void quote(const char *s, size_t n, char *out, size_t cap) {
    size_t o = 0, i = 0, lim = n < 160 ? n : 160;
    for (; i < lim && o + 9 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') out[o++] = '\\', out[o++] = (char)ch;
        else if (ch < 0x20) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else out[o++] = (char)ch;
    }
    if (i < n) memcpy(out + o, "...", 3), o += 3;
    out[o] = '\0';
}

// Writes the message and returns -1.
static int failf(char *msg, size_t cap, const char *fmt, ...) FX_PRINTF(3, 4);
static int failf(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return -1;
}

// A result's list `key` (a, may be NULL) of exactly n finite numbers into out; -1 with msg naming
// the request, the line (q) and what is wrong otherwise.
static int take_numbers(const cJSON *a, const char *key, int n, const char *why, double *out, int64_t id,
                        const char *q, char *msg, size_t cap) {
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return failf(msg, cap, "request %lld: it wrote \"%s\": \"%s\" is %s; expected a list of %d numbers (%s)",
                     (long long)id, q, key, !a ? "missing" : "not a list of that length", n, why);
    for (int k = 0; k < n; k++) {
        const cJSON *v = cJSON_GetArrayItem(a, k);
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return failf(msg, cap, "request %lld: it wrote \"%s\": %s[%d] is not a finite number", (long long)id, q, key, k);
        out[k] = v->valuedouble;
    }
    return 0;
}

// Parses one result line of worker w. 0, or -1 with msg saying what is wrong.
static int take_line(worker *w, const reward_request *req, reward_result *res, bool *done, const char *line,
                     size_t len, char *msg, size_t cap) {
    char q[200];
    quote(line, len, q, sizeof q);
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return failf(msg, cap, "while it held request %lld, it wrote \"%s\", which is not a JSON object",
                        (long long)req[w->owed[0]].id, q);
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    int slot = -1;
    if (cJSON_IsNumber(id))
        for (int k = 0; k < w->nowed && slot < 0; k++)
            if ((double)req[w->owed[k]].id == id->valuedouble) slot = k;
    int rc = 0;
    if (slot < 0) {
        rc = failf(msg, cap, "while it held request %lld, it wrote \"%s\": \"id\" is %s", (long long)req[w->owed[0]].id,
                      q, cJSON_IsNumber(id) ? "not a request it holds" : "missing or not a number");
        cJSON_Delete(o);
        return rc;
    }
    int i = w->owed[slot];
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "reward");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "step_rewards");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(o, "info");
    if (!cJSON_IsNumber(r) || !isfinite(r->valuedouble))
        rc = failf(msg, cap, "request %lld: it wrote \"%s\": \"reward\" is %s; expected a finite number",
                   (long long)req[i].id, q, !r ? "missing" : cJSON_IsNumber(r) ? "not finite" : "not a number");
    else if (st && !cJSON_IsNull(st)) {
        rc = take_numbers(st, "step_rewards", req[i].nsteps, "one per step", res[i].step, req[i].id, q, msg, cap);
        res[i].has_steps = rc == 0;
    }
    if (!rc && res[i].ndims > 0)
        rc = take_numbers(cJSON_GetObjectItemCaseSensitive(o, "rewards"), "rewards", res[i].ndims,
                          "one per preference dimension, pcm.reward = bt", res[i].dims, req[i].id, q, msg, cap);
    if (!rc) {
        res[i].reward = r->valuedouble;
        free(res[i].info);
        res[i].info = info && !cJSON_IsNull(info) ? cJSON_PrintUnformatted(info) : NULL;
        done[i] = true;
        memmove(w->owed + slot, w->owed + slot + 1, (size_t)(w->nowed - slot - 1) * sizeof *w->owed);
        w->nowed--;
        w->last = now_s();
    }
    cJSON_Delete(o);
    return rc;
}

// Reads what its stdout holds and takes every complete line. 0; 1 at end of file; -1 with msg.
static int read_results(worker *w, const reward_request *req, reward_result *res, bool *done, char *msg,
                        size_t cap) {
    for (;;) {
        if (w->rlen + 65536 > w->rcap) w->rcap = (w->rlen + 65536) * 2, w->rbuf = fx_realloc(w->rbuf, w->rcap);
        ssize_t got = read(w->out, w->rbuf + w->rlen, w->rcap - w->rlen);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (got <= 0) return 1;
        w->rlen += (size_t)got;
        size_t start = 0;
        for (char *nl; (nl = memchr(w->rbuf + start, '\n', w->rlen - start));) {
            size_t len = (size_t)(nl - (w->rbuf + start));
            const char *line = w->rbuf + start;
            start += len + 1;
            if (len && line[len - 1] == '\r') len--;
            if (strspn(line, " \t") >= len) continue; // blank lines are allowed
            if (w->nowed == 0) {
                char q[200];
                quote(line, len, q, sizeof q);
                return failf(msg, cap, "it wrote \"%s\" while it held no request", q);
            }
            if (take_line(w, req, res, done, line, len, msg, cap)) return -1;
        }
        memmove(w->rbuf, w->rbuf + start, w->rlen - start), w->rlen -= start;
        if (w->rlen > MAX_LINE)
            return failf(msg, cap, "while it held request %lld, it wrote more than %d MiB without a newline",
                         w->nowed ? (long long)req[w->owed[0]].id : -1LL, MAX_LINE >> 20);
    }
}

// Writes what it can without blocking. 0, or -1 when its stdin is closed (the worker is gone).
static int write_requests(worker *w) {
    while (w->woff < w->wlen) {
        ssize_t put = write(w->in, w->wbuf + w->woff, w->wlen - w->woff);
        if (put < 0 && errno == EINTR) continue;
        if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (put < 0) return -1;
        w->woff += (size_t)put;
    }
    w->woff = w->wlen = 0;
    return 0;
}

static void describe_exit(int status, char *out, size_t cap) {
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) > 128)
        snprintf(out, cap, "exited with status %d: its shell's program was killed by signal %d", WEXITSTATUS(status),
                 WEXITSTATUS(status) - 128);
    else if (status >= 0 && WIFEXITED(status)) snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
    else if (status >= 0 && WIFSIGNALED(status)) snprintf(out, cap, "was killed by signal %d", WTERMSIG(status));
    else snprintf(out, cap, "ended");
}

// Worker k failed (msg). The first time in a batch: restart it and send its unanswered requests
// again (0). The second: -1 with err, every worker stopped.
static int worker_failed(reward_cmd *rc, int k, const reward_request *req, const char *msg, bool died, fx_err *err) {
    worker *w = &rc->w[k];
    drain_stderr(w);
    int status = stop_worker(w, died ? 0.5 : 0.0);
    char how[96], tail[TAIL_SHOWN + 200];
    if (died) describe_exit(status, how, sizeof how);
    else snprintf(how, sizeof how, "was stopped by fluxrl");
    stderr_tail(w, tail, sizeof tail);
    if (w->restarted) {
        char which[160] = "", q[80];
        if (w->nowed) { // what the oldest request it held was about, to find it again
            const reward_request *r = &req[w->owed[0]];
            quote(r->problem ? r->problem : "", r->problem ? strlen(r->problem) : 0, q, 48);
            snprintf(which, sizeof which, "; request %lld's problem: \"%s\"", (long long)r->id, q);
        }
        fx_errf(err, "reward.command: worker %d (\"%s\"), restarted once already: %s (it %s)%s%s", k, rc->given, msg,
                how, which, tail);
        for (int i = 0; i < rc->n; i++) stop_worker(&rc->w[i], 0.0);
        return -1;
    }
    fx_warn("reward.command: worker %d: %s (it %s); restarting it once and sending its %d unanswered requests again",
            k, msg, how, w->nowed);
    if (start_worker(w, rc->command, err)) {
        for (int i = 0; i < rc->n; i++) stop_worker(&rc->w[i], 0.0);
        return -1;
    }
    w->restarted = true, w->last = now_s();
    for (int j = 0; j < w->nowed; j++) queue_request(w, &req[w->owed[j]]);
    return 0;
}

int reward_cmd_score(reward_cmd *rc, const reward_request *req, int n, reward_result *res, fx_err *err) {
    int W = rc->n;
    for (int k = 0; k < W; k++) {
        worker *w = &rc->w[k];
        if (!w->pid && start_worker(w, rc->command, err)) return -1; // stopped by an earlier failure
        w->owed = fx_realloc(w->owed, (size_t)(n / W + 2) * sizeof *w->owed);
        w->nowed = 0, w->restarted = false, w->last = now_s(), w->rlen = 0;
    }
    bool *done = fx_calloc((size_t)(n ? n : 1), sizeof *done);
    for (int i = 0; i < n; i++) {
        worker *w = &rc->w[i % W];
        res[i].has_steps = false, res[i].info = NULL, res[i].reward = NAN;
        w->owed[w->nowed++] = i;
        queue_request(w, &req[i]);
    }
    struct pollfd *p = fx_malloc((size_t)W * 3 * sizeof *p);
    int left = n, rcode = 0;
    char msg[768];
    while (left > 0 && !rcode) {
        double wait = 1e9, t = now_s();
        for (int k = 0; k < W; k++) {
            worker *w = &rc->w[k];
            p[3 * k] = (struct pollfd){w->woff < w->wlen ? w->in : -1, POLLOUT, 0};
            p[3 * k + 1] = (struct pollfd){w->out, POLLIN, 0};
            p[3 * k + 2] = (struct pollfd){w->errfd, POLLIN, 0};
            if (w->nowed) wait = fmin(wait, w->last + rc->timeout - t);
        }
        int ms = wait <= 0 ? 0 : wait > 3600 ? 3600000 : (int)ceil(wait * 1000);
        if (poll(p, (nfds_t)W * 3, ms) < 0 && errno != EINTR) fx_fatal("poll: %s", strerror(errno));
        for (int k = 0; k < W && !rcode; k++) {
            worker *w = &rc->w[k];
            int before = w->nowed, fail = 0;
            bool died = false;
            if (p[3 * k + 2].revents) drain_stderr(w);
            if (p[3 * k].revents && write_requests(w)) {
                snprintf(msg, sizeof msg, "request %lld: its stdin is closed (the program is gone)",
                         (long long)req[w->owed[0]].id);
                fail = 1, died = true;
            }
            if (!fail && p[3 * k + 1].revents) {
                int r = read_results(w, req, res, done, msg, sizeof msg);
                if (r < 0) fail = 1;
                else if (r > 0 && w->nowed) {
                    snprintf(msg, sizeof msg, "request %lld: the program closed its stdout (died) before answering",
                             (long long)req[w->owed[0]].id);
                    fail = 1, died = true;
                } else if (r > 0) close_fd(&w->out); // gone with nothing owed: restarted at the next batch
            }
            left -= before - w->nowed;
            if (!fail && w->nowed && now_s() - w->last >= rc->timeout) {
                snprintf(msg, sizeof msg, "request %lld: no result within reward.timeout = %g s",
                         (long long)req[w->owed[0]].id, rc->timeout);
                fail = 1;
            }
            if (fail) rcode = worker_failed(rc, k, req, msg, died, err);
            if (!rcode && w->out < 0 && w->pid) stop_worker(w, 0.0);
        }
    }
    free(p);
    if (rcode)
        for (int i = 0; i < n; i++) free(res[i].info), res[i].info = NULL;
    free(done);
    return rcode;
}
