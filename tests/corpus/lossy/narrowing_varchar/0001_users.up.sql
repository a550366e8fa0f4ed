CREATE TABLE users (id int PRIMARY KEY, nickname varchar(8));
