"""Settings and the one bootstrap that chooses adapters."""
