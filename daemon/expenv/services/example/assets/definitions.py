"""Feast definitions of the churn example project.

The parquet files under data/ are exported from the curated DuckDB tables
(curated.customers, curated.customer_monthly_usage, curated.churn_training) by
`expenv example create`. Register everything with `feast apply` in this folder.
"""

from datetime import timedelta

import pandas as pd
from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64, String

customer = Entity(
    name="customer",
    join_keys=["customer_id"],
    value_type=ValueType.INT64,
    description="A subscriber of the service.",
)

# --- sources (paths relative to this repository) ------------------------------------------

customer_profile_source = FileSource(
    name="customer_profile_source",
    path="data/customer_profile.parquet",
    timestamp_field="event_timestamp",
    description="Exported from curated.customers.",
)

customer_usage_source = FileSource(
    name="customer_usage_source",
    path="data/customer_usage_stats.parquet",
    timestamp_field="event_timestamp",
    description="Exported from curated.customer_monthly_usage; one row per customer and month, "
    "stamped at the end of the month.",
)

# The label events (the entity dataframe of training): customer_id, event_timestamp, churned.
churn_labels_source = FileSource(
    name="churn_labels",
    path="data/churn_labels.parquet",
    timestamp_field="event_timestamp",
    description="Exported from curated.churn_training; the training entity dataframe.",
    # no feature view reads this source, so the dataset it comes from is named here (lineage)
    tags={"expenv.dataset": "curated.churn_training"},
)

# --- feature views ------------------------------------------------------------------------

customer_profile = FeatureView(
    name="customer_profile",
    entities=[customer],
    ttl=timedelta(days=730),
    schema=[
        Field(name="country", dtype=String),
        Field(name="plan", dtype=String),
        Field(name="age", dtype=Int64),
        Field(name="monthly_fee", dtype=Float64),
    ],
    source=customer_profile_source,
    online=True,
    tags={"team": "churn", "curated_table": "curated.customers"},
)

customer_usage_stats = FeatureView(
    name="customer_usage_stats",
    entities=[customer],
    ttl=timedelta(days=62),
    schema=[
        Field(name="events", dtype=Int64),
        Field(name="sessions", dtype=Int64),
        Field(name="minutes", dtype=Float64),
        Field(name="support_tickets", dtype=Int64),
        Field(name="failed_payments", dtype=Int64),
        Field(name="sessions_3m", dtype=Int64),
        Field(name="minutes_3m", dtype=Float64),
        Field(name="support_tickets_3m", dtype=Int64),
        Field(name="failed_payments_3m", dtype=Int64),
    ],
    source=customer_usage_source,
    online=True,
    tags={"team": "churn", "curated_table": "curated.customer_monthly_usage"},
)


@on_demand_feature_view(
    sources=[customer_usage_stats],
    schema=[Field(name="minutes_per_session_3m", dtype=Float64)],
    mode="pandas",
    description="Average session length over the last three months.",
)
def usage_ratios(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    out["minutes_per_session_3m"] = (
        inputs["minutes_3m"].astype("float64") / inputs["sessions_3m"].clip(lower=1)
    ).astype("float64")
    return out


# --- what the production model reads ------------------------------------------------------

churn_model_v1 = FeatureService(
    name="churn_model_v1",
    features=[customer_profile, customer_usage_stats, usage_ratios],
    description="Features of the churn model, version 1 (pipelines/train.py).",
    tags={"team": "churn", "pipeline": "pipelines/train.py"},
)
