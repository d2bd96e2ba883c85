"""What reaches a pod's env as a value: nothing credential-like."""

from __future__ import annotations

from expenv.services.kube.secrets import plain_env

CANARY = "CANARY-token-5e1d9a"


def test_credentials_never_become_env_values():
    env = plain_env({
        "MLFLOW_TRACKING_URI": f"https://ci:{CANARY}@mlflow.preprod:5000/",
        "AWS_SECRET_ACCESS_KEY": CANARY,
        "MLFLOW_TRACKING_TOKEN": CANARY,
        "DATA_URL": f"https://lake.example/raw?sig={CANARY}&v=1",
        "MLFLOW_EXPERIMENT_NAME": "churn",
    })
    assert CANARY not in str(env)
    values = {e["name"]: e["value"] for e in env}
    assert values["MLFLOW_TRACKING_URI"] == "https://mlflow.preprod:5000/"
    assert values["MLFLOW_EXPERIMENT_NAME"] == "churn"
    assert "AWS_SECRET_ACCESS_KEY" not in values and "MLFLOW_TRACKING_TOKEN" not in values
