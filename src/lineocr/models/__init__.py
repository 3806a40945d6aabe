"""Recognition networks: plain modules mapping images (N, 1, H, W) to logits (N, T, C)."""
