CREATE INDEX CONCURRENTLY invoices_open_due_idx ON invoices (due_on) WHERE status = 'open';
