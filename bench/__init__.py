"""`make bench`: cold start, warm requests, AWS calls per flow, package size, peak memory and cost.

See docs/performance.md. Everything runs on loopback and stops by itself.
"""
