"""LightningDataModules and the tensor batching they share."""
