CREATE TABLE orders (id int PRIMARY KEY, total integer);
