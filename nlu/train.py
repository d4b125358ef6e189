"""Train the model only when its inputs changed: `make train`.

The model is named by a hash of config.yml, domain/, data/ and the jieba dictionary, so an
unchanged assistant is never retrained, and the model that was scored is the one that runs.
Run from nlu/ with the Rasa virtualenv's Python.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
INPUTS = ["config.yml", "domain", "data", "jieba_dict", "components"]


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = HERE / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if "__pycache__" in f.parts:
                continue
            digest.update(str(f.relative_to(HERE)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return HERE / "models" / f"assistant-{fingerprint()}.tar.gz"


def main() -> int:
    model = model_path()
    if model.exists():
        print(f"model is current: {model.relative_to(HERE.parent)}")
        return 0
    # Trained beside models/ and moved in when complete: a training stopped halfway (Ctrl-C in
    # `make run`) must not leave a file that looks like the current model.
    model.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model.parent, prefix=".training-") as out:
        command = [
            sys.executable, "-m", "rasa", "train",
            "--config", "config.yml", "--domain", "domain", "--data", "data",
            "--out", out, "--fixed-model-name", model.name.removesuffix(".tar.gz"),
        ]  # fmt: skip
        print("training:", " ".join(command[2:]), flush=True)
        done = subprocess.run(command, cwd=HERE, check=False)
        trained = Path(out) / model.name
        if done.returncode == 0 and trained.exists():
            shutil.move(trained, model)
    return done.returncode


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--path":
        print(model_path())
        sys.exit(0)
    sys.exit(main())
