#!/usr/bin/env python3
"""check_layers.py — every #include of the library and the program against the layer table of
docs/architecture.md (folder | prefix | what | may include). A folder may include its own headers
and those of the folders its row names ("everything": any); the folders are in layer order, so a
folder that includes one above it is an error. Also fails when a source folder has no row, or
when the rows are not in layer order (each row may include only rows above it), and when a file of
a config-free folder (model/, rollout/, reward/, trainer/: they take typed parameters that
pipeline/ builds from the config once) includes core/config.h or names what it declares (fx_config,
its cfg_ functions and FX_CFG_ macros).

    tests/check_layers.py [REPO]     exit 0: clean; 1: each violation printed as file:line
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
root = os.path.abspath(root)
doc = os.path.join(root, "docs", "architecture.md")

rows = []  # (folder, allowed set or None for everything)
for line in open(doc, encoding="utf-8"):
    m = re.match(r"^\| ([a-z]+)/ \| .* \| ([^|]+) \|\s*$", line)
    if not m:
        continue
    allowed = [a.strip() for a in m.group(2).split(",")]
    if allowed == ["everything"]:
        rows.append((m.group(1), None))
    else:
        rows.append((m.group(1), {a for a in allowed if re.fullmatch(r"[a-z]+", a)}))
folders = [f for f, _ in rows]
errors = []
if len(folders) < 8:
    errors.append(f"{doc}: expected the table of folders (| folder/ | prefix | what | may include |), "
                  f"found {len(folders)} rows")
for i, (f, allowed) in enumerate(rows):
    if allowed is None:
        continue
    for a in allowed - set(folders[:i]) - {"libc", "cJSON", "HDF5"}:
        if a in folders:
            errors.append(f"{doc}: {f}/ may include {a}/, which is not below it in the table")

source_dirs = sorted(d for d in os.listdir(root)
                     if os.path.isdir(os.path.join(root, d)) and d not in ("tests", "bench", "docs", "launch",
                                                                            "configs", "examples", "build")
                     and not d.startswith((".", "build-", "runs"))
                     and any(n.endswith((".c", ".h", ".cu")) for _, _, fs in os.walk(os.path.join(root, d))
                             for n in fs))
for d in source_dirs:
    if d not in folders:
        errors.append(f"{doc}: no row for the source folder {d}/")

inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
config_free = ("model", "rollout", "reward", "trainer")
# what core/config.h declares: the struct, its functions and macros
config_h = open(os.path.join(root, "core", "config.h"), encoding="utf-8").read()
config_names = {"fx_config"} | set(re.findall(r"\b(cfg_[a-z_]+)\s*\(", config_h)) | \
    set(re.findall(r"#\s*define\s+(FX_CFG_[A-Z_]+)", config_h))
config_use = re.compile(r"\b(" + "|".join(sorted(config_names)) + r")\b")
checked = 0
for folder, allowed in rows:
    base = os.path.join(root, folder)
    for dirpath, _, files in os.walk(base):
        for name in sorted(files):
            if not name.endswith((".c", ".h", ".cu", ".cuh")):
                continue
            path = os.path.join(dirpath, name)
            for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
                u = config_use.search(line.split("//")[0]) if folder in config_free else None
                if u:
                    errors.append(f"{os.path.relpath(path, root)}:{n}: {folder}/ uses {u.group(1)}, but "
                                  f"{folder}/ takes typed parameters built from the config by pipeline/ "
                                  f"(docs/architecture.md)")
                m = inc.match(line)
                if not m:
                    continue
                target = os.path.normpath(os.path.join(dirpath, m.group(1)))
                if not os.path.exists(target):  # generated or found through the include path
                    target = os.path.normpath(os.path.join(root, m.group(1)))
                rel = os.path.relpath(target, root)
                top = rel.split(os.sep)[0]
                checked += 1
                if folder in config_free and rel == os.path.join("core", "config.h"):
                    errors.append(f"{os.path.relpath(path, root)}:{n}: {folder}/ includes core/config.h, but "
                                  f"{folder}/ takes typed parameters built from the config by pipeline/ "
                                  f"(docs/architecture.md)")
                if top == folder or top not in folders or allowed is None:
                    continue
                if top not in allowed:
                    errors.append(f"{os.path.relpath(path, root)}:{n}: {folder}/ includes {rel}, but "
                                  f"{folder}/ may include only {', '.join(sorted(allowed)) or 'libraries'} "
                                  f"(docs/architecture.md)")

for e in errors:
    print(e)
print(f"check_layers: {checked} includes in {len(folders)} folders, {len(errors)} violations")
sys.exit(1 if errors else 0)
