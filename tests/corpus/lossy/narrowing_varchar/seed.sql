INSERT INTO users VALUES (1, 'short'), (2, 'exactly8'), (3, 'much-longer-name'), (4, NULL), (5, 'another-long-one');
