"""The high-frequency ledger (高频诉求台账): entries owned until solved."""
