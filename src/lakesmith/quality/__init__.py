"""Data quality: rules, one-pass evaluation, quarantine, profiling."""
