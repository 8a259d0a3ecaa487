#!/usr/bin/python3
"""make_golden.py — golden data for the C transformer (tests/test_model_golden.c).

An independent implementation of the Qwen2 / Qwen3 / Llama decoder in plain PyTorch (no
transformers), following Hugging Face's modeling_qwen2.py / modeling_qwen3.py: pre-norm blocks,
RMSNorm, rotary embeddings in the rotate-half layout, causal GQA attention, SwiGLU MLP, and the
Qwen2ForProcessRewardModel head. For a few tiny random models it writes, under tests/data/model/NAME/:

  config.json, model.safetensors   the model, as transformers would save it (F32 or BF16)
  golden.json                      the batch (ids, positions, segments, targets), loss, the losses
                                   of 5 AdamW steps and their optimiser settings
  golden.safetensors               logits (N, V) (or PRM logits (N, 2)) and grad.<name> of every
                                   parameter, F32

The batch packs two sequences into row 0 and right-pads row 1; attention is causal within a
segment. Run with Debian's python3 (python3-torch): /usr/bin/python3 tests/reference/model/make_golden.py
"""
import json
import math
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "model")
torch.set_num_threads(1)


# --- safetensors, by hand: 8-byte little-endian header length, JSON header, raw data -------------
def bf16_round(t):
    """fp32 -> bf16 bits (round to nearest even) as int32 tensor, and the rounded fp32 values."""
    bits = t.contiguous().view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    back = (rounded << 16).to(torch.int64)
    back = torch.where(back >= 2**31, back - 2**32, back).to(torch.int32).view(torch.float32)
    return rounded.to(torch.int32), back


def save_safetensors(path, tensors, dtype="F32", metadata=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().float()
        if dtype == "BF16":
            bits, _ = bf16_round(t)
            data = b"".join(struct.pack("<H", int(b)) for b in bits.flatten().tolist())
        else:
            data = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = metadata or {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# --- the model --------------------------------------------------------------------------------
def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos, theta):
    """x (B, T, nh, hs); pos (B, T). Hugging Face's rotate_half form, angles in float32."""
    hs = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, hs, 2, dtype=torch.int64).float() / hs))
    ang = pos.float()[..., None] * inv_freq  # (B, T, hs/2)
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos()[:, :, None, :], emb.sin()[:, :, None, :]
    x1, x2 = x[..., : hs // 2], x[..., hs // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def param_shapes(c, head):
    C, QD, KD, F, V, HS = c["hidden_size"], c["num_attention_heads"] * c["head_dim"], \
        c["num_key_value_heads"] * c["head_dim"], c["intermediate_size"], c["vocab_size"], c["head_dim"]
    s = {"model.embed_tokens.weight": (V, C), "model.norm.weight": (C,)}
    for l in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % l
        s[p + "input_layernorm.weight"] = (C,)
        s[p + "post_attention_layernorm.weight"] = (C,)
        for n, o in (("q", QD), ("k", KD), ("v", KD)):
            s[p + "self_attn.%s_proj.weight" % n] = (o, C)
            if c["qkv_bias"]:
                s[p + "self_attn.%s_proj.bias" % n] = (o,)
        if c["qk_norm"]:
            s[p + "self_attn.q_norm.weight"] = (HS,)
            s[p + "self_attn.k_norm.weight"] = (HS,)
        s[p + "self_attn.o_proj.weight"] = (C, QD)
        s[p + "mlp.gate_proj.weight"] = (F, C)
        s[p + "mlp.up_proj.weight"] = (F, C)
        s[p + "mlp.down_proj.weight"] = (C, F)
    if head == "lm" and not c["tie_word_embeddings"]:
        s["lm_head.weight"] = (V, C)
    if head == "prm":
        s["score.0.weight"], s["score.0.bias"] = (C, C), (C,)
        s["score.2.weight"], s["score.2.bias"] = (2, C), (2,)
    return s


def forward(P, c, head, ids, pos, seg):
    """Logits (B, T, V) for the LM head, (B, T, 2) for the PRM head."""
    x = backbone(P, c, P["model.embed_tokens.weight"][ids], pos, seg)
    if head == "prm":
        z = torch.relu(x @ P["score.0.weight"].T + P["score.0.bias"])
        return z @ P["score.2.weight"].T + P["score.2.bias"]
    W = P["model.embed_tokens.weight"] if c["tie_word_embeddings"] else P["lm_head.weight"]
    return x @ W.T


def backbone(P, c, x, pos, seg):
    """The decoder layers and the final norm on the input embeddings x (B, T, C): hidden (B, T, C)."""
    B, T = x.shape[:2]
    NH, NKV, HS, eps = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["rms_norm_eps"]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None] & (seg[:, :, None] == seg[:, None, :])  # (B, Tq, Tk)
    for l in range(c["num_hidden_layers"]):
        p = "model.layers.%d." % l
        h = rmsnorm(x, P[p + "input_layernorm.weight"], eps)

        def proj(n):
            y = h @ P[p + "self_attn.%s_proj.weight" % n].T
            return y + P[p + "self_attn.%s_proj.bias" % n] if c["qkv_bias"] else y

        q, k, v = proj("q").view(B, T, NH, HS), proj("k").view(B, T, NKV, HS), proj("v").view(B, T, NKV, HS)
        if c["qk_norm"]:
            q = rmsnorm(q, P[p + "self_attn.q_norm.weight"], eps)
            k = rmsnorm(k, P[p + "self_attn.k_norm.weight"], eps)
        q, k = rope(q, pos, c["rope_theta"]), rope(k, pos, c["rope_theta"])
        rep = NH // NKV
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        s = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(HS)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = torch.einsum("bhqk,bkhd->bqhd", torch.softmax(s, -1), v).reshape(B, T, NH * HS)
        x = x + a @ P[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, P[p + "post_attention_layernorm.weight"], eps)
        g, u = h @ P[p + "mlp.gate_proj.weight"].T, h @ P[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ P[p + "mlp.down_proj.weight"].T
    return rmsnorm(x, P["model.norm.weight"], eps)


def loss_of(out, targets):
    """Mean cross-entropy over tokens with a target (>= 0): next tokens, or PRM labels."""
    logp = torch.log_softmax(out, -1).flatten(0, 1)
    t = targets.flatten()
    keep = t >= 0
    return -(logp[keep].gather(1, t[keep][:, None])).mean()


# --- the batch ----------------------------------------------------------------------------------
SEG = [[0, 0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, -1, -1, -1]]


def make_batch(V, gen, head):
    B, T = len(SEG), len(SEG[0])
    ids = torch.randint(0, V, (B, T), generator=gen)
    seg = torch.tensor(SEG)
    pos = torch.zeros(B, T, dtype=torch.int64)
    for b in range(B):
        for t in range(1, T):
            pos[b, t] = pos[b, t - 1] + 1 if seg[b, t] == seg[b, t - 1] else 0
    tgt = torch.full((B, T), -1, dtype=torch.int64)
    for b in range(B):
        for t in range(T):
            if head == "prm":
                if t % 3 == 2 and seg[b, t] >= 0:
                    tgt[b, t] = (t // 3 + b) % 2
            elif t + 1 < T and seg[b, t] >= 0 and seg[b, t + 1] == seg[b, t]:
                tgt[b, t] = ids[b, t + 1]
    return ids, pos, seg, tgt


def lr_at(o, step):  # linear warmup, then cosine to min_lr (as model_lr_at)
    if step < o["warmup"]:
        return o["lr"] * (step + 1) / o["warmup"]
    if step >= o["total"]:
        return o["min_lr"]
    prog = (step - o["warmup"]) / (o["total"] - o["warmup"])
    return o["min_lr"] + 0.5 * (o["lr"] - o["min_lr"]) * (1 + math.cos(math.pi * prog))


def make(name, cfg, head="lm", dtype="F32", seed=0):
    gen = torch.Generator().manual_seed(seed)
    c = dict(cfg)
    P = {}
    for n, shape in param_shapes(c, head).items():
        if n.endswith("norm.weight") or "layernorm" in n:
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif len(shape) == 1:
            t = 0.1 * torch.randn(shape, generator=gen)
        else:
            t = 0.2 * torch.randn(shape, generator=gen)
        if dtype == "BF16":
            t = bf16_round(t)[1]
        P[n] = t.requires_grad_(True)
    ids, pos, seg, tgt = make_batch(c["vocab_size"], gen, head)

    out = forward(P, c, head, ids, pos, seg)
    loss = loss_of(out, tgt)
    loss.backward()
    gold = {"logits": out.detach().flatten(0, 1)}
    for n, t in P.items():
        gold["grad." + n] = t.grad.detach().clone()

    # 5 AdamW steps on the same batch: global-norm clipping, warmup + cosine, decay on matrices.
    opt = {"lr": 1e-2, "min_lr": 1e-3, "warmup": 2, "total": 5, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8,
           "weight_decay": 0.1, "max_grad_norm": 1.0, "steps": 5}
    Q = {n: t.detach().clone().requires_grad_(True) for n, t in P.items()}
    decay = [t for n, t in Q.items() if t.dim() == 2]
    no_decay = [t for n, t in Q.items() if t.dim() != 2]
    adam = torch.optim.AdamW([{"params": decay, "weight_decay": opt["weight_decay"]},
                              {"params": no_decay, "weight_decay": 0.0}],
                             lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])
    losses, norms = [], []
    for step in range(opt["steps"]):
        adam.zero_grad()
        l = loss_of(forward(Q, c, head, ids, pos, seg), tgt)
        l.backward()
        losses.append(l.item())
        norms.append(torch.nn.utils.clip_grad_norm_(list(Q.values()), opt["max_grad_norm"]).item())
        for g in adam.param_groups:
            g["lr"] = lr_at(opt, step)
        adam.step()
    final = loss_of(forward(Q, c, head, ids, pos, seg), tgt).item()

    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    arch = {"qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "llama": "LlamaForCausalLM"}[c["model_type"]]
    if head == "prm":
        arch = "Qwen2ForProcessRewardModel"
    config = {
        "architectures": [arch],
        "model_type": c["model_type"],
        "hidden_size": c["hidden_size"],
        "intermediate_size": c["intermediate_size"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_attention_heads": c["num_attention_heads"],
        "num_key_value_heads": c["num_key_value_heads"],
        "max_position_embeddings": 128,
        "rope_theta": c["rope_theta"],
        "rms_norm_eps": c["rms_norm_eps"],
        "tie_word_embeddings": c["tie_word_embeddings"],
        "vocab_size": c["vocab_size"],
        "hidden_act": "silu",
        "torch_dtype": "bfloat16" if dtype == "BF16" else "float32",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    if c["model_type"] == "qwen3":
        config["head_dim"] = c["head_dim"]
        config["attention_bias"] = False
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    save_safetensors(os.path.join(d, "model.safetensors"), {n: t.detach() for n, t in P.items()}, dtype)
    save_safetensors(os.path.join(d, "golden.safetensors"), gold)
    g = {"B": ids.shape[0], "T": ids.shape[1], "head": head,
         "ids": ids.flatten().tolist(), "pos": pos.flatten().tolist(), "seg": seg.flatten().tolist(),
         "targets": tgt.flatten().tolist(), "loss": loss.item(), "optimizer": opt,
         "adamw_losses": losses, "grad_norms": norms, "final_loss": final,
         "torch": torch.__version__}
    with open(os.path.join(d, "golden.json"), "w") as f:
        json.dump(g, f, indent=1)
        f.write("\n")
    print("%-12s loss %.6f  after 5 AdamW steps %.6f" % (name, loss.item(), final))
    if name == "qwen2_tied":
        write_logprobs(d, P, c, gen)


def write_logprobs(d, P, c, gen):
    """Input and expected output of `fluxrl logprobs` (tests/cli/test_model_cli.sh)."""
    with open(os.path.join(d, "logprobs_in.jsonl"), "w") as fi, \
            open(os.path.join(d, "logprobs_expected.jsonl"), "w") as fo:
        for n in (7, 1, 12, 3):
            ids = torch.randint(0, c["vocab_size"], (1, n), generator=gen)
            pos = torch.arange(n)[None]
            with torch.no_grad():
                lp = torch.log_softmax(forward(P, c, "lm", ids, pos, torch.zeros(1, n, dtype=torch.int64)), -1)[0]
            vals = [lp[t, ids[0, t + 1]].item() for t in range(n - 1)]
            fi.write(json.dumps({"ids": ids[0].tolist()}) + "\n")
            fo.write(json.dumps({"logprobs": [round(v, 6) for v in vals]}) + "\n")


QWEN2 = {"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 96,
         "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "qkv_bias": True, "qk_norm": False,
         "tie_word_embeddings": True}
QWEN3 = {"model_type": "qwen3", "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2,
         "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 10, "vocab_size": 80,
         "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "qkv_bias": False, "qk_norm": True,
         "tie_word_embeddings": False}

if __name__ == "__main__":
    make("qwen2_tied", QWEN2, seed=1)
    make("qwen3_untied", QWEN3, seed=2)
    make("qwen2_bf16", dict(QWEN2, tie_word_embeddings=False, num_key_value_heads=1), dtype="BF16", seed=3)
    make("qwen2_prm", QWEN2, head="prm", seed=4)
