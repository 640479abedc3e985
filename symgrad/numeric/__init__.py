"""The numeric core shared by check and verify: exact and certified evaluation, sampling
inside a domain, kinks, finite differences."""
