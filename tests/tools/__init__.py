"""The command line, the audit, the cluster path."""
