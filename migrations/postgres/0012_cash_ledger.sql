-- The card gateway keeps its own ledger now (its own process and database:
-- card data never reaches ours). What stays here is money the railway takes
-- itself: cash at the counters. Charges recorded before the gateway had its
-- own ledger stay with it, so their orders still reconcile.
ALTER TABLE gateway_charges RENAME TO cash_charges;
