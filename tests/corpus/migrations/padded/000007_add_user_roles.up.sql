CREATE TYPE user_role AS ENUM ('owner', 'admin', 'member', 'billing');

ALTER TABLE users ADD COLUMN role user_role NOT NULL DEFAULT 'member';
