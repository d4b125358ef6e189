"""config_rules.py is one module in four copies: backend/, bot/, actions/ and nlu/ are each
deployed alone (actions and nlu on Rasa's Python 3.10), so none can import another's. The
copies stay identical, so every process refuses the same APP_ENV values and secrets."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIES = ("backend", "bot", "actions", "nlu")


def test_every_copy_is_the_backends() -> None:
    original = (ROOT / "backend" / "config_rules.py").read_bytes()
    differ = [f"{folder}/config_rules.py" for folder in COPIES
              if (ROOT / folder / "config_rules.py").read_bytes() != original]  # fmt: skip
    assert not differ, f"copy backend/config_rules.py over {', '.join(differ)}"


def test_each_image_ships_its_copy() -> None:
    """The Dockerfiles copy the whole folder, so the copy goes along (nothing lists files)."""
    for folder in COPIES:
        assert f"COPY {folder}" in (ROOT / folder / "Dockerfile").read_text(), folder
