"""Silver transforms. They take and return narwhals lazy frames, so the same code runs on
Polars locally and on Spark on Databricks."""

import narwhals as nw

EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"


def clean_customers(customers: nw.LazyFrame) -> nw.LazyFrame:
    """Trim and normalise contact fields; keep the latest row per customer."""
    return (
        customers.with_columns(
            nw.col("full_name").str.strip_chars(),
            nw.col("email").str.strip_chars().str.to_lowercase(),
            nw.col("city").str.strip_chars().str.to_titlecase(),
            nw.col("segment").str.strip_chars().str.to_lowercase(),
            nw.col("phone").str.replace_all(r"[^0-9+]", ""),
        )
        .with_columns(
            nw.when(nw.col("email").str.contains(EMAIL))
            .then(nw.col("email"))
            .otherwise(None)
            .alias("email")
        )
        .unique(["customer_id"], keep="last", order_by=["updated_at"])
    )
