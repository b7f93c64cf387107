"""Backups of the hub: one archive, encrypted with a passphrase, holding what brings the
household back on a fresh install (documents, the key of the link's secrets, dashboards,
automations, optionally the history). ``crypto`` encrypts, ``archive`` packs and checks,
``pending`` puts a checked restore in place before the hub loads anything."""
