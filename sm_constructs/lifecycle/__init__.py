"""Scripts embedded into notebook lifecycle configurations (nothing is downloaded at start)."""
