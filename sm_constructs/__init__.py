"""sm_constructs."""
