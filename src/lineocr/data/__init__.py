"""Datasets: readers for common layouts, synthetic lines, augmentation and batching."""
