"""Connections: where files and tables live, and how to authenticate there."""
