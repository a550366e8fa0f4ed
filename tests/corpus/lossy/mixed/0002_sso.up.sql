CREATE TYPE tier AS ENUM ('free', 'pro');
ALTER TABLE users ADD COLUMN tier tier;
CREATE TABLE sso_audit (id int PRIMARY KEY, user_id int NOT NULL, at timestamptz NOT NULL DEFAULT now());
