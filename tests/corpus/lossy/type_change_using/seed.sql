INSERT INTO orders VALUES (1, 12.34), (2, NULL), (3, 0.5), (4, 100);
