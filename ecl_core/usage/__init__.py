"""What calls cost: the price table, the usage ledger, budgets, and the provider that meters."""
