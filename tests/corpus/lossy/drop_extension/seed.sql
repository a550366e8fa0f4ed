INSERT INTO users VALUES (1, 'Ann@example.test'), (2, NULL), (3, 'bob@example.test');
