# Checkpoints: safetensors files and Hugging Face config.json.
fluxrl_part(safetensors
  SOURCES model/safetensors.c model/model_config.c
  LINK PkgConfig::CJSON m)
