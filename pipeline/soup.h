// soup.h — `fluxrl merge`: Personalized Soups (arXiv 2310.11564), the parameter-merging baseline
// of issue 18 (docs/pcm.md): K experts of one architecture merged into one model by weights w on
// the simplex, theta = sum_i w_i theta_i, every parameter summed in double over the experts in
// order and rounded to fp32 once (so w one-hot gives that expert's tensors exactly).
#ifndef FLUXRL_SOUP_H
#define FLUXRL_SOUP_H

#include <stddef.h>

#include "../core/fx.h"

#define PIPELINE_SOUP_MAX 16

// Writes the merged model to the new folder out (config.json and model.safetensors in F32, and
// the first expert's tokenizer files), built in out.tmp and renamed when complete. Bad input
// (exit 2): fewer than 1 or more than PIPELINE_SOUP_MAX experts, weights not K, negative, not
// finite or not summing to 1 within 1e-6, experts whose config.json differ (named: both folders
// and the key), out existing. *nparams gets the parameter count. Returns an exit code.
int pipeline_soup(const char *const *experts, int K, const float *w, int nw, const char *out, size_t *nparams,
                  fx_err *err);

#endif
