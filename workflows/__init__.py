"""Journey definitions (``<journey>.v<N>.yaml``) and the loader that validates them."""
