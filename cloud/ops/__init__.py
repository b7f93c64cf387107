"""Running the store in production: health and readiness, job leases, metrics, logs, backups."""
