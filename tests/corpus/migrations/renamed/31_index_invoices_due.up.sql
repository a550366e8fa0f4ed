CREATE INDEX invoices_account_due_idx ON invoices (account_id, due_on);
