"""A BTCPay Server simulator for development and tests: the Greenfield API the store uses,
webhooks with BTCPay's retries, a checkout page and regtest-style "cheats". It stands beside
`cloud.payments` (whose constants it shares) and is never part of the store itself."""
