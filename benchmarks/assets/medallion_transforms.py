"""The silver transform of the medallion benchmark, copied into the generated project.

A lakesmith Python transform: narwhals lazy frames in (named after the node's inputs), one
lazy frame out, so the same function runs on Polars locally and on Spark on Databricks.
"""

import narwhals as nw

from lakesmith.dedupe import one_per_key


def clean_orders(orders: nw.LazyFrame, customers: nw.LazyFrame) -> nw.LazyFrame:
    """Drop orders without an amount, keep one row per order, normalise status, add customer.

    ``one_per_key`` keeps one row per order: the rows of ``unique(["order_id"], keep="any")``
    (the duplicates are exact copies), for the memory of the keys (lakesmith.dedupe).
    """
    clean = one_per_key(orders.filter(~nw.col("amount").is_null()), "order_id").with_columns(
        nw.col("status").str.strip_chars().str.to_uppercase().fill_null("UNKNOWN")
    )
    return clean.join(
        customers.select("customer_id", "country", "segment"), on="customer_id", how="inner"
    )


def revenue_by_month(orders: nw.LazyFrame) -> nw.LazyFrame:
    """The gold aggregate of the SQL node, as a Python node."""
    status = nw.col("status")
    return (
        orders.with_columns(
            nw.col("ordered_at").dt.truncate("1mo").alias("month"),
            (status == "CANCELLED").cast(nw.Int64).alias("cancelled"),
            nw.when(status == "COMPLETED").then(nw.col("amount")).alias("completed_amount"),
        )
        .group_by("country", "segment", "month")
        .agg(
            nw.len().cast(nw.Int64).alias("orders"),
            nw.col("customer_id").n_unique().cast(nw.Int64).alias("customers"),
            nw.col("cancelled").sum().alias("cancelled_orders"),
            nw.col("completed_amount").sum().alias("revenue"),
            nw.col("amount").max().alias("largest_order"),
        )
    )
