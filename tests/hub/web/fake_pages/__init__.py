"""An integration that exists only to test what integrations add to the web UI's pages."""
