"""A doorbell integration with pages of its own and panels on the web UI's pages."""
