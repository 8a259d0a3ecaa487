#!/usr/bin/env python3
"""reference.py train SIZE | decode SIZE B — the PyTorch + transformers side of bench/gpu: the same
Qwen2 shapes (bench/model/shapes.h) with random weights on the same card, eager attention, one JSON
line. train: the step of bench_model (forward, mean cross-entropy, backward, clip_grad_norm_(1.0),
AdamW) with fp32 master weights under torch.autocast(bfloat16), as a PyTorch user trains in bf16.
decode: a prefill of 128 tokens, then 64 greedy single-token steps over the KV cache, in bf16.
Prints {"reference": "not available", "reason": ...} when torch, transformers or a GPU is missing."""
import json
import sys
import time

SHAPES = {  # name: C, L, NH, NKV, HS, F, V, B, T, steps (bench/model/shapes.h: gpu_steps)
    "qwen2.5-0.5b": (896, 24, 14, 2, 64, 4864, 151936, 8, 1024, 5),
    "qwen2.5-1.5b": (1536, 28, 12, 2, 128, 8960, 151936, 4, 1024, 3),
    "25m": (512, 6, 8, 4, 64, 1536, 12000, 8, 256, 10),
}
PROMPT, NEW = 128, 64


def unavailable(reason):
    print(json.dumps({"reference": "not available", "reason": reason}))
    sys.exit(0)


try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001
    unavailable(f"import torch: {e}")
try:
    from transformers import Qwen2Config, Qwen2ForCausalLM
except Exception as e:  # noqa: BLE001
    unavailable(f"import transformers: {e}")
if not torch.cuda.is_available():
    unavailable("torch sees no CUDA device")


def build(name, dtype):
    C, L, NH, NKV, HS, FF, V = SHAPES[name][:7]
    dims = dict(hidden_size=C, num_hidden_layers=L, num_attention_heads=NH, num_key_value_heads=NKV,
                intermediate_size=FF, vocab_size=V, tie_word_embeddings=True, max_position_embeddings=4096)
    try:  # keyword names differ between transformers versions: the dims alone always work
        cfg = Qwen2Config(**dims, rope_theta=1000000.0, rms_norm_eps=1e-6, attn_implementation="eager")
    except Exception:  # noqa: BLE001
        cfg = Qwen2Config(**dims)
    cfg._attn_implementation = "eager"
    assert cfg.hidden_size // cfg.num_attention_heads == HS
    torch.manual_seed(0)
    with torch.device("cuda"):  # initialised on the card: a CPU init of 1.5B parameters takes minutes
        model = Qwen2ForCausalLM(cfg).to(dtype=dtype)
    return model, V


def train(name):
    B, T, steps = SHAPES[name][7:]
    model, V = build(name, torch.float32)
    model.train()
    nparams = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95), eps=1e-8)
    ids = torch.randint(0, V, (B, T), device="cuda")
    tgt = torch.cat([ids[:, 1:], torch.full((B, 1), -100, device="cuda")], 1)
    total = 0.0
    for k in range(steps + 1):  # step 0 warms up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=ids).logits
        loss = F.cross_entropy(logits.float().view(-1, V), tgt.view(-1), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        torch.cuda.synchronize()
        if k > 0:
            total += time.perf_counter() - t0
    dt = total / steps
    print(json.dumps({"reference": "torch+transformers", "bench": "train", "size": name, "params": nparams,
                      "B": B, "T": T, "torch": torch.__version__, "step_s": round(dt, 4),
                      "tokens_per_s": round(B * T / dt, 1), "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1),
                      "loss": round(loss.item(), 4)}))


@torch.no_grad()
def decode(name, B):
    model, V = build(name, torch.bfloat16)
    model.eval()
    ids = torch.randint(0, V, (B, PROMPT), device="cuda")
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model(input_ids=ids, use_cache=True)
    past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    torch.cuda.synchronize()
    t1 = time.perf_counter()
    for _ in range(NEW):
        out = model(input_ids=nxt, past_key_values=past, use_cache=True)
        past, nxt = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    print(json.dumps({"reference": "torch+transformers", "bench": "decode", "size": name, "B": B,
                      "prompt": PROMPT, "new": NEW, "prefill_s": round(t1 - t0, 4), "decode_s": round(t2 - t1, 4),
                      "tokens_per_s": round(B * NEW / (t2 - t1), 1)}))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] not in SHAPES:
        sys.exit("usage: reference.py train SIZE | decode SIZE B")
    if sys.argv[1] == "train":
        train(sys.argv[2])
    else:
        decode(sys.argv[2], int(sys.argv[3]))
