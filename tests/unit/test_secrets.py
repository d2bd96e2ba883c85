from expenv.domain.secrets import redact


def test_password_in_url_is_redacted():
    assert redact("postgresql://analyst:s3cret@db:5432/w") == "postgresql://analyst:***@db:5432/w"


def test_token_query_values_are_redacted():
    assert redact("https://mlflow/x?token=abc&run=1") == "https://mlflow/x?token=***&run=1"


def test_url_without_credentials_is_unchanged():
    assert redact("duckdb:///data/warehouse.duckdb") == "duckdb:///data/warehouse.duckdb"
    assert redact(None) is None


def test_a_config_credential_is_masked_wherever_it_appears_later(tmp_path):
    """storage_options values and URL passwords of a parsed config are masked in any text,
    also URL-encoded (as a driver may quote them)."""
    from expenv.services.config import parse_config

    parse_config('[project]\nname = "p"\n[data.raw]\nroots = ["s3://b/raw"]\n'
                 'storage_options = { secret = "so-Secret/Value+1", client_kwargs = { region_name = "eu-west-1" } }\n'
                 '[data.curated]\nurl = "postgresql://u:pw-of-the-warehouse@db/w"\n', tmp_path)
    assert redact("boto said: so-Secret/Value+1 denied") == "boto said: *** denied"
    assert redact("quoted so-Secret%2FValue%2B1") == "quoted ***"
    assert redact("password pw-of-the-warehouse was refused") == "password *** was refused"
    assert redact("region eu-west-1") == "region eu-west-1"  # not a credential key


def test_credentials_from_the_environment_are_masked(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-example")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://ci:tracking-pass-123@mlflow.example.org")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/home/u/.aws/credentials")
    assert redact("key wJalrXUtnFEMI-example") == "key ***"
    assert redact("uri without scheme: tracking-pass-123") == "uri without scheme: ***"
    assert redact("file /home/u/.aws/credentials") == "file /home/u/.aws/credentials"


def test_a_credential_put_in_the_environment_later_is_masked_at_once(monkeypatch):
    from expenv.domain.secrets import remember

    monkeypatch.delenv("EXPENV_TEST_TOKEN", raising=False)
    assert redact("value first-token-value") == "value first-token-value"  # the answer is kept from here on
    monkeypatch.setenv("EXPENV_TEST_TOKEN", "first-token-value")
    assert redact("value first-token-value") == "value ***"
    monkeypatch.setenv("EXPENV_TEST_TOKEN", "second-token-value")  # same variables, another value
    assert redact("value second-token-value") == "value ***"
    monkeypatch.delenv("EXPENV_TEST_TOKEN")
    assert redact("value second-token-value") == "value second-token-value"
    remember(["remembered-later-value"])
    assert redact("value remembered-later-value") == "value ***"


def test_data_is_redacted_except_the_text_of_an_edit():
    from expenv.domain.secrets import redact_data, without_credentials

    data = {"url": "http://u:pw@h/x", "edit": {"newText": "http://u:pw@h/x"}, "rows": [["http://u:pw@h"]]}
    assert redact_data(data, keep=frozenset({"newText"})) == {
        "url": "http://u:***@h/x", "edit": {"newText": "http://u:pw@h/x"}, "rows": [["http://u:***@h"]]}
    assert without_credentials("http://u:pw@mlflow:5000/#/runs/1") == "http://mlflow:5000/#/runs/1"
