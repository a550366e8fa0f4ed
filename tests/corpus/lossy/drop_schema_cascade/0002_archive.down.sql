-- the archive moves out of this database in v1: everything in it goes with the schema
DROP SCHEMA archive CASCADE;
