DROP INDEX CONCURRENTLY invoices_open_due_idx;
