ALTER TABLE accounts DROP COLUMN plan_code;
DROP TABLE plans;
