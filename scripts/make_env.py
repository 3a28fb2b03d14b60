"""The secrets of this checkout's .env, made here and never committed.

`python scripts/make_env.py` prints a complete fresh .env.
`python scripts/make_env.py --fill .env` creates the file if it is missing and appends
only the keys it lacks, never changing one already there: a new FANGKONG_PII_KEY would
make every stored ID number unreadable, and a new FANGKONG_CODE_SIGNING_KEY would void
every printed code. So an older checkout gains a key added later by running `make`.
"""

import base64
import os
import secrets
import sys
from pathlib import Path

# The project's own .env parser (no Django needed), run before anything is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fangkong.core.env import parse_dotenv  # noqa: E402

HEADER = "# Made by `make env`. Keep it secret; never commit it."


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def fresh() -> dict[str, str]:
    return {
        "FANGKONG_SECRET_KEY": secrets.token_urlsafe(50),
        # AES-256-GCM key for ID and phone numbers at rest.
        "FANGKONG_PII_KEY": key(),
        # HMAC key for look-up hashes of ID and phone numbers.
        "FANGKONG_HASH_KEY": key(),
        # Ed25519 private seed (32 bytes) that signs residents' codes.
        "FANGKONG_CODE_SIGNING_KEY": key(),
    }


def present(text: str) -> set[str]:
    return set(parse_dotenv(text))


def fill(path: Path) -> list[str]:
    """Append the keys `path` lacks; return their names."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER + "\n"
    missing = {k: v for k, v in fresh().items() if k not in present(text)}
    if missing or not path.exists():
        if text and not text.endswith("\n"):
            text += "\n"
        text += "".join(f"{k}={v}\n" for k, v in missing.items())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    return list(missing)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--fill":
        added = fill(Path(sys.argv[2]))
        if added:
            print(f"{sys.argv[2]}: added {', '.join(added)}", file=sys.stderr)
    elif len(sys.argv) == 1:
        print(HEADER)
        for name, value in fresh().items():
            print(f"{name}={value}")
    else:
        sys.exit("usage: make_env.py [--fill PATH]")
