"""Plans, the runner, incremental state and run stories."""
