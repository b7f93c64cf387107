"""The Ethos local hub: a small Home-Assistant-style core, integrations and a web UI."""
