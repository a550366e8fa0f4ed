INSERT INTO sessions VALUES (1, 10), (2, NULL), (3, NULL), (4, 11);
