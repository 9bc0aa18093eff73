"""SECRET_KEY rotation: a session signed with the previous key still opens with the new one
when the previous key is in SECRET_KEY_FALLBACKS, and not after it is removed."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIGN = "from django.core import signing; print(signing.dumps('staff-session'))"
LOAD = (
    "import sys; from django.core import signing\n"
    "try: print(signing.loads(sys.argv[1]))\n"
    "except signing.BadSignature: print('refused')"
)


def run(code: str, *args: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY_FALLBACKS"}
    environment |= {"DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings"} | env
    script = f"import django; django.setup()\n{code}"
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_a_value_signed_with_the_old_key_opens_while_it_is_a_fallback() -> None:
    old, new = "old-key-" + "o" * 50, "new-key-" + "n" * 50
    token = run(SIGN, SECRET_KEY=old)

    assert run(LOAD, token, SECRET_KEY=new, SECRET_KEY_FALLBACKS=old) == "staff-session"
    assert run(LOAD, token, SECRET_KEY=new) == "refused"
