CREATE SCHEMA archive;
CREATE TABLE archive.events (id bigserial PRIMARY KEY, kind text NOT NULL);
CREATE TABLE archive.notes (id int PRIMARY KEY, body text);
