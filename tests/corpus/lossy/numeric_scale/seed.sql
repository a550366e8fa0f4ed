INSERT INTO prices VALUES (1, 1.23), (2, 1.2345), (3, 99.999), (4, 5), (5, NULL);
