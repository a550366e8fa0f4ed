CREATE TABLE sessions (id int PRIMARY KEY, user_id int NOT NULL);
