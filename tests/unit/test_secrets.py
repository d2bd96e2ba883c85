from expenv.domain.secrets import redact


def test_password_in_url_is_redacted():
    assert redact("postgresql://analyst:s3cret@db:5432/w") == "postgresql://analyst:***@db:5432/w"


def test_token_query_values_are_redacted():
    assert redact("https://mlflow/x?token=abc&run=1") == "https://mlflow/x?token=***&run=1"


def test_url_without_credentials_is_unchanged():
    assert redact("duckdb:///data/warehouse.duckdb") == "duckdb:///data/warehouse.duckdb"
    assert redact(None) is None
