-- v1 cannot price a cart without its currency: carts (and their items) are emptied
TRUNCATE carts CASCADE;
ALTER TABLE carts DROP COLUMN currency;
