CREATE TABLE drafts (id int PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
