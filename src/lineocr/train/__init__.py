"""Training: CTC loop, schedule, early stopping, checkpoints, logging, data parallelism."""
