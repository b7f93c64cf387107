"""Remote access: the owner reaches their home through the cloud broker, end-to-end encrypted
(REMOTE.md, issue #19)."""
