"""Run reports: model, renderers and storage."""
