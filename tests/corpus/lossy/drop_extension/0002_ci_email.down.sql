-- CASCADE drops the columns of the extension's types: users.email with it
DROP EXTENSION citext CASCADE;
