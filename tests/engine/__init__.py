"""The engine every estimator shares: requests, the row store, the registry, pipelines, export."""
