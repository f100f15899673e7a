-- Databricks SQL; runs locally on DuckDB after transpiling.
WITH order_stats AS (
  SELECT customer_id,
         count(*) AS orders,
         sum(CASE WHEN status = 'COMPLETED' THEN amount ELSE 0 END) AS lifetime_value,
         max(ordered_at) AS last_order_at,
         collect_set(status) AS statuses
  FROM silver.orders
  GROUP BY customer_id
)
SELECT c.customer_id,
       c.full_name,
       c.email,
       c.city,
       c.segment,
       coalesce(o.orders, 0) AS orders,
       coalesce(o.lifetime_value, 0) AS lifetime_value,
       o.last_order_at,
       datediff(current_date(), CAST(o.last_order_at AS DATE)) AS days_since_last_order,
       CASE WHEN coalesce(o.lifetime_value, 0) >= 500 THEN 'high'
            WHEN coalesce(o.lifetime_value, 0) >= 100 THEN 'medium'
            ELSE 'low' END AS value_tier
FROM silver.customers c
LEFT JOIN order_stats o ON o.customer_id = c.customer_id
