CREATE TYPE priority AS ENUM ('low', 'high');
ALTER TABLE tasks ADD COLUMN priority priority;
