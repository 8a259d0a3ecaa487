#!/usr/bin/env python3
"""convert_reasonflux_prm_1p5b.py — ReasonFlux-PRM-1.5B as published into a folder fluxrl loads.

    python3 scripts/convert_reasonflux_prm_1p5b.py SRC OUT [--head FILE]

Gen-Verse/ReasonFlux-PRM-1.5B is published as a causal-LM backbone (config.json
Qwen2ForCausalLM, safetensors, tokenizer) plus its reward head in a separate PyTorch pickle,
reward_head.pt: the state dict of nn.Linear(hidden_size, 1) — "weight" (1, h) and "bias" (1).
Its authors score a trace as sigmoid(reward_head(h_last)), h_last the final (normed) hidden state
at the last token of tokenizer(problem + completion) (ReasonFlux_PRM/utils/rm_utils.py, RewardModel).

OUT gets:
  model.safetensors   the backbone's tensors as stored (lm_head.weight dropped: a reward model has no
                      language-model head), score.weight (1, h) and score.bias (1) in F32
  config.json         SRC's, with architectures ["Qwen2ForRewardModel"], "score_bias": true and
                      "fluxrl_prm": {"input": "plain", "head": ...} naming the head and its source
  tokenizer files     copied

C never unpickles: this script is the only reader of reward_head.pt, with torch.load(weights_only=True)
(tensors only, no code). Needs PyTorch (Debian: python3-torch); safetensors are read and written here
by hand. Bad input (no reward_head.pt, wrong shapes, not a Qwen2 causal LM) exits 2 with one line.
"""
import argparse
import json
import os
import shutil
import struct
import sys

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                   "generation_config.json", "chat_template.jinja")


def fail(msg):
    print("convert_reasonflux_prm_1p5b: " + msg, file=sys.stderr)
    sys.exit(2)


def read_header(path):
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            fail("%s: not a safetensors file" % path)
        n = struct.unpack("<Q", raw)[0]
        try:
            header = json.loads(f.read(n))
        except ValueError:
            fail("%s: not a safetensors file (bad header)" % path)
    header.pop("__metadata__", None)
    return header, 8 + n


def source_tensors(src):
    """{name: (path, absolute offset, nbytes, dtype, shape)} over model.safetensors or its shards."""
    index = os.path.join(src, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    elif os.path.exists(os.path.join(src, "model.safetensors")):
        files = ["model.safetensors"]
    else:
        fail("%s: no model.safetensors or model.safetensors.index.json" % src)
    out = {}
    for name in files:
        path = os.path.join(src, name)
        header, base = read_header(path)
        for t, h in header.items():
            a, b = h["data_offsets"]
            out[t] = (path, base + a, b - a, h["dtype"], h["shape"])
    return out


def load_head(path, hidden):
    import torch
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # not a pickle of tensors
        fail("%s: cannot read the reward head (%s)" % (path, e))
    if not isinstance(state, dict) or set(state) != {"weight", "bias"}:
        fail("%s: expected the state dict of nn.Linear(%d, 1) (keys weight, bias), got %s"
             % (path, hidden, sorted(state) if isinstance(state, dict) else type(state).__name__))
    w, b = state["weight"], state["bias"]
    if tuple(w.shape) != (1, hidden) or tuple(b.shape) != (1,):
        fail("%s: expected weight (1, %d) and bias (1,), got weight %s and bias %s"
             % (path, hidden, tuple(w.shape), tuple(b.shape)))
    return w.float().contiguous(), b.float().contiguous()


def f32_bytes(t):
    return struct.pack("<%df" % t.numel(), *t.flatten().tolist())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="the published folder (config.json, safetensors, tokenizer, reward_head.pt)")
    ap.add_argument("out", help="the folder to write")
    ap.add_argument("--head", help="the reward head file (default SRC/reward_head.pt)")
    a = ap.parse_args()
    head_path = a.head or os.path.join(a.src, "reward_head.pt")
    try:
        with open(os.path.join(a.src, "config.json")) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        fail("%s/config.json: %s" % (a.src, e))
    if config.get("model_type") != "qwen2" or not isinstance(config.get("hidden_size"), int):
        fail("%s/config.json: expected a Qwen2 causal LM (model_type \"qwen2\", hidden_size)" % a.src)
    if not os.path.exists(head_path):
        fail("%s: missing; ReasonFlux-PRM-1.5B's reward head (nn.Linear(h, 1)) is published as this file" % head_path)
    hidden = config["hidden_size"]
    w, b = load_head(head_path, hidden)
    tensors = source_tensors(a.src)
    if "model.embed_tokens.weight" not in tensors:
        fail("%s: no model.embed_tokens.weight; expected a Qwen2 backbone" % a.src)
    keep = sorted(t for t in tensors if t.startswith("model."))

    # The header first (sizes known), then the data streamed from the source files.
    header, off = {}, 0
    for t in keep:
        _, _, n, dtype, shape = tensors[t]
        header[t] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    extra = {"score.weight": w, "score.bias": b}
    for t, v in extra.items():
        n = 4 * v.numel()
        header[t] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt", "source": "reward_head.pt + backbone, convert_reasonflux_prm_1p5b.py"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, "model.safetensors.tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for t in keep:
            path, start, n, _, _ = tensors[t]
            with open(path, "rb") as s:
                s.seek(start)
                while n:
                    chunk = s.read(min(n, 1 << 24))
                    if not chunk:
                        fail("%s: truncated tensor %s" % (path, t))
                    f.write(chunk)
                    n -= len(chunk)
        for v in extra.values():
            f.write(f32_bytes(v))
    os.replace(tmp, os.path.join(a.out, "model.safetensors"))

    config["architectures"] = ["Qwen2ForRewardModel"]
    config["score_bias"] = True
    config["fluxrl_prm"] = {
        "input": "plain",
        "head": "score = Linear(hidden_size, 1) with bias; reward = sigmoid(score(h)) at the last token",
        "converted_from": os.path.basename(os.path.normpath(a.src)) + "/" + os.path.basename(head_path),
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    for name in TOKENIZER_FILES:
        if os.path.exists(os.path.join(a.src, name)):
            shutil.copyfile(os.path.join(a.src, name), os.path.join(a.out, name))
    if not os.path.exists(os.path.join(a.out, "tokenizer.json")):
        fail("%s: no tokenizer.json to copy" % a.src)
    print("wrote %s: %d backbone tensors, score.weight (1, %d), score.bias (1)" % (a.out, len(keep), hidden))


if __name__ == "__main__":
    main()
