"""Synthesis of the example project's raw data (the lake), vectorised with numpy.

Everything is drawn from one `numpy.random.Generator` seeded by the caller, in a fixed order,
so the same (rows, seed) gives the same files. Timestamps are UTC, in whole seconds.

Sizes for `rows` (the size of the biggest dataset, the usage events):
customers rows/10, usage events rows, payments rows/2, churn labels one per customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

YEAR = 2024
MONTHS = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
CUSTOMER_ID_BASE = 10_000
LABEL_TIMESTAMP = "2025-01-01T00:00:00Z"
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "SE"]
COUNTRY_WEIGHTS = [0.34, 0.16, 0.14, 0.11, 0.07, 0.07, 0.06, 0.05]
PLANS = ["basic", "standard", "premium"]
PLAN_WEIGHTS = [0.5, 0.35, 0.15]
PLAN_FEES = [9.99, 19.99, 34.99]
MIN_ROWS = 1_000


@dataclass(frozen=True)
class RawFiles:
    """Workspace-relative paths of the raw files written, and their row counts."""

    files: list[str]
    customers: int
    usage_events: int
    payments: int


def sizes(rows: int) -> dict[str, int]:
    if rows < MIN_ROWS:
        raise ValueError(f"rows must be at least {MIN_ROWS}, not {rows}")
    return {"customers": rows // 10, "usage_events": rows, "payments": rows // 2}


def _epoch_seconds(day: str) -> int:
    import numpy as np

    return int(np.datetime64(day, "s").astype("int64"))


def write_raw(raw_dir: Path, rows: int, seed: int) -> RawFiles:
    """Write customers.parquet, usage/month=*/part-0.parquet, payments.csv, churn_labels.json."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    n = sizes(rows)
    rng = np.random.default_rng(seed)
    raw_dir.mkdir(parents=True, exist_ok=True)
    year_start = _epoch_seconds(f"{YEAR}-01-01")
    month_starts = np.array(
        [_epoch_seconds(f"{m}-01") for m in MONTHS] + [_epoch_seconds(f"{YEAR + 1}-01-01")])
    q4_start = _epoch_seconds(f"{YEAR}-10-01")
    year_seconds = int(month_starts[-1] - year_start)
    ts_type = pa.timestamp("us", tz="UTC")  # DuckDB and Feast use microseconds

    # --- customers ------------------------------------------------------------------------
    nc = n["customers"]
    customer_id = CUSTOMER_ID_BASE + np.arange(nc, dtype=np.int64)
    signup_days = rng.integers(
        _epoch_seconds("2019-01-01") // 86400, _epoch_seconds(f"{YEAR}-01-01") // 86400, nc)
    country = rng.choice(len(COUNTRIES), size=nc, p=COUNTRY_WEIGHTS)
    plan = rng.choice(len(PLANS), size=nc, p=PLAN_WEIGHTS)
    discount = np.where(rng.random(nc) < 0.3, rng.choice([0.1, 0.15, 0.2], size=nc), 0.0)
    monthly_fee = np.round(np.asarray(PLAN_FEES)[plan] * (1.0 - discount), 2)
    age = np.clip(np.round(rng.normal(39.0, 12.0, nc)), 18, 85).astype(np.int64)
    # The profile's feature timestamp: when the CRM record was last updated (first half of 2024).
    profile_ts = year_start + rng.integers(0, 182 * 86400, nc)
    # Latent traits: engagement drives usage, frustration tickets, pay_risk failed payments.
    engagement = rng.lognormal(0.0, 0.9, nc)
    frustration = rng.gamma(0.5, 1.0, nc)
    pay_risk = rng.beta(1.0, 25.0, nc) + np.where(plan == 0, 0.02, 0.0)

    customers = pa.table({
        "customer_id": pa.array(customer_id, pa.int64()),
        "signup_date": pa.array(signup_days.astype(np.int32), pa.int32()).cast(pa.date32()),
        "country": pa.array(np.asarray(COUNTRIES, dtype=object)[country], pa.string()),
        "plan": pa.array(np.asarray(PLANS, dtype=object)[plan], pa.string()),
        "age": pa.array(age, pa.int64()),
        "monthly_fee": pa.array(monthly_fee, pa.float64()),
        "event_timestamp": pa.array(profile_ts.astype(np.int64) * 1_000_000, ts_type),
    })
    pq.write_table(customers, raw_dir / "customers.parquet")
    files = ["customers.parquet"]

    # --- usage events, hive-partitioned by month ----------------------------------------------
    nu = n["usage_events"]
    u_cust = rng.choice(nc, size=nu, p=engagement / engagement.sum())
    u_ts = year_start + rng.integers(0, year_seconds, nu)
    sessions = 1 + rng.poisson(1.2, nu)
    minutes = np.round(rng.gamma(2.0, 6.0 * sessions), 1)
    tickets = rng.poisson(0.03 + 0.25 * frustration[u_cust])
    order = np.lexsort((u_cust, u_ts))  # by time, then customer: a deterministic order
    u_cust, u_ts, sessions, minutes, tickets = (
        a[order] for a in (u_cust, u_ts, sessions, minutes, tickets))
    bounds = np.searchsorted(u_ts, month_starts)
    for i, month in enumerate(MONTHS):
        lo, hi = bounds[i], bounds[i + 1]
        part = pa.table({
            "customer_id": pa.array(customer_id[u_cust[lo:hi]], pa.int64()),
            "event_timestamp": pa.array(u_ts[lo:hi].astype(np.int64) * 1_000_000, ts_type),
            "sessions": pa.array(sessions[lo:hi].astype(np.int64), pa.int64()),
            "minutes": pa.array(minutes[lo:hi], pa.float64()),
            "support_tickets": pa.array(tickets[lo:hi].astype(np.int64), pa.int64()),
        })
        folder = raw_dir / "usage" / f"month={month}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, folder / "part-0.parquet")
        files.append(f"usage/month={month}/part-0.parquet")

    # --- payments (csv) -------------------------------------------------------------------
    npay = n["payments"]
    p_cust = rng.integers(0, nc, npay)
    p_ts = year_start + rng.integers(0, year_seconds, npay)
    failed = rng.random(npay) < pay_risk[p_cust]
    order = np.lexsort((p_cust, p_ts))
    p_cust, p_ts, failed = p_cust[order], p_ts[order], failed[order]
    payments = pa.table({
        "customer_id": pa.array(customer_id[p_cust], pa.int64()),
        "event_timestamp": pa.array(
            np.datetime_as_string(p_ts.astype("datetime64[s]"), unit="s") + "Z", pa.string()),
        "amount": pa.array(monthly_fee[p_cust], pa.float64()),
        "failed": pa.array(failed, pa.bool_()),
    })
    pacsv.write_csv(payments, raw_dir / "payments.csv",
                    pacsv.WriteOptions(quoting_style="needed"))
    files.append("payments.csv")

    # --- churn labels (ndjson): churn depends on last-quarter usage, tickets, fee, payments ---
    q4u = u_ts >= q4_start
    minutes_3m = np.bincount(u_cust[q4u], weights=minutes[q4u], minlength=nc)
    tickets_3m = np.bincount(u_cust[q4u], weights=tickets[q4u], minlength=nc)
    q4p = p_ts >= q4_start
    failed_3m = np.bincount(p_cust[q4p], weights=failed[q4p].astype(float), minlength=nc)
    log_minutes = np.log1p(minutes_3m)
    logit = (-1.4
             - 0.9 * (log_minutes - log_minutes.mean()) / (log_minutes.std() or 1.0)
             + 0.7 * np.minimum(tickets_3m, 6)
             + 0.8 * np.minimum(failed_3m, 3)
             + 0.035 * (monthly_fee - 18.0)
             + 0.3 * (age < 25))
    churned = rng.random(nc) < 1.0 / (1.0 + np.exp(-logit))
    lines = [
        f'{{"customer_id":{cid},"event_timestamp":"{LABEL_TIMESTAMP}",'
        f'"churned":{"true" if c else "false"}}}'
        for cid, c in zip(customer_id.tolist(), churned.tolist())
    ]
    (raw_dir / "churn_labels.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files.append("churn_labels.json")

    return RawFiles(files=files, customers=nc, usage_events=nu, payments=npay)

