"""Where ECL keeps things for a Dagster instance: its own tables, and step outputs as files.

``ecl_db`` says where ECL's tables (journal, ledger, reviews, breaker, limiter) live for an
instance; ``io_managers`` keeps step outputs as readable JSON files.
"""
