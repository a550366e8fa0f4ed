CREATE TABLE carts (id int PRIMARY KEY);
CREATE TABLE cart_items (id int PRIMARY KEY, cart_id int NOT NULL REFERENCES carts);
