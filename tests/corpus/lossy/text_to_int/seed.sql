INSERT INTO imports VALUES (1, '12'), (2, '007'), (3, '42'), (4, NULL), (5, '+5');
