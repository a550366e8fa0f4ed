INSERT INTO carts VALUES (1, 'EUR'), (2, 'USD');
INSERT INTO cart_items VALUES (1, 1), (2, 1), (3, 2);
