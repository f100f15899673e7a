"""Synthetic identity-graph data: spec, vectorized generator, atomic Delta writer, validation."""
