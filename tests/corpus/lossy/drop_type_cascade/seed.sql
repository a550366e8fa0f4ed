INSERT INTO tasks VALUES (1, 'a', 'low'), (2, 'b', 'high'), (3, 'c', NULL), (4, 'd', 'high');
