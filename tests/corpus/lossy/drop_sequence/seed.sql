INSERT INTO invoices (id) VALUES (1), (2);
