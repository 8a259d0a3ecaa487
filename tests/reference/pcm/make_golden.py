#!/usr/bin/python3
"""make_golden.py — golden data for the Preference Control Model and token-level merging
(tests/test_pcm.c; docs/pcm.md; arXiv 2407.04181).

A tiny random PCM — the Qwen2 decoder of tests/reference/model/make_golden.py with the preference
vector w fed in as x_t = wte[id_t] + W_p w_t + b_p and a K-way head z_t = W_a h_t + b_a — and K
tiny "experts" given only as log-softmax rows (random logits: the experts are black boxes). Merged
log-probability of the sampled token y_t, alpha = softmax(z):

    log pi(y_t) = logsumexp_i (log alpha_ti + log pi_i(y_t))

and the loss sum_t c_t log pi(y_t) (c random; 0 where a token has no target); the merged
distribution's entropy H_t = -sum_v pi_t(v) log pi_t(v) and the gradient of sum_t e_t H_t (e random,
0 where a token has no target) with respect to z. Under
tests/data/pcm/tiny/ it writes:

  config.json, model.safetensors   the PCM (FluxrlPCMForTokenMixing, num_experts K), F32
  golden.json                      the batch (ids, pos, seg, y), the loss
  golden.safetensors               F32: pref (N, K), c (N), rows (K*N, V) the experts'
                                   log-softmax rows, lp (K, N) their log-probs of y, z and alpha
                                   (N, K), logp (N) merged, dz (N, K) = d loss / d z, row_prob and
                                   row_logit (N, V) the merged next-token distributions (probability
                                   and logit space), grad.<name> of every PCM parameter,
                                   e (N), ent (N) H_t, dz_ent (N, K) = d sum_t e_t H_t / d z

Run with Debian's python3 (python3-torch): /usr/bin/python3 tests/reference/pcm/make_golden.py
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "model"))
import make_golden as mg  # noqa: E402  (the decoder, the batch, safetensors by hand)

OUT = os.path.join(HERE, "..", "..", "data", "pcm")
torch.set_num_threads(1)

K = 3
CFG = dict(mg.QWEN2, tie_word_embeddings=False)
# One preference per sequence of the batch (mg.SEG: row 0 packs two sequences, row 1 is padded);
# padding gets a vector of its own (it reaches no loss).
PREFS = {(0, 0): [0.7, 0.3, 0.0], (0, 1): [0.2, 0.5, 0.3], (1, 0): [1 / 3, 1 / 3, 1 / 3], (1, -1): [0.0, 0.0, 1.0]}


def shapes(c):
    s = mg.param_shapes(c, "pcm")  # the backbone (no lm_head, no score)
    C = c["hidden_size"]
    s["model.pref_proj.weight"], s["model.pref_proj.bias"] = (C, K), (C,)
    s["alpha_head.weight"], s["alpha_head.bias"] = (K, C), (K,)
    return s


def pcm_forward(P, c, ids, pos, seg, pref):
    """Alpha logits z (B, T, K)."""
    x = P["model.embed_tokens.weight"][ids] + pref @ P["model.pref_proj.weight"].T + P["model.pref_proj.bias"]
    h = mg.backbone(P, c, x, pos, seg)
    return h @ P["alpha_head.weight"].T + P["alpha_head.bias"]


def main():
    gen = torch.Generator().manual_seed(18)
    c = CFG
    P = {}
    for n, shape in shapes(c).items():
        if n.endswith("norm.weight") or "layernorm" in n:
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif len(shape) == 1:
            t = 0.1 * torch.randn(shape, generator=gen)
        else:
            t = 0.2 * torch.randn(shape, generator=gen)
        P[n] = t.requires_grad_(True)
    V = c["vocab_size"]
    ids, pos, seg, tgt = mg.make_batch(V, gen, "lm")
    B, T = ids.shape
    N = B * T
    pref = torch.tensor([[PREFS[(b, int(seg[b, t]))] for t in range(T)] for b in range(B)], dtype=torch.float32)

    # The experts: log-softmax rows of random logits of std 2, so that they disagree and alpha matters.
    rows = torch.log_softmax(2.0 * torch.randn(K, N, V, generator=gen), -1)
    has = tgt.flatten() >= 0
    y = torch.where(has, tgt.flatten(), torch.zeros_like(tgt.flatten()))  # the sampled tokens
    lp = rows.gather(2, y[None, :, None].expand(K, N, 1))[..., 0]  # (K, N)
    cw = torch.randn(N, generator=gen) * has.float()
    ew = torch.randn(N, generator=gen) * has.float()  # drawn last: the arrays above stay as they were

    z = pcm_forward(P, c, ids, pos, seg, pref).flatten(0, 1)  # (N, K)
    z.retain_grad()
    log_alpha = torch.log_softmax(z, -1)
    logp = torch.logsumexp(log_alpha + lp.T, -1)  # (N)
    loss = (cw * logp).sum()
    loss.backward()

    # The merged entropy and its gradient with respect to z (a leaf of its own: the loss above is apart).
    ze = z.detach().clone().requires_grad_(True)
    log_pi = torch.logsumexp(torch.log_softmax(ze, -1).T[:, :, None] + rows, 0)  # (N, V)
    ent = -(log_pi.exp() * log_pi).sum(-1)
    (ew * ent).sum().backward()

    with torch.no_grad():
        alpha = log_alpha.exp()
        row_prob = torch.logsumexp(log_alpha.T[:, :, None] + rows, 0)  # log sum_i alpha_i pi_i
        row_logit = torch.log_softmax((alpha.T[:, :, None] * rows).sum(0), -1)  # softmax(sum_i alpha_i z_i)
    gold = {"pref": pref.flatten(0, 1), "c": cw, "rows": rows.flatten(0, 1), "lp": lp, "z": z.detach(), "alpha": alpha,
            "logp": logp.detach(), "dz": z.grad.detach(), "row_prob": row_prob, "row_logit": row_logit,
            "e": ew, "ent": ent.detach(), "dz_ent": ze.grad.detach()}
    for n, t in P.items():
        gold["grad." + n] = t.grad.detach().clone()

    d = os.path.join(OUT, "tiny")
    os.makedirs(d, exist_ok=True)
    config = {
        "architectures": ["FluxrlPCMForTokenMixing"],
        "model_type": c["model_type"],
        "num_experts": K,
        "hidden_size": c["hidden_size"],
        "intermediate_size": c["intermediate_size"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_attention_heads": c["num_attention_heads"],
        "num_key_value_heads": c["num_key_value_heads"],
        "max_position_embeddings": 128,
        "rope_theta": c["rope_theta"],
        "rms_norm_eps": c["rms_norm_eps"],
        "tie_word_embeddings": False,
        "vocab_size": V,
        "hidden_act": "silu",
        "torch_dtype": "float32",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    mg.save_safetensors(os.path.join(d, "model.safetensors"), {n: t.detach() for n, t in P.items()})
    mg.save_safetensors(os.path.join(d, "golden.safetensors"), gold)
    g = {"B": B, "T": T, "K": K, "ids": ids.flatten().tolist(), "pos": pos.flatten().tolist(),
         "seg": seg.flatten().tolist(), "y": y.tolist(), "loss": loss.item(), "torch": torch.__version__}
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(g, f, indent=1)
        f.write("\n")
    print("pcm tiny: K %d, N %d, loss %.6f" % (K, N, loss.item()))


if __name__ == "__main__":
    main()
