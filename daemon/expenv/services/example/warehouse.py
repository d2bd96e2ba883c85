"""The curated warehouse of the example project, built from the raw files with DuckDB SQL,
and the parquet exports that the Feast repository reads.

Sums of money and minutes go through DECIMAL so they are exact, and every table is ordered,
so the same raw files give the same tables whatever the thread count.
"""

from __future__ import annotations

from pathlib import Path

TABLES = ["curated.customers", "curated.customer_monthly_usage", "curated.churn_training"]

# {raw} is the raw folder (absolute, forward slashes). Months are 2024-01 .. 2024-12.
CURATED_SQL = """
SET TimeZone = 'UTC';
CREATE SCHEMA IF NOT EXISTS curated;

CREATE OR REPLACE TABLE curated.customers AS
SELECT customer_id, signup_date, country, plan, age, monthly_fee, event_timestamp
FROM read_parquet('{raw}/customers.parquet')
ORDER BY customer_id;

CREATE OR REPLACE TABLE curated.customer_monthly_usage AS
WITH months AS (
    SELECT CAST(m AS DATE) AS month
    FROM range(TIMESTAMP '2024-01-01', TIMESTAMP '2025-01-01', INTERVAL 1 MONTH) AS t(m)
),
usage AS (
    SELECT customer_id,
           CAST(month || '-01' AS DATE)          AS month,   -- the hive partition key
           count(*)                              AS events,
           sum(sessions)                         AS sessions,
           sum(CAST(minutes AS DECIMAL(18, 1)))  AS minutes,
           sum(support_tickets)                  AS support_tickets
    FROM read_parquet('{raw}/usage/*/*.parquet', hive_partitioning = true)
    GROUP BY ALL
),
payments AS (
    SELECT customer_id,
           CAST(date_trunc('month', event_timestamp) AS DATE) AS month,
           count(*) FILTER (WHERE failed)                     AS failed_payments
    FROM read_csv('{raw}/payments.csv', header = true, columns = {{
        'customer_id': 'BIGINT', 'event_timestamp': 'TIMESTAMPTZ',
        'amount': 'DECIMAL(10, 2)', 'failed': 'BOOLEAN'}})
    GROUP BY ALL
),
grid AS (
    SELECT c.customer_id, m.month FROM curated.customers AS c CROSS JOIN months AS m
),
monthly AS (
    SELECT g.customer_id, g.month,
           coalesce(u.events, 0)                    AS events,
           CAST(coalesce(u.sessions, 0) AS BIGINT)  AS sessions,
           coalesce(u.minutes, 0)                   AS minutes,
           CAST(coalesce(u.support_tickets, 0) AS BIGINT) AS support_tickets,
           coalesce(p.failed_payments, 0)           AS failed_payments
    FROM grid AS g
    LEFT JOIN usage AS u USING (customer_id, month)
    LEFT JOIN payments AS p USING (customer_id, month)
)
SELECT customer_id,
       month,
       -- the aggregates of a month are known at its end: that is their feature timestamp
       CAST(month + INTERVAL 1 MONTH AS TIMESTAMPTZ)       AS event_timestamp,
       events,
       sessions,
       CAST(minutes AS DOUBLE)                              AS minutes,
       support_tickets,
       failed_payments,
       CAST(sum(sessions) OVER w AS BIGINT)                 AS sessions_3m,
       CAST(sum(minutes) OVER w AS DOUBLE)                  AS minutes_3m,
       CAST(sum(support_tickets) OVER w AS BIGINT)          AS support_tickets_3m,
       CAST(sum(failed_payments) OVER w AS BIGINT)          AS failed_payments_3m
FROM monthly
WINDOW w AS (PARTITION BY customer_id ORDER BY month ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
ORDER BY customer_id, month;

-- One row per label event, with the features as they were at the label's timestamp: the
-- latest row of each source at or before it (point-in-time, like the feature store's
-- retrieval of the feature service churn_model_v1). DuckDB's ASOF JOIN gives the same rows
-- but is far slower here, so it is written as a join and a window.
CREATE OR REPLACE TABLE curated.churn_training AS
WITH labels AS (
    SELECT customer_id, event_timestamp, churned
    FROM read_json('{raw}/churn_labels.json', format = 'newline_delimited', columns = {{
        'customer_id': 'BIGINT', 'event_timestamp': 'TIMESTAMPTZ', 'churned': 'BOOLEAN'}})
),
profile AS (
    SELECT l.customer_id, l.event_timestamp, c.country, c.plan, c.age, c.monthly_fee
    FROM labels AS l
    LEFT JOIN curated.customers AS c
        ON c.customer_id = l.customer_id AND c.event_timestamp <= l.event_timestamp
    QUALIFY row_number() OVER (PARTITION BY l.customer_id, l.event_timestamp
                               ORDER BY c.event_timestamp DESC NULLS LAST) = 1
),
usage AS (
    SELECT l.customer_id, l.event_timestamp,
           u.events, u.sessions, u.minutes, u.support_tickets, u.failed_payments,
           u.sessions_3m, u.minutes_3m, u.support_tickets_3m, u.failed_payments_3m
    FROM labels AS l
    LEFT JOIN curated.customer_monthly_usage AS u
        ON u.customer_id = l.customer_id AND u.event_timestamp <= l.event_timestamp
    QUALIFY row_number() OVER (PARTITION BY l.customer_id, l.event_timestamp
                               ORDER BY u.event_timestamp DESC NULLS LAST) = 1
)
SELECT l.customer_id, l.event_timestamp,
       p.country, p.plan, p.age, p.monthly_fee,
       u.events, u.sessions, u.minutes, u.support_tickets, u.failed_payments,
       u.sessions_3m, u.minutes_3m, u.support_tickets_3m, u.failed_payments_3m,
       u.minutes_3m / greatest(u.sessions_3m, 1) AS minutes_per_session_3m,
       l.churned
FROM labels AS l
LEFT JOIN profile AS p USING (customer_id, event_timestamp)
LEFT JOIN usage AS u USING (customer_id, event_timestamp)
ORDER BY l.customer_id, l.event_timestamp;
"""

# Exports for the Feast repository: (file under features/data/, query).
FEATURE_EXPORTS = [
    ("customer_profile.parquet",
     "SELECT customer_id, event_timestamp, country, plan, age, monthly_fee "
     "FROM curated.customers ORDER BY customer_id"),
    ("customer_usage_stats.parquet",
     "SELECT customer_id, event_timestamp, events, sessions, minutes, support_tickets, "
     "failed_payments, sessions_3m, minutes_3m, support_tickets_3m, failed_payments_3m "
     "FROM curated.customer_monthly_usage ORDER BY customer_id, event_timestamp"),
    ("churn_labels.parquet",
     "SELECT customer_id, event_timestamp, churned "
     "FROM curated.churn_training ORDER BY customer_id, event_timestamp"),
]


def build_warehouse(raw_dir: Path, database: Path, feature_data_dir: Path) -> list[str]:
    """Create the curated tables in `database` and export the feature parquet files.

    Returns the names of the exported files (relative to feature_data_dir). The connection is
    closed on return, so nothing holds the database's lock.
    """
    import duckdb

    database.parent.mkdir(parents=True, exist_ok=True)
    feature_data_dir.mkdir(parents=True, exist_ok=True)
    raw = raw_dir.resolve().as_posix().replace("'", "''")
    con = duckdb.connect(str(database))
    try:
        con.execute(CURATED_SQL.format(raw=raw))
        for name, query in FEATURE_EXPORTS:
            target = (feature_data_dir / name).resolve().as_posix().replace("'", "''")
            con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return [name for name, _ in FEATURE_EXPORTS]
