"""Credentials: environment, private secrets file outside a repository, masking."""

from __future__ import annotations

import pytest
import yaml

from ionflow.errors import ConfigError
from ionflow.secrets import mask, mask_uri, resolve_secret


def test_environment_wins_over_file(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"T_URI": "from-file"}))
    secrets.chmod(0o600)
    monkeypatch.setenv("T_URI", "from-env")
    assert resolve_secret("T_URI", secrets) == "from-env"
    monkeypatch.delenv("T_URI")
    assert resolve_secret("T_URI", secrets) == "from-file"


def test_secrets_file_must_be_private(tmp_path, monkeypatch):
    monkeypatch.delenv("T_PW", raising=False)
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("T_PW: hunter2x\n")
    secrets.chmod(0o640)
    with pytest.raises(ConfigError, match="can be read by other users; run `chmod 600"):
        resolve_secret("T_PW", secrets)


def test_secrets_file_inside_a_repository_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("T_PW", raising=False)
    (tmp_path / ".git").mkdir()
    secrets = tmp_path / "configs" / "secrets.yaml"
    secrets.parent.mkdir()
    secrets.write_text("T_PW: hunter2x\n")
    secrets.chmod(0o600)
    with pytest.raises(ConfigError, match=f"inside the git work tree {tmp_path}"):
        resolve_secret("T_PW", secrets)


def test_unparsable_secrets_file_does_not_echo_its_content(tmp_path, monkeypatch):
    monkeypatch.delenv("T_PW", raising=False)
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("T_PW: [unclosed s3cr3tvalue\n")
    secrets.chmod(0o600)
    with pytest.raises(ConfigError, match="not valid YAML") as err:
        resolve_secret("T_PW", secrets)
    assert "s3cr3tvalue" not in str(err.value)


def test_missing_variable_names_variable_and_file(tmp_path, monkeypatch):
    monkeypatch.delenv("T_MISSING", raising=False)
    with pytest.raises(
        ConfigError, match=r"T_MISSING is not set: export it, or add `T_MISSING: \.\.\.`"
    ):
        resolve_secret("T_MISSING", tmp_path / "none.yaml")


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("mongodb://alice:pw@db:27017/x", "mongodb://***@db:27017/x"),
        (
            "mongodb+srv://alice:p%40ss@c0.example.org/?tls=true",
            "mongodb+srv://***@c0.example.org/?tls=true",
        ),
        (
            "mongodb://db/?authSource=admin&password=abc&x=1",
            "mongodb://db/?authSource=admin&password=***&x=1",
        ),
        ("mongodb://db:27017", "mongodb://db:27017"),
    ],
)
def test_mask_uri(uri, masked):
    assert mask_uri(uri) == masked


def test_mask_blanks_every_secret_looked_up(monkeypatch):
    monkeypatch.setenv("T_TOKEN", "tok-5529-secret")
    value = resolve_secret("T_TOKEN")
    assert mask(f"server said: bad auth with {value}!") == "server said: bad auth with ***!"
