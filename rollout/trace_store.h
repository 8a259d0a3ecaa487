// trace_store.h — traces in an HDF5 file (layout in docs/formats.md).
// Ranks append batch by batch to chunked, extensible datasets. The file is written in HDF5's
// single-writer/multiple-reader (SWMR) mode and flushed after every batch, so a writer killed at
// any moment leaves a file in which every batch appended before the last completed flush can be
// read (fluxrl reads it as it is; other tools after `h5clear -s FILE`). A trace counts as stored
// once /traces/group_id covers it: that dataset is extended last, after everything it points to.
#ifndef FLUXRL_TRACE_STORE_H
#define FLUXRL_TRACE_STORE_H

#include <stdbool.h>
#include <stdio.h>

#include "../core/fx.h"
#include "trace.h"

typedef struct trace_store trace_store;

// Creates (or truncates) path. The identities are stored as attributes: the resolved config
// (JSON), the model and the tokenizer (free text, e.g. a path and a hash); any may be "".
int trace_store_create(trace_store **s, const char *path, const char *config_json, const char *model,
                       const char *tokenizer, fx_err *err);
// Appends the batch and flushes it to disk.
int trace_store_append(trace_store *s, const trace_batch *b, fx_err *err);

// Opens an existing store for reading; it may be one that is being written, or whose writer died.
int trace_store_open(trace_store **s, const char *path, fx_err *err);
int64_t trace_store_count(const trace_store *s);
// Opens an existing store to append to (its identities kept); checked like trace_store_open.
int trace_store_open_append(trace_store **s, const char *path, fx_err *err);
// Reads traces [first, first + count) into out (cleared first).
int trace_store_read(trace_store *s, int64_t first, int64_t count, trace_batch *out, fx_err *err);
// Indices of the traces of one group, in file order (caller frees *idx).
int trace_store_group(trace_store *s, int64_t group, int64_t **idx, int64_t *n, fx_err *err);
// The stored attributes: "config", "model", "tokenizer" (NULL if absent; owned by the store).
const char *trace_store_attr(const trace_store *s, const char *name);
// Writes every trace as one JSON line (ids, log-probs, steps, rewards; NaN as null).
int trace_store_export_jsonl(trace_store *s, FILE *out, fx_err *err);

int trace_store_close(trace_store *s, fx_err *err);

#endif
