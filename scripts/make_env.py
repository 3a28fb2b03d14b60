"""Print a fresh .env with random secrets for this checkout."""

import base64
import os
import secrets


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


print("# Made by `make env`. Keep it secret; never commit it.")
print(f"FANGKONG_SECRET_KEY={secrets.token_urlsafe(50)}")
print(f"FANGKONG_PII_KEY={key()}")
print(f"FANGKONG_HASH_KEY={key()}")
