"""The demo kit: stand-ins that speak each service's wire format, synthetic audio, the offline
demo and the benchmark.

``soulspot demo``, ``soulspot bench`` and the tests use it; the runtime (assets, resources,
store, scan, importing, automation) never imports it, a rule the test command checks.
"""
