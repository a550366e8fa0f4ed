DROP INDEX invoices_account_due_idx;
