"""Payments through BTCPay Server: the Greenfield client, its settings and the webhook
(the simulator stands beside it, in `cloud.btcpay_simulator`)."""
