"""Deployment to Databricks: job/pipeline specs, resource codegen, offline bundle validation
and deploy scope. ``databricks-bundles`` is imported lazily, only where a bundle is loaded."""
