"""gaopin (高频): early warnings, the high-frequency ledger and monthly reports for 12345 tickets."""

__version__ = "0.1.0"
