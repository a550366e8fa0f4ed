VACUUM invoices;
