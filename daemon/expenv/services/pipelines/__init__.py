"""Pipelines: a DAG of steps declared in expenv.toml, submitted to a target (local, docker,
kubernetes), tracked as one MLflow parent run with a child run per step."""
