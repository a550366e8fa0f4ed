CREATE TABLE audit_log (id int PRIMARY KEY, user_id int, action text NOT NULL);
