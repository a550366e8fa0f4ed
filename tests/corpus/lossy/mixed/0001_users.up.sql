CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE sessions (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users, kind text NOT NULL DEFAULT 'password');
