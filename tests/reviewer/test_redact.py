"""Secret redaction before a prompt leaves the machine: each kind of secret, no false positive on
ordinary code, line structure intact; and when it applies (a model host beyond loopback)."""

from __future__ import annotations

import pytest

from reviewer.backends.base import ChatRequest
from reviewer.config import Config
from reviewer.errors import ConfigError
from reviewer.policy.redact import (
    MASK,
    RedactingBackend,
    redact,
    redact_batch,
    remote_model_host,
    require_remote_opt_in,
)
from tests.helpers import ScriptedBackend

# Built from pieces so this file itself does not look like it leaks credentials to scanners.
GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GL = "glpat-" + "Xy7_kP2mQ9rT4vW8zB3n"
SLACK = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp"
AWS_ID = "AKIA" + "Z7QW3RTY5UIO2PLK"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq81kd0Lq"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
       + "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
GOOGLE = "AIza" + "SyD-9tSrke72PouQMnMX7G4l3ZcT1pQbNbW"
OPENAI = "sk-proj-" + "Q2x9fL0aB7cD4eF1gH6iJ3kL8mN5oP0q"

SECRETS = {
    "aws access key id": (f'AWS_ACCESS_KEY_ID = "{AWS_ID}"', AWS_ID),
    "aws secret": (f'aws_secret_access_key = "{AWS_SECRET}"', AWS_SECRET),
    "github token": (f"token = os.environ.get('GH', '{GH}')", GH),
    "gitlab token": (f"GITLAB = {GL}", GL),
    "slack token": (f'client = WebClient("{SLACK}")', SLACK),
    "stripe key": (f"stripe.api_key = '{STRIPE}'", STRIPE),
    "google api key": (f'const url = `https://maps.example/api?key={GOOGLE}`', GOOGLE),
    "openai key": (f"client = OpenAI(api_key=\"{OPENAI}\")", OPENAI),
    "password": ('db.connect(user="app", password="pa55-w0rd!")', "pa55-w0rd!"),
    "secret in dict": ("{'client_secret': 'e5b1c2d3f4a5'}", "e5b1c2d3f4a5"),
    "php array": ("'password' => 'Tr0ub4dor&3',", "Tr0ub4dor&3"),
    "go short assign": ('apiKey := "k-8812-aa91-zz"', "k-8812-aa91-zz"),
    "env file": ("DB_PASSWORD=s3cr3tPassw0rd", "s3cr3tPassw0rd"),
    "yaml": ("  auth_token: 9f8e7d6c5b4a3210", "9f8e7d6c5b4a3210"),
    "bearer": (f'headers = {{"Authorization": "Bearer {"abcDEF123456ghiJKL789"}"}}', "abcDEF123456ghiJKL789"),
    "basic auth": ('auth = "Basic dXNlcjpodW50ZXIy"', "dXNlcjpodW50ZXIy"),
    "jwt": (f"session = '{JWT}'", JWT),
    "url password": ("DATABASE_URL = 'postgres://app:Sup3rS3cret@db.internal:5432/app'", "Sup3rS3cret"),
    "high-entropy key": ('SIGNING_KEY = "a8f5f167f44f4964e6c998dee827110c"', "a8f5f167f44f4964e6c998dee827110c"),
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_kind_of_secret_is_redacted(name: str) -> None:
    line, secret = SECRETS[name]
    out, n = redact(line)
    assert secret not in out, out
    assert MASK in out and n == 1, (out, n)


def test_assignment_keeps_the_name_so_the_model_still_sees_a_hard_coded_credential() -> None:
    out, _ = redact('PASSWORD = "hunter2-prod"')
    assert out == f'PASSWORD = "{MASK}"'


PEM = """-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAv5Jq1hC3c0mVb7wQm0Lr6o3vXf8fEo0Q5pT1B2C3D4E5F6G7
H8I9J0K1L2M3N4O5P6Q7R8S9T0U1V2W3X4Y5Z6a7b8c9d0e1f2g3h4i5j6k7l8m9
n0o1p2q3==
-----END RSA PRIVATE KEY-----"""


def test_a_private_key_block_is_one_secret_and_keeps_its_lines() -> None:
    # As the prompt shows it: the numbered diff column in front of each line.
    prompt = "\n".join(f"{n:>6} + {line}" for n, line in enumerate(PEM.splitlines(), start=10))
    prompt = "    9 + KEY = '''\n" + prompt + "'''\n    15 + def sign(data):\n    16 +     return rsa.sign(data)"
    out, n = redact(prompt)
    assert n == 1
    assert out.count("\n") == prompt.count("\n")
    assert "MIIEow" not in out and "n0o1p2q3" not in out
    assert "-----BEGIN RSA PRIVATE KEY-----" in out and "-----END RSA PRIVATE KEY-----" in out
    # The numbered column and the code after the block are untouched.
    assert [line.split()[0] for line in out.splitlines()] == [line.split()[0] for line in prompt.splitlines()]
    assert out.endswith("    16 +     return rsa.sign(data)")


def test_a_private_key_on_one_line_json() -> None:
    line = ('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nabcd\\n'
            '-----END PRIVATE KEY-----\\n"}')
    out, n = redact(line)
    assert n == 1 and "MIIEvQ" not in out and "abcd" not in out and "\\n-----END PRIVATE KEY-----" in out


def test_a_cut_off_key_block_stops_at_the_first_line_that_is_not_key_material() -> None:
    text = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n\ndef after(): return value_name"
    out, n = redact(text)
    assert n == 1 and "MIIEvQ" not in out and out.endswith("def after(): return value_name")


ORDINARY = '''
import os
from typing import Optional

TOKEN_URL = "https://auth.example.com/oauth/token"
PASSWORD_MIN_LENGTH = 12
token_type = "bearer"
tokenizer = "bert-base-uncased"
secret_name = "prod-db"


class User:
    password: Optional[str] = None
    token: models.Token
    api_key: api_key_v2

    def check_password(self, password: str) -> bool:
        if password == "":
            return False
        if self.token != "expired":
            return hash_password(password) == self.password_hash
        return False


def login(request):
    password = request.form["password"]
    token = request.headers.get("Authorization", "")
    if token.startswith("Bearer "):
        token = token[len("Bearer "):]
    errors = {"password": "is too short", "token": "has expired"}
    log.info("token=%s", token)
    headers = {"Authorization": f"Bearer {token}"}
    password = os.environ["DB_PASSWORD"]
    secret = "${VAULT_SECRET}"
    api_key = "<your api key>"
    password = "changeme"
    key = "user_id"
    cache_key = "user:1234:profile"
    monkey = "banana"
    print("Basic authentication is enabled")
    query = "SELECT id FROM users WHERE password = ?"
    return tokenize(password, key=key)
'''


def test_no_false_positive_on_ordinary_code() -> None:
    out, n = redact(ORDINARY)
    assert n == 0 and out == ORDINARY


@pytest.mark.parametrize("text", ["", "\n", "a\n\nb\n", "x\r\ny\r\n", "\n\n\n"])
def test_line_count_is_preserved(text: str) -> None:
    out, _ = redact(text + SECRETS["password"][0] + "\n" + PEM + "\n" + text)
    assert out.count("\n") == (text + SECRETS["password"][0] + "\n" + PEM + "\n" + text).count("\n")


def test_redaction_is_idempotent_and_counts_once() -> None:
    text = "\n".join(line for line, _ in SECRETS.values())
    once, n = redact(text)
    twice, m = redact(once)
    assert n == len(SECRETS) and m == 0 and twice == once


def test_redact_batch_sums_both_prompts() -> None:
    system, user, n = redact_batch("You review code.", SECRETS["jwt"][0] + "\n" + SECRETS["password"][0])
    assert system == "You review code." and n == 2 and JWT not in user


# --- when redaction applies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "env", "remote"),
    [
        (Config(), {}, None),
        (Config(host="http://127.0.0.1:11434"), {}, None),
        (Config(host="http://localhost:8080/v1", backend="openai"), {}, None),
        (Config(host="http://[::1]:11434"), {}, None),
        (Config(host="http://gpu01.corp.example:11434"), {}, "gpu01.corp.example"),
        (Config(), {"OLLAMA_HOST": "10.0.0.5:11434"}, "10.0.0.5"),
        (Config(backend="openai", host="http://127.0.0.1:1234/v1"), {"OLLAMA_HOST": "10.0.0.5"}, None),
        (Config(backend="embedded", host="http://gpu01:11434"), {}, None),
    ],
)
def test_remote_model_host(config: Config, env: dict[str, str], remote: str | None) -> None:
    assert remote_model_host(config, env) == remote


def test_a_remote_host_needs_the_opt_in() -> None:
    config = Config(host="http://gpu01.corp.example:11434", sources={"host": ".localreview.toml"})
    with pytest.raises(ConfigError) as err:
        require_remote_opt_in(config, {})
    assert "gpu01.corp.example" in err.value.message and ".localreview.toml" in err.value.message
    assert "allow_remote_host = true" in (err.value.hint or "")
    require_remote_opt_in(Config(host="http://gpu01.corp.example:11434", allow_remote_host=True), {})
    require_remote_opt_in(Config(host="http://127.0.0.1:11434"), {})
    with pytest.raises(ConfigError, match=r"Chroma store chroma\.corp\.example"):
        require_remote_opt_in(Config(store_url="http://chroma.corp.example:8000"), {})




def test_redacting_backend_sends_redacted_prompts_and_counts_retries_once() -> None:
    inner = ScriptedBackend(name="ollama", model="m", context=32768)
    backend = RedactingBackend(inner)
    request = ChatRequest("system", f"diff:\n{SECRETS['github token'][0]}\n{SECRETS['password'][0]}",
                          {"type": "object"}, 8192, 512, expected_prompt_tokens=40)
    backend.chat(request)
    backend.chat(request)  # the same batch, retried after an unusable answer
    assert backend.redacted == 2
    assert all(GH not in r.user and "pa55-w0rd!" not in r.user for r in inner.requests)
    assert inner.requests[0].user.count("\n") == request.user.count("\n")
    assert inner.requests[0].num_ctx == 8192 and inner.requests[0].expected_prompt_tokens == 40
    assert (backend.name, backend.model, backend.context_length()) == ("ollama", "m", 32768)
